import AsyncHTTPClient
import Foundation
import GRDB
import Logging
import Testing

@testable import SumsyncModel
@testable import SumsyncStore
@testable import SumsyncSync

/// A site database and a catalog file in a scratch folder, synced through the real engine.
final class SyncHarness: @unchecked Sendable {
    let folder: URL
    let store: SiteStore
    var config: HierarchyConfig
    var now = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-17
    /// Sync as `sumsyncctl sync --full` does: every line parsed, no line index.
    var full = false

    init(products: [String] = [], classifications: [String] = [], languages: [String] = [], months: Int = 0) throws {
        folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "sumsync-sync-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        store = try SiteStore(stateDirectory: folder.path)
        var sync = SyncSettings()
        sync.products = products
        sync.classifications = classifications
        sync.languages = languages
        sync.expireSupersededAfterMonths = months
        var upstream = UpstreamSettings()
        upstream.catalog = "file://" + folder.appendingPathComponent("catalog.ndjson").path
        config = HierarchyConfig(
            file: "/dev/null", hierarchy: HierarchySettings(), sync: sync, upstream: upstream, alerts: AlertSettings(),
            sites: [
                SiteConfig(code: "CAS", name: "CAS", parent: nil, url: "http://127.0.0.1:1", host: "127.0.0.1", port: 1)
            ]
        )
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    /// Writes the catalog (one JSON line per entry) and syncs.
    @discardableResult
    func sync(_ lines: [String]) async throws -> SyncEngine.Outcome {
        try await sync(bytes: Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    /// Writes the catalog as these bytes (which need not be UTF-8) and syncs.
    @discardableResult
    func sync(bytes: Data) async throws -> SyncEngine.Outcome {
        try bytes.write(to: folder.appendingPathComponent("catalog.ndjson"))
        let engine = SyncEngine(store: store, site: "CAS", stateDirectory: folder.path, httpClient: HTTPClient.shared)
        let clock = now
        let outcome = await engine.syncFromCatalog(
            id: UUID().uuidString, trigger: .manual, config: config, full: full, progress: SyncProgress(),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), now: { clock }
        )
        // Each sync here uses a new engine, which finds the index in the file.
        await engine.flushIndex()
        return outcome
    }

    func update(_ id: String) throws -> Row? {
        try store.pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM updates WHERE id = ?", arguments: [id]) }
    }

    func ids() throws -> [String] {
        try store.pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM updates ORDER BY id") }
    }

    func changes(at version: Int) throws -> [String: String] {
        try store.pool.read { db in
            Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(
                    db, sql: "SELECT update_id, kind FROM changes WHERE version = ?", arguments: [version]
                ).map {
                    ($0["update_id"] as String, $0["kind"] as String)
                })
        }
    }
}

/// A catalog line for update number `n` (`00000000-0000-4000-8000-00000000000n`).
func line(
    _ n: Int, revision: Int = 1, product: String = "Windows 11", classification: String = "Security Updates",
    languages: [String] = ["all"], released: String = "2026-01-01T00:00:00Z", supersedes: [Int] = [],
    expired: Bool = false,
    uppercase: Bool = false
) -> String {
    var id = guid(n)
    if uppercase { id = id.uppercased() }
    let langs = languages.map { "\"\($0)\"" }.joined(separator: ",")
    let sup =
        supersedes.isEmpty
        ? "" : ",\"supersedes\":[" + supersedes.map { "\"\(guid($0))\"" }.joined(separator: ",") + "]"
    return """
        {"id":"\(id)","revision":\(revision),"title":"Update \(n)","product":"\(product)","classification":"\(classification)","languages":[\(langs)],"released":"\(released)"\(sup),"expired":\(expired)}
        """
}

func guid(_ n: Int) -> String { String(format: "00000000-0000-4000-8000-%012x", n) }

@Suite("sync rules")
/// Each rule runs twice: with deltas through the line index, and with every line parsed (`--full`).
struct SyncRulesTests {
    @Test(arguments: [false, true]) func newRevisedUnchangedAndLowerRevisions(full: Bool) async throws {
        let site = try SyncHarness()
        site.full = full
        var outcome = try await site.sync([line(1, revision: 5), line(2), line(3)])
        #expect(outcome.result == .succeeded)
        #expect(outcome.counts.new == 3 && outcome.catalogVersion == 1)

        outcome = try await site.sync([line(1, revision: 6), line(2), line(3, revision: 1)])
        #expect(outcome.counts.revised == 1 && outcome.counts.unchanged == 2 && outcome.counts.new == 0)
        #expect(outcome.catalogVersion == 2)
        #expect(try site.changes(at: 2) == [guid(1): "revised"])

        // A lower revision leaves the stored update alone.
        outcome = try await site.sync([line(1, revision: 4, product: "Edge"), line(2), line(3)])
        #expect(outcome.counts.changed == 0 && outcome.counts.unchanged == 3 && outcome.catalogVersion == 2)
        #expect(try site.update(guid(1))?["revision"] == 6)
        #expect(try site.update(guid(1))?["product"] == "Windows 11")
    }

