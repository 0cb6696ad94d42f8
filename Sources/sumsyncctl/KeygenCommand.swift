import ArgumentParser
import Foundation
import SumsyncSync

/// `sumsyncctl keygen --output NAME`: a new Ed25519 key pair for signing export bundles or catalog roots.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make an Ed25519 key pair for signing export bundles or catalog roots.",
        discussion:
            "Writes the private key to NAME (mode 0600) and the public key to NAME.pub. For bundles, list NAME.pub in [upstream] trusted-keys of the importing site. For catalogs (--catalog), give every site NAME.pub as [hierarchy] catalog-key and only the top-level site the private key (credential catalog-signing.key). Existing files are never overwritten."
    )

    @Option(help: "Where to write the private key; the public key goes to this path plus .pub.")
    var output: String

    @Flag(help: "A catalog signing key (only the comments in the files differ).")
    var catalog = false

    func run() throws {
        let key = BundleSigningKey.generate()
        do {
            try key.write(to: output, purpose: catalog ? "catalog" : "bundle")
        } catch {
            throw fail(error.message)
        }
        print("Wrote the signing key \(output) (keep it secret) and the public key \(output).pub; key id \(key.keyID).")
    }
}
