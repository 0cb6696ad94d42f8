import Foundation
import GRDB
import SumsyncFormats
import SumsyncModel

/// `[sync] purge-expired-after` at the top-level site: updates expired longer than the span are deleted
/// at the end of a sync, inside its transaction, and reach the sites below as removals (change kind
/// `purged`), so every site holds the same rows at the same catalog version.
///
/// Each update's `expired_at` is the end of the top's sync that first saw it expired (``stamp(_:now:)``;
/// updates an earlier release expired are stamped by the first sync after the upgrade, so they stay a
/// full span more). A purged update's id and revision go to `purged`: upstream still lists it, and an
/// unchanged record of it must not come back as new. A higher revision does: it is new again
/// (``returning(_:revision:)``). Both through the partial index `updates_expired_at`, which holds only
/// expired rows, so the cost follows what is expired, not the catalog's size.
package enum Purge {
    /// The condition on `updates` of what a purge at `cutoff` (`?1`) deletes: expired strictly before it.
    static let due = "expired = 1 AND expired_at < ?1"

    /// Stamps `expired_at` on expired updates that have none yet (this sync's expiries).
    static func stamp(_ db: Database, now: Int64) throws {
        try db.execute(
            sql:
                "UPDATE updates INDEXED BY updates_expired_at SET expired_at = ? WHERE expired = 1 AND expired_at IS NULL",
            arguments: [now])
    }

    /// Deletes the updates expired before `cutoff` (epoch seconds): marked `purged`, kept in `purged` with
    /// their revision, and listed for supersedence (``Supersedence/update(_:)`` or a rebuild must follow,
    /// after ``Supersedence/beginTouching(_:)``). Returns how many.
    @discardableResult
    static func run(_ db: Database, cutoff: Int64, now: Int64) throws -> Int {
        let arguments: StatementArguments = [cutoff, now]
        try db.execute(
            sql: """
                INSERT INTO temp.changes_pending (update_id, kind)
                    SELECT id, 'purged' FROM updates INDEXED BY updates_expired_at WHERE \(due)
                \(ChangeLog.keepHigherPrecedence)
                """,
            arguments: [cutoff])
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO purged (id, revision, purged_at)
                    SELECT id, revision, ?2 FROM updates INDEXED BY updates_expired_at WHERE \(due)
                """,
            arguments: arguments)
        // What `Supersedence.Tracker.removed` records for each: its pairs go, and the ids they pointed
        // to are looked at again.
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO temp.touched (id)
                    SELECT id FROM updates INDEXED BY updates_expired_at WHERE \(due) AND supersedes IS NOT NULL
                """,
            arguments: [cutoff])
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO temp.unpaired (target, by_id)
                    SELECT j.value, u.id FROM updates u INDEXED BY updates_expired_at, json_each(u.supersedes) j
                    WHERE u.expired = 1 AND u.expired_at < ?1 AND u.supersedes IS NOT NULL AND j.value != u.id
                """,
            arguments: [cutoff])
        try db.execute(sql: "DELETE FROM updates INDEXED BY updates_expired_at WHERE \(due)", arguments: [cutoff])
        return db.changesCount
    }

    /// What a purge at `cutoff` would delete, per product and classification, most first.
    static func preview(_ db: Database, cutoff: Int64) throws -> [PurgePreview.Group] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT product, classification, count(*) FROM updates INDEXED BY updates_expired_at WHERE \(due)
                GROUP BY product, classification ORDER BY 3 DESC, 1, 2
                """,
            arguments: [cutoff]
        ).map { PurgePreview.Group(product: $0[0], classification: $0[1], updates: $0[2]) }
    }

    /// Checks a record of an id the site does not hold against `purged`.
    struct Returning {
        private let lookup: RawStatement
        private let delete: RawStatement

        init(_ db: Database) throws {
            lookup = try RawStatement(db, sql: "SELECT revision FROM purged WHERE id = ?1")
            delete = try RawStatement(db, sql: "DELETE FROM purged WHERE id = ?1")
        }

        /// Whether upstream's record of `id` at `revision` stays purged (its revision is not higher than
        /// the purged one's). A higher revision is new again: `id` leaves `purged`.
        func staysPurged(_ id: String, revision: Int) throws -> Bool {
            lookup.bind(1, id)
            guard try lookup.step() else {
                lookup.reset()
                return false
            }
            let purgedRevision = Int(lookup.int64(0))
            lookup.reset()
            if revision <= purgedRevision { return true }
            try forget(id)
            return false
        }

        /// Upstream no longer lists `id`: nothing more to remember of it.
        func forget(_ id: String) throws {
            delete.bind(1, id)
            try delete.run()
        }
    }
}