    @Test(arguments: [false, true]) func removedWhenUpstreamNoLongerOffersIt(full: Bool) async throws {
        let site = try SyncHarness()
        site.full = full
        try await site.sync([line(1), line(2)])
        let outcome = try await site.sync([line(2)])
        #expect(outcome.counts.removed == 1 && outcome.counts.unchanged == 1)
        #expect(try site.ids() == [guid(2)])
        #expect(try site.changes(at: 2) == [guid(1): "removed"])
    }

    @Test(arguments: [false, true]) func filterChangeRemovesUpdates(full: Bool) async throws {
        let site = try SyncHarness()
        site.full = full
        try await site.sync([line(1, product: "Windows 11"), line(2, product: "Edge")])
        site.config.sync.products = ["Edge"]
        let outcome = try await site.sync([line(1, product: "Windows 11"), line(2, product: "Edge")])
        #expect(outcome.counts.removed == 1)
        #expect(try site.ids() == [guid(2)])
    }

    @Test(arguments: [false, true]) func filterEdgeCases(full: Bool) async throws {
        let site = try SyncHarness(classifications: ["Security Updates"], languages: ["de"])
        site.full = full
        let outcome = try await site.sync([
            line(1, languages: ["all"]),
            line(2, languages: ["DE"]),
            line(3, languages: ["en", "fr"]),
            line(4, classification: "Drivers", languages: ["de"]),
            line(5, languages: ["en", "de"]),
        ])
        #expect(try site.ids() == [guid(1), guid(2), guid(5)])
        #expect(outcome.counts.new == 3)
    }

    @Test(arguments: [false, true]) func expiredUpstream(full: Bool) async throws {
        let site = try SyncHarness()
        site.full = full
        try await site.sync([line(1), line(2)])
        let outcome = try await site.sync([line(1, expired: true), line(2)])
        #expect(outcome.counts.expired == 1)
        #expect(try site.update(guid(1))?["expired"] == true)
        // Expiry is final.
        let again = try await site.sync([line(1, revision: 2, expired: false), line(2)])
        #expect(try site.update(guid(1))?["expired"] == true)
        #expect(again.counts.revised == 1)
    }

    @Test(arguments: [false, true]) func supersededExpiresAtOnceWithZeroMonths(full: Bool) async throws {
        let site = try SyncHarness(months: 0)
        site.full = full
        try await site.sync([line(1), line(2)])
        let outcome = try await site.sync([
            line(1), line(2), line(3, released: "2026-11-01T00:00:00Z", supersedes: [1]),
        ])
        #expect(outcome.counts.new == 1 && outcome.counts.expired == 1)
        let row = try site.update(guid(1))
        #expect(row?["superseded_by"] == guid(3) && row?["expired"] == true)
    }

    @Test(arguments: [false, true]) func supersededExpiresAfterTheConfiguredMonths(full: Bool) async throws {
        let site = try SyncHarness(months: 3)
        site.full = full
        // Now is 2026-11-17; the superseding update was released 2026-10-01: under 3 months ago.
        let catalog = [line(1), line(2, released: "2026-10-01T00:00:00Z", supersedes: [1])]
        try await site.sync([line(1)])
        var outcome = try await site.sync(catalog)
        #expect(outcome.counts.superseded == 1 && outcome.counts.expired == 0)
        #expect(try site.update(guid(1))?["expired"] == false)
        site.now = Date(timeIntervalSince1970: 1_795_000_000 + 60 * 86_400)  // mid-January 2027
        outcome = try await site.sync(catalog)
        #expect(outcome.counts.expired == 1)
        #expect(try site.update(guid(1))?["expired"] == true)
    }

