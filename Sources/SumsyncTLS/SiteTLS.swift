import Foundation
import NIOSSL
import SumsyncFormats
import SumsyncModel
import SwiftASN1
import X509

/// One site server's TLS material, checked: the hierarchy CA bundle, and the site's own certificate
/// chain and key when it has them.
///
/// Loaded at start and on every reload; a reload that fails keeps the material in use.
public struct SiteTLS: Sendable {
    /// The CA certificates every peer must chain to (`[hierarchy] ca-file`).
    public let authorities: [NIOSSLCertificate]
    /// The site's certificate first, then any intermediates; empty when it has none.
    public let chain: [NIOSSLCertificate]
    public let key: NIOSSLPrivateKey?
    /// When the site's certificate expires.
    public let expires: Date?
    /// The files it was read from, for messages.
    public let certificateFile: String?
    public let caFile: String

    /// How soon before expiry a certificate is warned about, daily.
    public static let expiryWarning: TimeInterval = 14 * 86_400

    /// Loads and checks the CA bundle and `site`'s certificate and key.
    ///
    /// A site whose `url` is https must have a certificate; one on http uses its certificate, when it has
    /// one, only to present to https parents and children. The checks: the key file is not readable by
    /// others, the key matches the certificate, the certificate chains to the CA and is valid at `now`,
    /// names the site's host (a SAN) and carries its code (SAN URI `sumsync:site:CODE`).
    public static func load(settings: HierarchySettings, site: SiteConfig, now: Date = Date())
        async throws(TLSSetupError)
        -> SiteTLS?
    {
        guard let caFile = settings.caFile else { return nil }
        let (authorities, roots) = try readAuthorities(caFile)
        guard let files = settings.certificateFiles(for: site.code),
            site.usesTLS || FileManager.default.fileExists(atPath: files.certificate)
        else {
            if site.usesTLS {
                throw TLSSetupError(
                    "site \(site.code) uses https but has no certificate: pass the credentials site.crt and site.key (LoadCredential=), or set [hierarchy] tls-dir to a folder with \(site.code).crt and \(site.code).key; `sumsyncctl pki issue \(site.code) --host \(site.host) --ca DIR --output DIR` makes them"
                )
            }
            return SiteTLS(
                authorities: authorities, chain: [], key: nil, expires: nil, certificateFile: nil, caFile: caFile)
        }
        let keyPEM = try readKey(files.key)
        let chainPEM = try readText(files.certificate, what: "certificate")
        let chain: [Certificate]
        do {
            chain = try PEMDocument.parseMultiple(pemString: chainPEM).filter { $0.discriminator == "CERTIFICATE" }.map
            {
                try Certificate(pemDocument: $0)
            }
        } catch {
            throw TLSSetupError("\(files.certificate) is not a PEM certificate: \(error)")
        }
        guard let leaf = chain.first else {
            throw TLSSetupError("\(files.certificate) holds no certificate (expected PEM -----BEGIN CERTIFICATE-----)")
        }
        let privateKey: Certificate.PrivateKey
        do {
            privateKey = try Certificate.PrivateKey(pemEncoded: keyPEM)
        } catch {
            throw TLSSetupError("\(files.key) is not a PEM private key: \(error)")
        }
        guard privateKey.publicKey == leaf.publicKey else {
            throw TLSSetupError("\(files.key) is not the key of \(files.certificate): they do not match")
        }
        try await check(
            leaf, intermediates: Array(chain.dropFirst()), roots: roots, site: site, file: files.certificate, now: now)
        let nioChain: [NIOSSLCertificate]
        let nioKey: NIOSSLPrivateKey
        do {
            nioChain = try NIOSSLCertificate.fromPEMBytes(Array(chainPEM.utf8))
            nioKey = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        } catch {
            throw TLSSetupError("cannot load \(files.certificate) and \(files.key) for TLS: \(error)")
        }
        return SiteTLS(
            authorities: authorities, chain: nioChain, key: nioKey, expires: leaf.notValidAfter,
            certificateFile: files.certificate, caFile: caFile)
    }

