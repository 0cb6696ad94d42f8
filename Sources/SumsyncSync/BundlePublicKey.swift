import Crypto
import Foundation
import SumsyncFormats

/// A public key that verifies bundle signatures: one of `[upstream] trusted-keys`, or the public half of a
/// signing key.
public struct BundlePublicKey: Sendable {
    /// The raw 32 bytes (swift-crypto's key types are not `Sendable`; they are cheap to make when needed).
    let raw: Data
    /// Where it was read from (empty when it was derived from a signing key).
    public let path: String

    init(key: Curve25519.Signing.PublicKey, path: String = "") {
        self.raw = key.rawRepresentation
        self.path = path
    }

    /// Reads a `NAME.pub` file written by `sumsyncctl keygen`.
    public init(contentsOf path: String) throws(BundleError) {
        let raw = try KeyArmor.read(path, kind: .publicKey, what: "trusted key")
        do {
            self.init(key: try Curve25519.Signing.PublicKey(rawRepresentation: raw), path: path)
        } catch {
            throw BundleError(.invalidKey, "\(path) holds no valid Ed25519 public key")
        }
    }

    /// The key's id: the first 8 bytes of the SHA-256 of its raw 32 bytes, in hex. Manifests name the
    /// key that signed them by it, and messages quote it.
    public var keyID: String { Self.keyID(raw) }

    static func keyID(_ raw: Data) -> String {
        Hex.string(SHA256.hash(data: raw).prefix(8))
    }

    /// Whether `signature` is this key's signature of `message`.
    func verifies(_ signature: Data, of message: Data) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return false }
        return key.isValidSignature(signature, for: message)
    }

    /// The text of a `.pub` file for this key.
    func armored(comment: String) -> String {
        KeyArmor.encode(raw, kind: .publicKey, comment: comment)
    }
}
