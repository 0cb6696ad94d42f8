import Crypto
import Foundation
import SumsyncModel
import SwiftASN1
import X509

/// A small certificate authority for hierarchies without a PKI of their own (`sumsyncctl pki`): a CA
/// certificate, and site certificates that name the site's host and carry its code.
///
/// Keys are ECDSA P-256; signatures ECDSA with SHA-256.
public enum HierarchyPKI {
    /// A certificate and its key, PEM.
    public struct Issued: Sendable {
        public let certificatePEM: String
        public let keyPEM: String
    }

    /// A new hierarchy CA valid for `days` (default 10 years), constrained to issue end-entity certificates only.
    public static func makeAuthority(name: String, days: Int, now: Date = Date()) throws(TLSSetupError) -> Issued {
        let key = P256.Signing.PrivateKey()
        let privateKey = Certificate.PrivateKey(key)
        do {
            let subject = try DistinguishedName {
                OrganizationName("sumsync")
                CommonName("\(name) hierarchy CA")
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: privateKey.publicKey)
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: privateKey.publicKey,
                notValidBefore: now.addingTimeInterval(-300),
                notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
                issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
                issuerPrivateKey: privateKey)
            return Issued(
                certificatePEM: try certificate.serializeAsPEM().pemString + "\n", keyPEM: key.pemRepresentation + "\n")
        } catch {
            throw TLSSetupError("cannot make the CA certificate: \(error)")
        }
    }

    /// A certificate for site `code` on `hosts` (DNS names or IP addresses), signed by the CA, valid for
    /// both server and client authentication for `days` (default 1 year).
    public static func issue(
        code: SiteCode, hosts: [String], authorityPEM: String, authorityKeyPEM: String, days: Int, now: Date = Date()
    ) throws(TLSSetupError) -> Issued {
        let authority: Certificate
        let authorityKey: Certificate.PrivateKey
        do {
            authority = try Certificate(pemEncoded: authorityPEM)
        } catch {
            throw TLSSetupError("the CA certificate is not PEM: \(error)")
        }
        do {
            authorityKey = try Certificate.PrivateKey(pemEncoded: authorityKeyPEM)
        } catch {
            throw TLSSetupError("the CA key is not a PEM private key: \(error)")
        }
        guard authorityKey.publicKey == authority.publicKey else {
            throw TLSSetupError("the CA key does not match the CA certificate")
        }
        let key = P256.Signing.PrivateKey()
        let privateKey = Certificate.PrivateKey(key)
        var names: [GeneralName] = hosts.map { host in
            if let bytes = SiteIdentity.ipBytes(host) { return .ipAddress(ASN1OctetString(contentBytes: bytes[...])) }
            return .dnsName(host.lowercased())
        }
        names.append(.uniformResourceIdentifier(SiteIdentity.uri(for: code)))
        do {
            let subject = try DistinguishedName {
                OrganizationName("sumsync")
                CommonName("\(code)")
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
                SubjectKeyIdentifier(hash: privateKey.publicKey)
                if let authorityKeyID = try authority.extensions.subjectKeyIdentifier {
                    AuthorityKeyIdentifier(keyIdentifier: authorityKeyID.keyIdentifier)
                }
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: privateKey.publicKey,
                notValidBefore: now.addingTimeInterval(-300),
                notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
                issuer: authority.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions, issuerPrivateKey: authorityKey)
            return Issued(
                certificatePEM: try certificate.serializeAsPEM().pemString + "\n", keyPEM: key.pemRepresentation + "\n")
        } catch {
            throw TLSSetupError("cannot make the certificate of site \(code): \(error)")
        }
    }
}
