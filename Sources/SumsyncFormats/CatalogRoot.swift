import Crypto
import Foundation

/// The signed root of one catalog version: what the top-level site vouches for after a sync, carried in
/// the end line of every change stream (and so inside export bundles), kept by every site for its current
/// version. docs/protocol.md ("Signed roots").
///
/// ```
/// {"hierarchy":"contoso","version":12,"updates":500000,"digest":"<64 hex>","signed_at":"2026-12-01T19:00:00Z",
///  "key":"<key id>","signature":"<base64 Ed25519>"}
/// ```
/// The signature covers ``signedBytes``: a fixed prefix and the five signed fields in this order, written
/// the same way by every site, so no JSON canonicalization is needed to check it.
package struct CatalogRoot: Codable, Sendable, Equatable {
    package var hierarchy: String
    package var version: Int
    package var updates: Int
    /// ``CatalogDigest/text`` of the catalog at this version.
    package var digest: String
    /// RFC 3339, UTC.
    package var signedAt: String
    /// The id of the key that signed it (``CatalogRoot/keyID(_:)`` of its public half).
    package var key: String
    /// The Ed25519 signature of ``signedBytes``, base64.
    package var signature: String

    enum CodingKeys: String, CodingKey {
        case hierarchy, version, updates, digest, key, signature
        case signedAt = "signed_at"
    }

    /// The bytes the signature covers.
    package var signedBytes: Data {
        Self.signedBytes(hierarchy: hierarchy, version: version, updates: updates, digest: digest, signedAt: signedAt)
    }

    static func signedBytes(hierarchy: String, version: Int, updates: Int, digest: String, signedAt: String) -> Data {
        var writer = CatalogJSONWriter()
        writer.raw("sumsync catalog root v1\n{")
        writer.key("hierarchy", first: true)
        writer.string(hierarchy)
        writer.key("version")
        writer.integer(Int64(version))
        writer.key("updates")
        writer.integer(Int64(updates))
        writer.key("digest")
        writer.string(digest)
        writer.key("signed_at")
        writer.string(signedAt)
        writer.raw("}")
        return Data(writer.out)
    }

    /// Signs a root with the raw 32-byte Ed25519 seed `signingKey`; nil when the seed is no key.
    package static func signed(
        hierarchy: String, version: Int, updates: Int, digest: String, signedAt: Date, signingKey: Data
    ) -> CatalogRoot? {
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: signingKey) else { return nil }
        let at = RFC3339.format(signedAt)
        let bytes = signedBytes(hierarchy: hierarchy, version: version, updates: updates, digest: digest, signedAt: at)
        guard let signature = try? key.signature(for: bytes) else { return nil }
        return CatalogRoot(
            hierarchy: hierarchy, version: version, updates: updates, digest: digest, signedAt: at,
            key: keyID(key.publicKey.rawRepresentation), signature: signature.base64EncodedString())
    }

    /// Whether the raw 32-byte Ed25519 public key `publicKey` made the signature.
    package func isSigned(by publicKey: Data) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey),
            let signature = Data(base64Encoded: signature)
        else { return false }
        return key.isValidSignature(signature, for: signedBytes)
    }

    /// Whether `raw` is an Ed25519 public key.
    package static func isPublicKey(_ raw: Data) -> Bool {
        (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
    }

    /// The raw public half of a raw Ed25519 seed; nil when it is none.
    package static func publicKey(ofSeed seed: Data) -> Data? {
        (try? Curve25519.Signing.PrivateKey(rawRepresentation: seed))?.publicKey.rawRepresentation
    }

    /// A key's id: the first 8 bytes of the SHA-256 of its raw 32 bytes, in hex (as bundle keys are named).
    package static func keyID(_ publicKey: Data) -> String {
        Hex.string(SHA256.hash(data: publicKey).prefix(8))
    }

    /// The root as one JSON line.
    package var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// A stored root; nil for anything else.
    package static func decode(_ text: String?) -> CatalogRoot? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(CatalogRoot.self, from: Data(text.utf8))
    }
}
