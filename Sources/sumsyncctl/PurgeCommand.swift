import ArgumentParser
import Foundation
import SumsyncControl
import SumsyncModel
import SumsyncStore

/// `sumsyncctl purge [--dry-run] [--json]`: what the next sync would purge (counts per product and
/// classification), or the purge now, as a sync with trigger `purge`.
struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Purge expired updates now, or show what the next sync would purge.",
        discussion:
            "The top-level site deletes updates expired for longer than [sync] purge-expired-after (default 90d) at the end of each sync; they reach the sites below as removals. --dry-run reads the site database (daemon running or stopped) and lists what would go. Without it, the daemon runs a sync with trigger purge now and this command follows it to its end: exit 0 when it succeeded, 1 otherwise. docs/operations.md, \"Housekeeping\"."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Change nothing: list what the next sync would purge, per product and classification.")
    var dryRun = false

    @Flag(help: "With --dry-run: print the preview as JSON.")
    var json = false

    func validate() throws {
        if json && !dryRun { throw ValidationError("--json goes with --dry-run") }
    }

    func run() async throws {
        guard dryRun else {
            let path = ControlProtocol.uri(ControlProtocol.purgePath, query: ["wait": "true"])
            try await SyncCommand.follow(client: try global.controlClient(), path: path, wait: true, noun: "Purge")
            return
        }
        let config = try global.loadConfig(for: "[sync] purge-expired-after")
        let site = try global.siteCode()
        if let parent = config.site(site)?.parent {
            throw fail(
                "\(site) is a child site: the top-level site purges, and its purges reach \(site) through \(parent) as removals; run this there"
            )
        }
        guard let span = config.sync.purgeExpiredAfter else {
            throw fail("[sync] purge-expired-after is \"0\": this site never purges")
        }
        let store = try global.openStore()
        let preview: PurgePreview
        do {
            preview = try store.purgePreview(cutoff: Date().addingTimeInterval(-Double(span.seconds)))
        } catch {
            throw fail("cannot read the site database: \(error)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(preview), as: UTF8.self))
            return
        }
        print(
            "Site \(site): the next sync purges \(preview.total) updates expired before \(preview.expiredBefore) ([sync] purge-expired-after = \"\(span)\"); \(preview.expiredKept) expired updates stay for now."
        )
        guard !preview.groups.isEmpty else { return }
        let width = max(7, preview.groups.map(\.product.count).max() ?? 0)
        let classWidth = max(14, preview.groups.map(\.classification.count).max() ?? 0)
        func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
        print(pad("PRODUCT", width) + "  " + pad("CLASSIFICATION", classWidth) + "  UPDATES")
        for group in preview.groups {
            print(pad(group.product, width) + "  " + pad(group.classification, classWidth) + "  \(group.updates)")
        }
    }
}
