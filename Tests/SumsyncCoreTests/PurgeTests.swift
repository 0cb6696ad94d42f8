import AsyncHTTPClient
import Foundation
import GRDB
import Logging
import Testing

@testable import SumsyncModel
@testable import SumsyncStore
@testable import SumsyncSync

/// `[sync] purge-expired-after` and `history-retention` (docs/operations.md, "Housekeeping"). Each rule
/// runs with deltas through the line index and with every line parsed (`--full`).
@Suite("purge and housekeeping")
struct PurgeTests {
    static let day: TimeInterval = 86_400

    private func harness(full: Bool, days: Int64 = 10) throws -> SyncHarness {
        let site = try SyncHarness()
        site.full = full
        site.config.sync.purgeExpiredAfter = TimeSpan(seconds: days * 86_400)
        return site
    }

    /// Expired exactly the span ago stays; a second more and it is purged, as a change of its own kind
    /// at the next catalog version, counted in history.
    @Test(arguments: [false, true]) func boundaryIsExactlyTheSpan(full: Bool) async throws {
        let site = try harness(full: full)
        let start = site.now
        var outcome = try await site.sync([line(1), line(2), line(3)])
        #expect(outcome.catalogVersion == 1)
        site.now = start.addingTimeInterval(Self.day)
        outcome = try await site.sync([line(1, expired: true), line(2), line(3)])
        #expect(outcome.counts.expired == 1 && outcome.catalogVersion == 2)
        let expiredAt = site.now
        #expect(try site.update(guid(1))?["expired_at"] == Int64(expiredAt.timeIntervalSince1970))

        site.now = expiredAt.addingTimeInterval(10 * Self.day)
        outcome = try await site.sync([line(1, expired: true), line(2), line(3)])
        #expect(outcome.counts.purged == 0, "expired exactly the span ago: kept")
        #expect(try site.update(guid(1)) != nil && outcome.catalogVersion == 2)
        #expect(try site.store.purgePreview(cutoff: site.now.addingTimeInterval(-10 * Self.day)).total == 0)
        #expect(try site.store.purgePreview(cutoff: site.now.addingTimeInterval(-10 * Self.day + 1)).total == 1)

        site.now = expiredAt.addingTimeInterval(10 * Self.day + 1)
        outcome = try await site.sync([line(1, expired: true), line(2), line(3)])
        #expect(outcome.result == .succeeded)
        #expect(outcome.counts.purged == 1 && outcome.counts.removed == 0 && outcome.counts.unchanged == 2)
        #expect(outcome.catalogVersion == 3)
        #expect(try site.ids() == [guid(2), guid(3)])
        #expect(try site.changes(at: 3) == [guid(1): "purged"])
        #expect(try site.store.updateCount() == 2)
        #expect(try site.store.history(limit: 1).first?.purged == 1)
        #expect(try site.store.checkCatalog(keys: []).isValid)

        // Upstream still lists it, unchanged: it stays purged, nothing changes.
        site.now = site.now.addingTimeInterval(Self.day)
        outcome = try await site.sync([line(1, expired: true), line(2), line(3)])
        #expect(outcome.counts.changed == 0 && outcome.catalogVersion == 3 && outcome.counts.unchanged == 2)
        #expect(try site.ids() == [guid(2), guid(3)])
    }

    /// A superseded update expires (at once, `expire-superseded-after-months = 0`) and is purged a span
    /// later; what it superseded is looked at again (here: nothing else supersedes it).
    @Test(arguments: [false, true]) func expiredBySupersedence(full: Bool) async throws {
        let site = try harness(full: full)
        let catalog = [
            line(1), line(2, released: "2026-02-01T00:00:00Z", supersedes: [1]),
            line(3, released: "2026-03-01T00:00:00Z", supersedes: [2]), line(4),
        ]
        var outcome = try await site.sync(catalog)
        #expect(try site.update(guid(1))?["expired"] == true && site.update(guid(2))?["expired"] == true)
        #expect(try site.update(guid(2))?["expired_at"] == Int64(site.now.timeIntervalSince1970))

        site.now = site.now.addingTimeInterval(11 * Self.day)
        outcome = try await site.sync(catalog)
        #expect(outcome.counts.purged == 2 && outcome.catalogVersion == 2)
        #expect(try site.ids() == [guid(3), guid(4)])
        #expect(try site.changes(at: 2) == [guid(1): "purged", guid(2): "purged"])
        #expect(try site.store.checkCatalog(keys: []).isValid)
        // The next delta sees the same catalog and changes nothing.
        outcome = try await site.sync(catalog)
        #expect(outcome.counts.changed == 0 && outcome.catalogVersion == 2)
    }