    /// The checks of a site's certificate, each failure saying what to fix.
    static func check(
        _ leaf: Certificate, intermediates: [Certificate], roots: [Certificate], site: SiteConfig, file: String,
        now: Date
    ) async throws(TLSSetupError) {
        if leaf.notValidAfter < now {
            throw TLSSetupError(
                "\(file) expired on \(RFC3339.format(leaf.notValidAfter)); issue a new one (sumsyncctl pki issue --force) and start the daemon again"
            )
        }
        if leaf.notValidBefore > now {
            throw TLSSetupError(
                "\(file) is not valid before \(RFC3339.format(leaf.notValidBefore)); check this server's clock (NTP)"
            )
        }
        let codes = SiteIdentity.siteCodes(of: leaf)
        guard codes == [site.code] else {
            throw TLSSetupError(
                codes.isEmpty
                    ? "\(file) is not bound to a site: it needs the SAN URI \(SiteIdentity.uri(for: site.code)) (sumsyncctl pki issue adds it)"
                    : "\(file) is the certificate of site \(codes.map(\.rawValue).joined(separator: ", ")), not of \(site.code)"
            )
        }
        if site.usesTLS, !SiteIdentity.names(leaf, host: site.host) {
            let names = SiteIdentity.hosts(of: leaf)
            throw TLSSetupError(
                "\(file) does not name \(site.host), the host of \(site.code)'s url \(site.url) (its names: \(names.isEmpty ? "none" : names.joined(separator: ", "))); issue it with --host \(site.host)"
            )
        }
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) { RFC5280Policy() }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates))
        if case .couldNotValidate(let failures) = result {
            let reason = failures.first.map { "\($0.policyFailureReason)" } ?? "no chain to the CA"
            throw TLSSetupError(
                "\(file) does not chain to the hierarchy CA in the ca-file: \(reason)")
        }
    }

    static func readAuthorities(_ path: String) throws(TLSSetupError) -> ([NIOSSLCertificate], [Certificate]) {
        let text = try readText(path, what: "CA bundle ([hierarchy] ca-file)")
        do {
            let roots = try PEMDocument.parseMultiple(pemString: text).filter { $0.discriminator == "CERTIFICATE" }.map
            {
                try Certificate(pemDocument: $0)
            }
            guard !roots.isEmpty else { throw TLSSetupError("\(path) holds no PEM certificate") }
            return (try NIOSSLCertificate.fromPEMBytes(Array(text.utf8)), roots)
        } catch let error as TLSSetupError {
            throw error
        } catch {
            throw TLSSetupError("\(path) ([hierarchy] ca-file) is not a PEM CA bundle: \(error)")
        }
    }

    static func readText(_ path: String, what: String) throws(TLSSetupError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TLSSetupError(
                "cannot read the \(what) \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")"
            )
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The key, refused when others may read it.
    static func readKey(_ path: String) throws(TLSSetupError) -> String {
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o007 != 0 {
            throw TLSSetupError(
                "the private key \(path) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); run `chmod 600 \(path)` (or 640 with a group the daemon's user is in)"
            )
        }
        return try readText(path, what: "private key")
    }

    /// The listener's configuration: TLS 1.2 or newer, the site's certificate, and client certificates
    /// checked against the CA when presented (`/v1/health` needs none; signed routes do).
    public func serverConfiguration() -> TLSConfiguration? {
        guard let key, !chain.isEmpty else { return nil }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.trustRoots = .certificates(authorities)
        configuration.certificateVerification = .optionalVerification
        return configuration
    }

    /// The configuration for requests to other sites: the peer must chain to the CA and name the host of
    /// its `url`; the site presents its own certificate when it has one.
    public func clientConfiguration() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.trustRoots = .certificates(authorities)
        configuration.certificateVerification = .fullVerification
        if let key, !chain.isEmpty {
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(key)
        }
        return configuration
    }
}