    @Test(arguments: [false, true]) func duplicatesKeepTheHighestRevision(full: Bool) async throws {
        let site = try SyncHarness()
        site.full = full
        let outcome = try await site.sync([
            line(1, revision: 2), line(1, revision: 7, product: "Edge"), line(1, revision: 3),
        ])
        #expect(outcome.counts.new == 1 && outcome.counts.unchanged == 0)
        #expect(try site.update(guid(1))?["revision"] == 7)
        #expect(try site.update(guid(1))?["product"] == "Edge")
    }

    @Test(arguments: [false, true]) func idsCompareCaseInsensitively(full: Bool) async throws {
        let site = try SyncHarness()
        site.full = full
        try await site.sync([line(1, uppercase: true)])
        let outcome = try await site.sync([line(1, revision: 2)])
        #expect(outcome.counts.revised == 1 && outcome.counts.new == 0)
        #expect(try site.ids() == [guid(1)])
    }

    @Test(arguments: [false, true]) func aMalformedLineChangesNothing(full: Bool) async throws {
        let site = try SyncHarness()
        site.full = full
        try await site.sync([line(1), line(2)])
        let outcome = try await site.sync([line(1, revision: 2), "{\"id\": broken", line(3)])
        #expect(outcome.result == .failed)
        #expect(outcome.error?.contains("line 2") == true)
        #expect(try site.store.catalogVersion() == 1)
        #expect(try site.ids() == [guid(1), guid(2)])
        #expect(try site.update(guid(1))?["revision"] == 1)
        let history = try site.store.history(limit: 1)
        #expect(history.first?.result == "failed" && history.first?.error?.contains("line 2") == true)
    }

    @Test(arguments: [false, true]) func skipInvalidCountsAndSkips(full: Bool) async throws {
        let site = try SyncHarness()
        site.full = full
        site.config.upstream.skipInvalid = true
        let outcome = try await site.sync([line(1), "not json", line(2)])
        #expect(outcome.result == .succeeded && outcome.skippedInvalid == 1 && outcome.counts.new == 2)
    }

    /// `skip-invalid` also skips the lines the reader refuses before parsing (bytes that are not UTF-8, a
    /// line over the length limit), through the line index and without it; they used to fail the sync.
    @Test(arguments: [false, true], ["not UTF-8", "over-long"])
    func skipInvalidSkipsUnreadableLines(full: Bool, kind: String) async throws {
        let site = try SyncHarness()
        site.full = full
        site.config.upstream.skipInvalid = true
        try await site.sync([line(1)])
        var bytes = Data((line(1) + "\n").utf8)
        bytes += kind == "not UTF-8" ? Data([0x7B, 0xFF, 0xFE, 0x7D]) : Data(repeating: 0x61, count: (1 << 20) + 10)
        bytes += Data(("\n" + line(2) + "\n").utf8)
        let outcome = try await site.sync(bytes: bytes)
        #expect(outcome.result == .succeeded, "\(outcome.error ?? "")")
        #expect(outcome.skippedInvalid == 1)
        #expect(outcome.counts.new == 1)
        #expect(try site.ids() == [guid(1), guid(2)])
    }

    /// A delta's total is the last catalog's line count, an estimate: once passed it is dropped rather than
    /// shown as `processed 200000 of 1000`.
    @Test func progressDropsAPassedEstimate() {
        let progress = SyncProgress()
        progress.enter(.applying, total: 1_000)
        progress.advance(to: 900)
        #expect(progress.snapshot.line.contains("processed 900 of 1000 (90%)"))
        progress.advance(to: 200_000)
        #expect(progress.snapshot.total == nil)
        #expect(progress.snapshot.line.hasPrefix("applying: processed 200000,"))
    }

    @Test(arguments: [false, true]) func newCategoriesAfterTheFirstSync(full: Bool) async throws {
        let site = try SyncHarness()
        site.full = full
        let first = try await site.sync([line(1)])
        #expect(first.newCategories.isEmpty)
        let second = try await site.sync([line(1), line(2, product: "Windows Server 2025")])
        #expect(second.newCategories.map(\.name) == ["Windows Server 2025"])
        let categories = try site.store.categories(filter: UpdateFilter())
        #expect(categories.first { $0.name == "Windows Server 2025" }?.new == true)
        #expect(categories.first { $0.name == "Windows 11" }?.new == false)
    }
}