    /// A purged update that upstream revises is new again; one that upstream lets go is forgotten.
    @Test(arguments: [false, true]) func purgedUpdateReturnsRevised(full: Bool) async throws {
        let site = try harness(full: full)
        try await site.sync([line(1, expired: true), line(2, expired: true), line(3)])
        site.now = site.now.addingTimeInterval(11 * Self.day)
        var outcome = try await site.sync([line(1, expired: true), line(2, expired: true), line(3)])
        #expect(outcome.counts.purged == 2 && outcome.catalogVersion == 2)
        let purged = {
            try site.store.pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM purged ORDER BY id") }
        }
        #expect(try purged() == [guid(1), guid(2)])

        outcome = try await site.sync([line(1, revision: 2), line(3)])
        #expect(outcome.counts.new == 1 && outcome.counts.changed == 1 && outcome.catalogVersion == 3)
        #expect(try site.changes(at: 3) == [guid(1): "new"])
        #expect(try site.update(guid(1))?["expired"] == false && site.update(guid(1))?["revision"] == 2)
        // Update 2 left upstream's catalog, update 1 is held again: neither is remembered as purged.
        #expect(try purged() == [])
        #expect(try site.store.checkCatalog(keys: []).isValid)
    }

    /// A sync with trigger `purge` (and a top-level sync upstream answered "unchanged") purges without
    /// reading upstream; the line index stays good for the next delta.
    @Test func purgeOnlySync() async throws {
        let site = try harness(full: false)
        try await site.sync([line(1, expired: true), line(2), line(3)])
        let engine = SyncEngine(
            store: site.store, site: "CAS", stateDirectory: site.folder.path, httpClient: HTTPClient.shared)
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let early = site.now.addingTimeInterval(Self.day)
        var outcome = await engine.purge(id: "p1", config: site.config, logger: logger, now: { early })
        #expect(outcome.result == .noOp && outcome.catalogVersion == 1)
        let later = site.now.addingTimeInterval(11 * Self.day)
        outcome = await engine.purge(id: "p2", config: site.config, logger: logger, now: { later })
        #expect(outcome.result == .succeeded && outcome.counts.purged == 1 && outcome.catalogVersion == 2)
        #expect(try site.store.history(limit: 1).first?.trigger == "purge")
        await engine.flushIndex()
        site.now = later
        outcome = try await site.sync([line(1, expired: true), line(2, revision: 2), line(3), line(4)])
        #expect(outcome.counts.revised == 1 && outcome.counts.new == 1 && outcome.counts.changed == 2)
        #expect(outcome.knownLines == 2, "the line index of version 1 carried over the purge")
        #expect(try site.ids() == [guid(2), guid(3), guid(4)])

        var never = site.config
        never.sync.purgeExpiredAfter = nil
        outcome = await engine.purge(id: "p3", config: never, logger: logger, now: { later })
        #expect(outcome.result == .failed && outcome.error?.contains("purge-expired-after") == true)
    }

    /// A child mirrors the purge as removals of kind `purged`: the same rows and digest at the same
    /// version, its counts and its own change log saying purged (for the sites below it).
    @Test func childMirrorsThePurge() async throws {
        let top = try harness(full: false)
        try await top.sync([line(1, expired: true), line(2), line(3, supersedes: [2], expired: false)])
        let child = try SyncHarness()
        let feed = top.folder.appendingPathComponent("changes.feed").path
        func pull() async throws -> ChangeCounts {
            let since = try child.store.catalogVersion()
            _ = try ChangeFeed.write(store: top.store, site: "CAS", since: since, to: feed)
            let applier = ChangeApplier(path: feed, source: "parent CAS")
            return try await child.store.pool.write { db in try applier.apply(db, progress: SyncProgress()).0 }
        }
        _ = try await pull()
        top.now = top.now.addingTimeInterval(11 * Self.day)
        let outcome = try await top.sync([line(1, expired: true), line(2), line(3, supersedes: [2])])
        #expect(outcome.counts.purged == 2)
        let counts = try await pull()
        let stream = try String(contentsOfFile: feed, encoding: .utf8)
        #expect(stream.contains(#"{"removed":"\#(guid(1))","purged":true}"#))
        #expect(counts.purged == 2 && counts.removed == 0)
        #expect(try child.store.catalogVersion() == 2 && child.ids() == top.ids())
        #expect(try child.store.checkCatalog(keys: []).digest == top.store.checkCatalog(keys: []).digest)
        #expect(try child.changes(at: 2) == [guid(1): "purged", guid(2): "purged"])
    }

