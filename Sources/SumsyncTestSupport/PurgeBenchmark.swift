import Foundation
import Logging
import SumsyncModel
import SumsyncStore

/// `sumsync-bench purge-cost`: a first sync, deltas, the purge of the oldest `purged` updates, and the same
/// deltas after it, through the store's own code (digest triggers and all), in one fresh database.
public enum PurgeBenchmark {
    public struct Result: Sendable {
        public var firstSync: Double
        public var before: [Double]
        public var purge: Double
        public var purged: Int
        public var after: [Double]
    }

    /// Seconds of each step. The `purged` updates released first are expired (by one transaction that
    /// keeps the digest, like a sync's expiry, not timed) a day before the purge.
    public static func run(catalog: String, changed: String, folder: String, purged: Int, deltas: Int) async throws
        -> Result
    {
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try SiteStore(path: folder + "/site.sqlite")
        let cache = CatalogIndexCache(stateDirectory: folder)
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let filter = UpdateFilter()
        func sync(_ path: String) async throws -> Double {
            try await timed {
                _ = try await store.applyCatalog(
                    at: path, name: path, filter: filter, expiryCutoff: 0, skipInvalid: false,
                    validators: (nil, nil), syncID: UUID().uuidString, full: false, indexCache: cache,
                    progress: SyncProgress(), logger: logger, now: { Date() }, defaultSource: "catalog",
                    purgeCutoff: 0)
            }
        }
        func deltaRounds() async throws -> [Double] {
            var times: [Double] = []
            for round in 0..<deltas { times.append(try await sync(round % 2 == 0 ? changed : catalog)) }
            // Back at `catalog` for what follows.
            if deltas % 2 == 1 { _ = try await sync(catalog) }
            return times
        }
        let first = try await sync(catalog)
        await store.checkpointNow()
        let before = try await deltaRounds()
        let now = Int64(Date().timeIntervalSince1970)
        try await store.expireOldestForBenchmark(purged, at: now - 86_400)
        await store.checkpointNow()
        var outcome = SyncOutcome(result: .failed, catalogVersion: 0)
        let purge = try await timed {
            outcome = try await store.purgeExpired(
                cutoff: now - 3_600, expiryCutoff: 0, filter: filter, indexCache: cache, now: { Date() })
        }
        await store.checkpointNow()
        let after = try await deltaRounds()
        return Result(firstSync: first, before: before, purge: purge, purged: outcome.counts.purged, after: after)
    }

    private static func timed(_ work: () async throws -> Void) async throws -> Double {
        let started = ContinuousClock.now
        try await work()
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
