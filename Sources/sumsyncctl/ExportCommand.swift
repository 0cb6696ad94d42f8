import ArgumentParser
import Foundation
import SumsyncConfig
import SumsyncFormats
import SumsyncModel
import SumsyncSync

/// `sumsyncctl export --output FILE [--since VERSION] --signing-key KEY [--from-catalog URL]`.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a signed bundle of the site's updates, for a disconnected site to import.",
        discussion:
            "Reads the site database read-only (the daemon may run or be stopped), or with --from-catalog the upstream catalog itself, keeping what the config's [sync] filter keeps. See docs/bundle-format.md."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "The bundle file to write (replaced if it exists).")
    var output: String

    @Option(help: "Only the changes after this catalog version (a delta bundle); default: everything (a full bundle).")
    var since: Int?

    @Option(help: "The private key from `sumsyncctl keygen`.")
    var signingKey: String

    @Option(
        help: "Export straight from this upstream catalog (file://, http://, https://) instead of the site database.")
    var fromCatalog: String?

    func run() async throws {
        let config: HierarchyConfig
        do {
            config = try ConfigLoader().load(path: global.config)
        } catch {
            throw fail("cannot read the config for the [sync] filter:\n\(error.description)")
        }
        let key: BundleSigningKey
        do {
            key = try BundleSigningKey(contentsOf: signingKey)
        } catch {
            throw fail(error.message)
        }
        let filter = UpdateFilter(config.sync)
        let manifest: BundleManifest
        do {
            if let fromCatalog {
                guard since == nil else {
                    throw fail("--since applies to a site database; a catalog bundle is always full")
                }
                manifest = try await BundleExporter.exportCatalog(
                    url: fromCatalog, site: config.topSite.code, filter: filter,
                    skipInvalid: config.upstream.skipInvalid,
                    key: key, output: output, idleTimeout: config.upstream.timeout.duration
                )
            } else {
                let store = try global.openStore()
                manifest = try BundleExporter.exportSite(
                    store: store, site: try global.siteCode(), since: since, filter: filter, key: key, output: output
                )
            }
        } catch let error as BundleError {
            throw fail(error.message)
        }
        print(
            "Wrote \(output): \(manifest.summary), \(manifest.payloadSize) bytes of payload, signed by key \(manifest.keyID)."
        )
    }
}