/// What the next purge would delete (`sumsyncctl purge --dry-run`).
public struct PurgePreview: Sendable, Codable, Equatable {
    /// Updates of one product and classification.
    public struct Group: Sendable, Codable, Equatable {
        public var product: String
        public var classification: String
        public var updates: Int
    }

    /// The moment an update must have expired before to be purged (RFC 3339).
    public var expiredBefore: String
    public var groups: [Group]
    /// Expired updates held that the next purge leaves (expired more recently, or not yet stamped).
    public var expiredKept: Int

    /// Updates the purge would delete.
    public var total: Int { groups.reduce(0) { $0 + $1.updates } }

    enum CodingKeys: String, CodingKey {
        case expiredBefore = "expired_before"
        case groups
        case expiredKept = "expired_kept"
        case total
    }

    public init(expiredBefore: String, groups: [Group], expiredKept: Int) {
        self.expiredBefore = expiredBefore
        self.groups = groups
        self.expiredKept = expiredKept
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        expiredBefore = try container.decode(String.self, forKey: .expiredBefore)
        groups = try container.decode([Group].self, forKey: .groups)
        expiredKept = try container.decode(Int.self, forKey: .expiredKept)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(expiredBefore, forKey: .expiredBefore)
        try container.encode(total, forKey: .total)
        try container.encode(groups, forKey: .groups)
        try container.encode(expiredKept, forKey: .expiredKept)
    }
}

extension SiteStore {
    /// A sync that only purges (trigger `purge`, or a top-level sync that upstream answered with
    /// "unchanged"): deletes the updates expired before `cutoff`, with the time-based supersedence expiry
    /// at `expiryCutoff` brought up to date too, in one transaction; the catalog version moves on when
    /// anything changed. `filter` and `indexCache`: the line index of the last catalog stays good (it
    /// describes upstream's lines, which did not change) and is carried to the new version.
    package func purgeExpired(
        cutoff: Int64, expiryCutoff: Int64, filter: UpdateFilter, indexCache: CatalogIndexCache,
        now: @Sendable () -> Date
    ) async throws(SyncError) -> SyncOutcome {
        let trust = catalogTrust
        do {
            let (outcome, index) = try await pool.write { db throws -> (SyncOutcome, CatalogIndex?) in
                try ChangeLog.begin(db)
                let state = try Row.fetchOne(
                    db, sql: "SELECT sync_counter, catalog_version FROM site_state WHERE id = 1")!
                var index = indexCache.take(
                    matching: CatalogIndex.Stamp(
                        syncCounter: state[0], catalogVersion: state[1], filter: CatalogIndex.Stamp.filterHash(filter)))
                var succeeded = false
                defer { if !succeeded, let index { indexCache.putBack(index) } }
                let epoch = Int64(now().timeIntervalSince1970)
                try Supersedence.beginTouching(db)
                try Purge.run(db, cutoff: cutoff, now: epoch)
                try Supersedence.update(db)
                try Supersedence.expire(db, cutoff: expiryCutoff)
                try Purge.stamp(db, now: epoch)
                let counts = try ChangeLog.pendingCounts(db)
                let (version, _) = try ChangeLog.commit(db, counts: counts)
                try CatalogState.seal(db, trust: trust, now: now())
                index?.stamp.catalogVersion = Int64(version)
                succeeded = true
                return (SyncOutcome(result: .succeeded, counts: counts, catalogVersion: version), index)
            }
            if let index { indexCache.store(index) }
            return outcome
        } catch let error as SyncError {
            throw error
        } catch {
            throw SyncError("the site database refused the purge: \(error); nothing was applied")
        }
    }

