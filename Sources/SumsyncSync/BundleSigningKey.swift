import Crypto
import Foundation
import SumsyncFormats

/// The private Ed25519 key that signs export bundles (`sumsyncctl export --signing-key`).
public struct BundleSigningKey: Sendable {
    /// The raw 32-byte seed (swift-crypto's key types are not `Sendable`).
    private let raw: Data

    init(key: Curve25519.Signing.PrivateKey) { self.raw = key.rawRepresentation }

    private var key: Curve25519.Signing.PrivateKey {
        // The seed came from a valid key, so this cannot fail.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: raw)
    }

    /// Reads a private key file written by `sumsyncctl keygen`.
    public init(contentsOf path: String) throws(BundleError) {
        let raw = try KeyArmor.read(path, kind: .privateKey, what: "signing key")
        do {
            self.init(key: try Curve25519.Signing.PrivateKey(rawRepresentation: raw))
        } catch {
            throw BundleError(.invalidKey, "\(path) holds no valid Ed25519 private key")
        }
    }

    /// A fresh random key.
    public static func generate() -> BundleSigningKey { BundleSigningKey(key: Curve25519.Signing.PrivateKey()) }

    /// The public half, which importing sites list in `[upstream] trusted-keys`.
    public var publicKey: BundlePublicKey { BundlePublicKey(key: key.publicKey) }

    /// The key id of the public half.
    public var keyID: String { publicKey.keyID }

    /// The signature of `message`.
    func sign(_ message: Data) throws(BundleError) -> Data {
        do {
            return try key.signature(for: message)
        } catch {
            throw BundleError(.cannotWrite, "cannot sign the bundle: \(error)")
        }
    }

    /// Writes the private key to `path` (mode 0600) and the public key to `path.pub` (mode 0644).
    /// Refuses to overwrite either file: a lost signing key cannot be recovered, and replacing one
    /// silently would make every site's trusted key stale.
    /// `purpose` names the key in the files' comments (`bundle`, `catalog`).
    public func write(to path: String, purpose: String = "bundle", now: Date = Date()) throws(BundleError) {
        let made = RFC3339.format(now)
        let privateText = KeyArmor.encode(
            raw, kind: .privateKey,
            comment: "sumsync \(purpose) signing key \(keyID), made \(made). Keep it secret."
        )
        let publicText = publicKey.armored(comment: "sumsync \(purpose) verification key \(keyID), made \(made)")
        for existing in [path, path + ".pub"] where FileManager.default.fileExists(atPath: existing) {
            throw BundleError(.cannotWrite, "\(existing) already exists; remove it first or choose another --output")
        }
        try Self.create(path, text: privateText, mode: 0o600)
        do {
            try Self.create(path + ".pub", text: publicText, mode: 0o644)
        } catch {
            unlink(path)
            throw error
        }
    }

    private static func create(_ path: String, text: String, mode: mode_t) throws(BundleError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw BundleError(.cannotWrite, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        // The umask may have narrowed the mode; the public key must stay readable by the site's user.
        fchmod(fd, mode)
        do {
            try Array(text.utf8).withUnsafeBytes { try BundleWriter.writeAll(fd, $0) }
        } catch {
            unlink(path)
            throw BundleError(.cannotWrite, "cannot write \(path): \(error)")
        }
    }
}
