import ArgumentParser
import Foundation
import SumsyncModel
import SumsyncStore

/// `sumsyncctl verify [--json]`: recompute the state digest from every row and compare it with the stored
/// signed root (read-only; works with the daemon running or stopped). Exit 0 when they agree, 1 otherwise.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that the site database holds exactly what its signed catalog root vouches for.",
        discussion:
            "Recomputes the state digest (LtHash16) from every update row, read-only, and compares it, the number of updates and the catalog version with the root signed by the top-level site ([hierarchy] catalog-key checks its signature). Exit status 0 when everything agrees, 1 with what differs. docs/security.md."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print the check as JSON.")
    var json = false

    func run() throws {
        let keys = try global.loadConfig(for: "its catalog key").hierarchy.catalogKey.map { [$0] } ?? []
        let store = try global.openStore()
        let site = (try? global.siteCode().rawValue) ?? "?"
        let check: CatalogCheck
        do {
            check = try store.checkCatalog(keys: keys)
        } catch {
            throw fail("cannot read the site database: \(error)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var object = try JSONSerialization.jsonObject(with: encoder.encode(check)) as? [String: Any] ?? [:]
            object["site"] = site
            object["valid"] = check.isValid
            print(
                String(
                    decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
            )
        } else if check.isValid {
            let root =
                check.rootKey.map { " and its signed root (key \($0))" } ?? " (no signed root: an unverified hierarchy)"
            print(
                "Site \(site): \(check.updates) updates at catalog version \(check.version), digest \(check.digest): matches the digest its syncs kept\(root)."
            )
        } else {
            print("Site \(site): the catalog at version \(check.version) does not verify:")
            for problem in check.problems { print("  - \(problem)") }
        }
        if !check.isValid { throw ExitCode(1) }
    }
}