    /// Whether a purge at `cutoff` would delete anything (cheap: the first due row of the expiry index).
    package func purgeIsDue(cutoff: Int64) throws -> Bool {
        try pool.read { db in
            try Bool.fetchOne(
                db,
                sql: "SELECT EXISTS (SELECT 1 FROM updates INDEXED BY updates_expired_at WHERE \(Purge.due))",
                arguments: [cutoff]) ?? false
        }
    }

    /// What a purge of the updates expired before `cutoff` would delete.
    public func purgePreview(cutoff: Date) throws -> PurgePreview {
        try pool.read { db in
            let epoch = Int64(cutoff.timeIntervalSince1970.rounded(.down))
            let groups = try Purge.preview(db, cutoff: epoch)
            let held = try Self.expiredHeld(db)
            return PurgePreview(
                expiredBefore: RFC3339.format(cutoff), groups: groups,
                expiredKept: held - groups.reduce(0) { $0 + $1.updates })
        }
    }

    /// Expired updates the site holds (through the expiry index, not the table).
    public func expiredHeld() throws -> Int {
        try pool.read { db in try Self.expiredHeld(db) }
    }

    static func expiredHeld(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM updates INDEXED BY updates_expired_at WHERE expired = 1") ?? 0
    }

    /// Bytes the site database takes on disk: the file and its write-ahead log.
    public func databaseBytes() -> Int64 {
        [path, path + "-wal"].reduce(Int64(0)) { total, file in
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value
            return total + (size ?? 0)
        }
    }

    /// Deletes history rows that started before `cutoff`, keeping the newest `kept` rows whatever their
    /// age. Returns how many went.
    @discardableResult
    package func trimHistory(before cutoff: Date, keeping kept: Int) throws -> Int {
        try pool.write { db in
            try db.execute(
                sql: """
                    DELETE FROM sync_history WHERE started < ?
                        AND rowid NOT IN (SELECT rowid FROM sync_history ORDER BY started DESC, rowid DESC LIMIT ?)
                    """,
                arguments: [RFC3339.format(cutoff), kept])
            return db.changesCount
        }
    }

    /// Free pages in the file (what incremental vacuum can give back).
    package func freePages() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0 }
    }

    /// Gives up to `pages` free pages back to the file system (one short write of its own; never call
    /// it inside a sync). Returns the free pages left.
    package func vacuumStep(pages: Int) async throws -> Int {
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA incremental_vacuum(\(max(1, pages)))")
            return try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
        }
    }

    /// Copies the log back into the file and cuts it to nothing (after the last vacuum step, so the log
    /// does not keep the space the file gave back). Throws when it could not (a reader or writer held on
    /// for longer than the busy timeout); the file keeps its size until a later checkpoint.
    package func truncateLog() async throws {
        guard let checkpointer = checkpointerConnection else { return }
        try await checkpointer.writeWithoutTransaction { db in
            let (log, copied) = try db.checkpoint(.truncate)
            if log > 0 && copied < log {
                throw StoreError(
                    .open, path: path,
                    message: "the checkpoint copied \(copied) of \(log) log frames; readers still held on")
            }
        }
    }
}

extension SiteStore {
    /// Expires the `count` unexpired updates released first, with `expired_at` = `epoch` (and stamps
    /// any expired one without a stamp), in one transaction that keeps the state digest as a sync's does,
    /// without a new catalog version: `sumsync-bench purge-cost` only, to set up a state no upstream sync
    /// makes quickly.
    package func expireOldestForBenchmark(_ count: Int, at epoch: Int64) async throws {
        try await pool.write { db in
            try ChangeLog.begin(db)
            try db.execute(
                sql: """
                    UPDATE updates SET expired = 1, expired_at = ?
                    WHERE rowid IN (SELECT rowid FROM updates WHERE expired = 0 ORDER BY released_epoch, id LIMIT ?)
                    """,
                arguments: [epoch, count])
            try Purge.stamp(db, now: epoch)
            try CatalogState.fold(db)
            try db.execute(sql: "DROP TABLE IF EXISTS temp.changes_pending")
        }
    }
}