    /// History rows older than the retention go after a sync; the newest 100 stay whatever their age.
    @Test func historyRetentionKeepsTheNewestHundred() throws {
        let site = try SyncHarness()
        let old = Date(timeIntervalSince1970: 1_700_000_000)
        for index in 0..<150 {
            let at = old.addingTimeInterval(Double(index) * 3_600)
            try site.store.recordSyncStarted(id: "old-\(index)", site: "CAS", trigger: .schedule, at: at)
            try site.store.recordSyncFinished(
                id: "old-\(index)", result: .succeeded, counts: ChangeCounts(), error: nil, at: at)
        }
        // All 150 are past the cutoff: the newest 100 stay.
        var deleted = try site.store.trimHistory(before: Date(), keeping: 100)
        #expect(deleted == 50)
        #expect(try site.store.history(limit: 500).count == 100)
        #expect(try site.store.history(limit: 500).last?.syncID == "old-50")
        for index in 0..<20 {
            let at = Date().addingTimeInterval(Double(index))
            try site.store.recordSyncStarted(id: "new-\(index)", site: "CAS", trigger: .manual, at: at)
        }
        // A cutoff between the old and new rows: only old ones go, beyond the newest 100.
        deleted = try site.store.trimHistory(before: Date().addingTimeInterval(-60), keeping: 100)
        #expect(deleted == 20)
        let kept = try site.store.history(limit: 500)
        #expect(kept.count == 100 && kept.filter { $0.syncID.hasPrefix("new-") }.count == 20)
    }

    /// What makes a restarted top-level site run a sync again: the newest sync ended because the daemon
    /// stopped, by SIGTERM (rolled back) or by dying (recorded at the next start); not an older one.
    @Test func lastSyncWasInterrupted() throws {
        let site = try SyncHarness()
        let at = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(try !site.store.lastSyncWasInterrupted())
        try site.store.recordSyncStarted(id: "stopped", site: "CAS", trigger: .manual, at: at)
        try site.store.recordSyncFinished(
            id: "stopped", result: .failed, counts: ChangeCounts(),
            error: "interrupted: the daemon is stopping; nothing was applied", at: at)
        #expect(try site.store.lastSyncWasInterrupted())
        try site.store.recordSyncStarted(id: "next", site: "CAS", trigger: .retry, at: at.addingTimeInterval(60))
        try site.store.recordSyncFinished(
            id: "next", result: .failed, counts: ChangeCounts(), error: "HTTP 500", at: at.addingTimeInterval(61))
        #expect(try !site.store.lastSyncWasInterrupted())
        try site.store.recordSyncStarted(id: "died", site: "CAS", trigger: .schedule, at: at.addingTimeInterval(120))
        #expect(try !site.store.lastSyncWasInterrupted())
        #expect(try site.store.recoverInterruptedSyncs(at: at.addingTimeInterval(180)) == 1)
        #expect(try site.store.lastSyncWasInterrupted())
    }

    /// Incremental auto-vacuum: a new database has it, and the free pages a purge leaves go back to the
    /// file system step by step.
    @Test func purgedSpaceGoesBack() async throws {
        let site = try harness(full: false)
        let mode = try await site.store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") }
        #expect(mode == 2)
        let description = String(repeating: "x", count: 2_000)
        func big(_ n: Int, expired: Bool) -> String {
            line(n, expired: expired).replacingOccurrences(
                of: "\"expired\"", with: "\"description\":\"\(description)\",\"expired\"")
        }
        let catalog = (1...3_000).map { big($0, expired: $0 <= 2_000) }
        try await site.sync(catalog)
        await site.store.checkpointNow()
        site.now = site.now.addingTimeInterval(11 * Self.day)
        let outcome = try await site.sync(catalog)
        #expect(outcome.counts.purged == 2_000)
        try await site.store.truncateLog()
        let before = site.store.databaseBytes()
        let freed = try site.store.freePages()
        #expect(freed > 1_000, "a purge of 2,000 rows of 2 KB frees pages")
        // Small steps while a "sync" writes in the middle: its write waits for the step in progress only.
        let store = site.store
        let vacuum = Task { () -> (steps: Int, longest: Duration) in
            var steps = 0
            var longest = Duration.zero
            var free = freed
            while free > 0 {
                let started = ContinuousClock.now
                let left = (try? await store.vacuumStep(pages: 64)) ?? 0
                // A step that gives nothing back would loop for ever.
                guard left < free else { break }
                free = left
                longest = max(longest, ContinuousClock.now - started)
                steps += 1
                await Task.yield()
            }
            return (steps, longest)
        }
        try await Task.sleep(for: .milliseconds(20))
        let asked = ContinuousClock.now
        try await store.pool.write { db in try db.execute(sql: "UPDATE site_state SET sync_counter = sync_counter + 1")
        }
        let waited = ContinuousClock.now - asked
        let (steps, longest) = await vacuum.value
        #expect(steps >= 10)
        #expect(
            waited <= longest + .milliseconds(50), "a write during the vacuum waited \(waited); longest step \(longest)"
        )
        try await site.store.truncateLog()
        let after = site.store.databaseBytes()
        #expect(after < before / 2, "\(before) → \(after) bytes")
        #expect(try site.store.integrityCheck() == "ok")
        #expect(try site.store.checkCatalog(keys: []).isValid)
    }
}
