import Foundation
import SumsyncModel
import SwiftASN1
import X509

/// How a certificate names its site: a subject alternative name URI `sumsync:site:CODE`.
///
/// The URI, not the common name, because a SAN is what verifiers already read for hosts, a certificate
/// may carry only one, and a CN is free text that other tools fill in for other purposes.
public enum SiteIdentity {
    /// The URI scheme and prefix of a site's SAN.
    public static let uriPrefix = "sumsync:site:"

    /// The SAN URI that binds a certificate to `code`.
    public static func uri(for code: SiteCode) -> String { uriPrefix + code.rawValue }

    /// The site codes a certificate's SANs name (normally one).
    public static func siteCodes(of certificate: Certificate) -> [SiteCode] {
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return [] }
        return names.compactMap { name in
            guard case .uniformResourceIdentifier(let uri) = name, uri.hasPrefix(uriPrefix) else { return nil }
            return SiteCode(String(uri.dropFirst(uriPrefix.count)))
        }
    }

    /// The site code of a DER certificate, as a peer presented it; nil when it names none or several.
    public static func siteCode(derEncoded bytes: [UInt8]) -> SiteCode? {
        guard let certificate = try? Certificate(derEncoded: bytes) else { return nil }
        let codes = siteCodes(of: certificate)
        return codes.count == 1 ? codes[0] : nil
    }

    /// The DNS names and IP addresses (as text) a certificate's SANs name.
    public static func hosts(of certificate: Certificate) -> [String] {
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return [] }
        return names.compactMap { name in
            switch name {
            case .dnsName(let host): return host.lowercased()
            case .ipAddress(let octets): return ipText(Array(octets.bytes))
            default: return nil
            }
        }
    }

    /// Whether `host` (from a site's `url`) is one the certificate names: exactly, or under a `*.` wildcard
    /// of one label, as RFC 6125 allows; IP addresses compare as addresses.
    public static func names(_ certificate: Certificate, host: String) -> Bool {
        let wanted = normalizedHost(host)
        for name in hosts(of: certificate) {
            if name == wanted { return true }
            if name.hasPrefix("*."), let dot = wanted.firstIndex(of: "."), wanted[dot...] == name.dropFirst(1) {
                return true
            }
        }
        return false
    }

    /// A host as certificates write it: lowercased, IPv6 without brackets and in canonical form.
    static func normalizedHost(_ host: String) -> String {
        var text = host.lowercased()
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if let bytes = ipBytes(text) { return ipText(bytes) }
        return text
    }

    /// The bytes of an IPv4 or IPv6 address in text, or nil for a name.
    public static func ipBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func ipText(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        guard bytes.count == 16 else { return bytes.map { String($0, radix: 16) }.joined(separator: ":") }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
