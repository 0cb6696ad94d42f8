import Crypto
import Foundation
import SumsyncModel

/// Signs and verifies site-to-site requests with HMAC-SHA256 under the hierarchy key.
///
/// The signature (`SUMSYNC-HMAC-SHA256-2`) covers the method, path, query, a timestamp, a nonce, the
/// sending site, the receiving site and the body's SHA-256, so a request cannot be altered, sent to
/// another site than the one it was signed for, replayed (nonces are remembered) or replayed late (more
/// than ``maxSkew`` old), and the body can be refused before it is read (its digest is declared and signed).
public struct RequestSigner: Sendable {
    /// The headers that carry a signature.
    public enum Header {
        public static let site = "X-Sumsync-Site"
        public static let timestamp = "X-Sumsync-Timestamp"
        public static let nonce = "X-Sumsync-Nonce"
        public static let contentSHA256 = "X-Sumsync-Content-SHA256"
        public static let signature = "X-Sumsync-Signature"
    }

    /// How far a request's timestamp may be from the receiver's clock.
    public static let maxSkew: Int64 = 300

    /// When a request says it was signed (`X-Sumsync-Timestamp`, Unix seconds), if that is within
    /// ``maxSkew`` of `now`; nil for anything else: not a number, too far off, or so far off that the
    /// distance does not fit in 64 bits (`-9223372036854775808`), which is refused like any stale request.
    public static func signedTime(_ timestamp: String, now: Int64) -> Int64? {
        guard let sent = Int64(timestamp) else { return nil }
        let (distance, overflow) = now.subtractingReportingOverflow(sent)
        guard !overflow, distance.magnitude <= maxSkew.magnitude else { return nil }
        return sent
    }

    // SymmetricKey is not Sendable; the key bytes are, and making the key per use is cheap.
    private let keyData: Data
    private var key: SymmetricKey { SymmetricKey(data: keyData) }

    public init(key: Data) {
        self.keyData = key
    }

    /// The signed headers for a request.
    public func headers(
        method: String, path: String, query: String, site: SiteCode, receiver: SiteCode, body: Data,
        now: Date = Date()
    ) -> [(String, String)] {
        let timestamp = String(Int64(now.timeIntervalSince1970))
        var nonceBytes = [UInt8](repeating: 0, count: 16)
        for index in nonceBytes.indices { nonceBytes[index] = UInt8.random(in: 0...255) }
        let nonce = Self.hex(nonceBytes)
        let digest = Self.hex(SHA256.hash(data: body))
        let signature = sign(
            method: method, path: path, query: query, timestamp: timestamp, nonce: nonce, site: site.rawValue,
            receiver: receiver.rawValue, contentSHA256: digest
        )
        return [
            (Header.site, site.rawValue), (Header.timestamp, timestamp), (Header.nonce, nonce),
            (Header.contentSHA256, digest), (Header.signature, signature),
        ]
    }

    /// The first of the signed lines.
    public static let scheme = "SUMSYNC-HMAC-SHA256-2"

    /// The signed lines, joined by newlines (docs/protocol.md lists them).
    static func canonical(
        method: String, path: String, query: String, timestamp: String, nonce: String, site: String, receiver: String,
        contentSHA256: String
    ) -> Data {
        Data(
            [scheme, method.uppercased(), path, query, timestamp, nonce, site, receiver, contentSHA256]
                .joined(separator: "\n").utf8)
    }

    /// The signature over the canonical request.
    public func sign(
        method: String, path: String, query: String, timestamp: String, nonce: String, site: String, receiver: String,
        contentSHA256: String
    ) -> String {
        let canonical = Self.canonical(
            method: method, path: path, query: query, timestamp: timestamp, nonce: nonce, site: site,
            receiver: receiver, contentSHA256: contentSHA256)
        return Self.hex(HMAC<SHA256>.authenticationCode(for: canonical, using: key))
    }

    /// Checks a signature in constant time.
    public func isValid(
        signature: String, method: String, path: String, query: String, timestamp: String, nonce: String, site: String,
        receiver: String, contentSHA256: String
    ) -> Bool {
        guard let given = Self.bytes(hex: signature) else { return false }
        let canonical = Self.canonical(
            method: method, path: path, query: query, timestamp: timestamp, nonce: nonce, site: site,
            receiver: receiver, contentSHA256: contentSHA256)
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: canonical, using: key)
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var text = ""
        for byte in bytes {
            text += String(byte, radix: 16).count == 1 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
        }
        return text
    }

    /// The bytes `hex` spells, two hex digits (either case) a byte; nil for anything else. Not
    /// `UInt8(_:radix:)`, which also takes a sign (`+f`): a signature has one spelling a case.
    static func bytes(hex: String) -> Data? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var data = Data(capacity: digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            data.append(high << 4 | low)
        }
        return data
    }

    /// The SHA-256 of `data` in hex.
    public static func digest(_ data: Data) -> String { hex(SHA256.hash(data: data)) }
}
