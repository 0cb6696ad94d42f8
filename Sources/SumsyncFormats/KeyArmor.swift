import Foundation

/// The text form of sumsync's Ed25519 key files: optional `#` comment lines, then the raw 32-byte key in
/// base64 between PEM-style armor lines (docs/bundle-format.md):
///
/// ```
/// # sumsync bundle signing key 3f1c0d9e8a7b6c5d, made 2026-11-25T16:00:00Z
/// -----BEGIN SUMSYNC ED25519 PRIVATE KEY-----
/// q3v0y3pN0zQ4tQfQ2o5m4zG7nQ0b3mC1rQf6kQm3a2Y=
/// -----END SUMSYNC ED25519 PRIVATE KEY-----
/// ```
package enum KeyArmor {
    /// `PRIVATE KEY` or `PUBLIC KEY`.
    package enum Kind: String {
        case privateKey = "PRIVATE KEY"
        case publicKey = "PUBLIC KEY"
    }

    static func begin(_ kind: Kind) -> String { "-----BEGIN SUMSYNC ED25519 \(kind.rawValue)-----" }
    static func end(_ kind: Kind) -> String { "-----END SUMSYNC ED25519 \(kind.rawValue)-----" }

    /// The file text for `raw` with one comment line.
    package static func encode(_ raw: Data, kind: Kind, comment: String) -> String {
        "# \(comment)\n\(begin(kind))\n\(raw.base64EncodedString())\n\(end(kind))\n"
    }

    /// The raw key in `text`, or why there is none. `path` is for messages.
    static func decode(_ text: String, kind: Kind, path: String) throws(BundleError) -> Data {
        var lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        lines.removeAll { $0.isEmpty || $0.hasPrefix("#") }
        let other: Kind = kind == .privateKey ? .publicKey : .privateKey
        if lines.first == begin(other) {
            let hint =
                kind == .publicKey
                ? "a private key; list the .pub file in trusted-keys"
                : "a public key; pass the private key (without .pub)"
            throw BundleError(.invalidKey, "\(path) is \(hint)")
        }
        guard lines.count >= 3, lines.first == begin(kind), lines.last == end(kind) else {
            throw BundleError(
                .invalidKey,
                "\(path) is not a sumsync Ed25519 \(kind.rawValue.lowercased()) (expected a '\(begin(kind))' block, as `sumsyncctl keygen` writes)"
            )
        }
        guard let raw = Data(base64Encoded: lines[1..<(lines.count - 1)].joined()), raw.count == 32 else {
            throw BundleError(.invalidKey, "\(path): the key is not 32 bytes of base64; the file is damaged")
        }
        return raw
    }

    /// Reads a key file; `what` names it in messages (`signing key`, `trusted key`).
    package static func read(_ path: String, kind: Kind, what: String) throws(BundleError) -> Data {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason =
                FileManager.default.fileExists(atPath: path) ? "permission denied or not UTF-8 text" : "no such file"
            throw BundleError(.invalidKey, "cannot read the \(what) \(path): \(reason)")
        }
        return try decode(text, kind: kind, path: path)
    }
}
