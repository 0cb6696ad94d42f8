import Foundation
import GRDB
import Logging
import SumsyncFormats
import SumsyncModel

/// One row of `sync_history`, as `sumsyncctl history --json` prints it.
public struct SyncHistoryEntry: Sendable, Codable, Equatable, FetchableRecord {
    public var syncID: String
    public var site: String
    public var trigger: String
    public var started: String
    public var finished: String?
    public var result: String
    public var catalogVersion: Int
    public var new: Int
    public var revised: Int
    public var expired: Int
    public var superseded: Int
    public var removed: Int
    /// Expired updates purged (`[sync] purge-expired-after`); 0 in rows from before it.
    public var purged: Int
    public var unchanged: Int
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case syncID = "sync_id"
        case site, trigger, started, finished, result
        case catalogVersion = "catalog_version"
        case new, revised, expired, superseded, removed, purged, unchanged, error
    }

    public init(row: Row) throws {
        syncID = row["sync_id"]
        site = row["site"]
        trigger = row["trigger"]
        started = row["started"]
        finished = row["finished"]
        result = row["result"]
        catalogVersion = row["catalog_version"]
        new = row["new"]
        revised = row["revised"]
        expired = row["expired"]
        superseded = row["superseded"]
        removed = row["removed"]
        purged = row["purged"]
        unchanged = row["unchanged"]
        error = row["error"]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(syncID, forKey: .syncID)
        try container.encode(site, forKey: .site)
        try container.encode(trigger, forKey: .trigger)
        try container.encode(started, forKey: .started)
        try container.encode(finished, forKey: .finished)
        try container.encode(result, forKey: .result)
        try container.encode(catalogVersion, forKey: .catalogVersion)
        try container.encode(new, forKey: .new)
        try container.encode(revised, forKey: .revised)
        try container.encode(expired, forKey: .expired)
        try container.encode(superseded, forKey: .superseded)
        try container.encode(removed, forKey: .removed)
        try container.encode(purged, forKey: .purged)
        try container.encode(unchanged, forKey: .unchanged)
        try container.encode(error, forKey: .error)
    }
}

extension SiteStore {
    /// Runs one sync of any kind (catalog, parent pull, import) inside its history row: recorded as
    /// started, then finished with `work`'s outcome. `work` throwing is a failed sync at the version the
    /// site had. Never throws: a sync that cannot even be recorded is a failed outcome.
    package func recordingHistory(
        id: String, site: SiteCode, trigger: SyncTrigger, logger: Logger, now: @Sendable () -> Date = Date.init,
        _ work: () async throws(SyncError) -> SyncOutcome
    ) async -> SyncOutcome {
        let before = (try? catalogVersion()) ?? 0
        let began = ContinuousClock.now
        do {
            try recordSyncStarted(id: id, site: site, trigger: trigger, at: now())
        } catch {
            return SyncOutcome(result: .failed, catalogVersion: before, error: "cannot record the sync: \(error)")
        }
        var outcome: SyncOutcome
        do {
            outcome = try await work()
        } catch {
            outcome = SyncOutcome(result: .failed, catalogVersion: before, error: error.message)
        }
        do {
            try recordSyncFinished(
                id: id, result: outcome.result, counts: outcome.counts, error: outcome.error, at: now(), began: began)
        } catch {
            logger.error("Cannot record the end of sync \(id): \(error)")
        }
        return outcome
    }

    /// Records that a sync started (its own small transaction, so it survives the sync's rollback).
    package func recordSyncStarted(id: String, site: SiteCode, trigger: SyncTrigger, at date: Date) throws {
        try pool.write { db in
            let version = try Int.fetchOne(db, sql: "SELECT catalog_version FROM site_state WHERE id = 1") ?? 0
            try db.execute(
                sql: """
                    INSERT INTO sync_history (sync_id, site, trigger, started, result, catalog_version)
                    VALUES (?, ?, ?, ?, 'running', ?)
                    """,
                arguments: [id, site.rawValue, trigger.rawValue, RFC3339.format(date), version]
            )
        }
    }

    /// Records how a sync ended.
    package func recordSyncFinished(
        id: String, result: SyncResult, counts: ChangeCounts, error: String?, at date: Date,
        began: ContinuousClock.Instant? = nil
    ) throws {
        let duration = began.map { ContinuousClock.now - $0 }
        let milliseconds = duration.map {
            $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000
        }
        try pool.write { db in
            let version = try Int.fetchOne(db, sql: "SELECT catalog_version FROM site_state WHERE id = 1") ?? 0
            try db.execute(
                sql: """
                    UPDATE sync_history SET finished = ?, result = ?, catalog_version = ?, new = ?, revised = ?,
                        expired = ?, superseded = ?, removed = ?, purged = ?, unchanged = ?, error = ?, finished_epoch_ms = ?,
                        duration_ms = ?
                    WHERE sync_id = ?
                    """,
                arguments: [
                    RFC3339.format(date), result.rawValue, version, counts.new, counts.revised, counts.expired,
                    counts.superseded, counts.removed, counts.purged, counts.unchanged, error,
                    Int64(date.timeIntervalSince1970 * 1000), milliseconds, id,
                ]
            )
        }
    }

    /// Marks syncs left `running` by a daemon that died (kill -9, power loss) as failed.
    public func recoverInterruptedSyncs(at date: Date) throws -> Int {
        try pool.write { db in
            try db.execute(
                sql: """
                    UPDATE sync_history SET result = 'failed', finished = ?,
                        error = 'interrupted: the daemon stopped during this sync; nothing of it was applied'
                    WHERE result = 'running'
                    """,
                arguments: [RFC3339.format(date)]
            )
            return db.changesCount
        }
    }

    /// Whether the newest sync ended because the daemon stopped (`SIGTERM` rolled it back, or the process died
    /// and ``recoverInterruptedSyncs(at:)`` recorded it): its error starts with `interrupted:`.
    public func lastSyncWasInterrupted() throws -> Bool {
        try pool.read { db in
            let error = try String.fetchOne(
                db, sql: "SELECT error FROM sync_history ORDER BY started DESC, rowid DESC LIMIT 1")
            return error?.hasPrefix("interrupted:") ?? false
        }
    }

    /// The newest syncs first.
    public func history(limit: Int) throws -> [SyncHistoryEntry] {
        try pool.read { db in
            try SyncHistoryEntry.fetchAll(
                db, sql: "SELECT * FROM sync_history ORDER BY started DESC, rowid DESC LIMIT ?", arguments: [limit]
            )
        }
    }
}
