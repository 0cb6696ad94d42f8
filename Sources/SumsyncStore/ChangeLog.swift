import Foundation
import GRDB
import SumsyncModel

/// The per-version record of what changed, which child sites pull (`GET /v1/changes?since=V`).
///
/// During a sync, each changed update gets one mark in the temporary table `changes_pending` (its
/// change kind; a later mark of higher precedence — new, removed or purged, expired, superseded, revised — replaces
/// an earlier one); ``commit(_:counts:version:logged:)`` turns the marks into change-log rows at the next
/// catalog version, in the same transaction. The marks never touch the `updates` rows themselves, so a
/// changed update is written once, not marked and unmarked.
package enum ChangeLog {
    /// How many versions of changes are kept; a child further behind does a full resync.
    static let retainedVersions = 1_000

    /// Prepares the temporary table of marks; call at the start of a sync's transaction.
    package static func begin(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP TABLE IF EXISTS temp.changes_pending;
                CREATE TEMP TABLE changes_pending (update_id TEXT PRIMARY KEY, kind TEXT NOT NULL) WITHOUT ROWID;
                """
        )
        try CatalogState.begin(db)
    }

    /// The `ON CONFLICT` clause that keeps the mark of higher precedence (for `INSERT INTO
    /// changes_pending`).
    static let keepHigherPrecedence = """
        ON CONFLICT(update_id) DO UPDATE SET kind = CASE WHEN \(rank("excluded.kind")) < \(rank("changes_pending.kind"))
            THEN excluded.kind ELSE changes_pending.kind END
        """

    private static func rank(_ expression: String) -> String {
        "(CASE \(expression) WHEN 'new' THEN 0 WHEN 'removed' THEN 1 WHEN 'purged' THEN 1 WHEN 'expired' THEN 2 WHEN 'superseded' THEN 3 ELSE 4 END)"
    }

    /// Marks updates one at a time: ``Marker/mark(_:_:)``.
    struct Marker {
        private let statement: RawStatement

        init(_ db: Database) throws {
            statement = try RawStatement(
                db, sql: "INSERT INTO temp.changes_pending (update_id, kind) VALUES (?1, ?2) \(keepHigherPrecedence)")
        }

        /// Marks `id` with `kind` (a mark of higher precedence already there stays).
        func mark(_ id: String, _ kind: ChangeKind) throws {
            statement.bind(1, id)
            statement.bind(2, kind.rawValue)
            try statement.run()
        }
    }

    /// This sync's counts per change kind, from the marks; `unchanged` is every other update held.
    static func pendingCounts(_ db: Database) throws -> ChangeCounts {
        var counts = ChangeCounts()
        for row in try Row.fetchAll(db, sql: "SELECT kind, count(*) FROM temp.changes_pending GROUP BY kind") {
            let count: Int = row[1]
            switch ChangeKind(rawValue: row[0]) {
            case .new: counts.new = count
            case .revised: counts.revised = count
            case .expired: counts.expired = count
            case .superseded: counts.superseded = count
            case .removed: counts.removed = count
            case .purged: counts.purged = count
            case .none: break
            }
        }
        // The stored count before this sync, kept in site_state: counting the table would read all of it.
        let before = try Int.fetchOne(db, sql: "SELECT update_count FROM site_state WHERE id = 1") ?? 0
        let total = before + counts.new - counts.removed - counts.purged
        counts.unchanged = total - (counts.new + counts.revised + counts.expired + counts.superseded)
        return counts
    }

    /// Adds the sync's changes to the state digest (``CatalogState``), bumps the catalog version when
    /// anything changed and writes the change rows at it; returns the
    /// site's catalog version afterwards. `version` forces the new version (a child takes its parent's).
    /// `counts` are the sync's counts; their total is the number of updates the site now holds.
    /// `logged: false` (a first sync, or a child's first full snapshot, which mark no rows): the log
    /// starts at the new version, so a child further behind resyncs from the full snapshot.
    @discardableResult
    package static func commit(
        _ db: Database, counts: ChangeCounts, version forced: Int? = nil, logged: Bool = true
    ) throws -> (version: Int, changed: Bool) {
        try db.execute(sql: "UPDATE site_state SET update_count = ? WHERE id = 1", arguments: [counts.held])
        try CatalogState.fold(db)
        let current = try Int.fetchOne(db, sql: "SELECT catalog_version FROM site_state WHERE id = 1") ?? 0
        let marked = try Int.fetchOne(db, sql: "SELECT count(*) FROM temp.changes_pending") ?? 0
        defer { try? db.execute(sql: "DROP TABLE IF EXISTS temp.changes_pending") }
        guard marked > 0 || (forced != nil && forced! != current) else { return (current, false) }
        let next = forced ?? current + 1
        try db.execute(
            sql:
                "INSERT OR REPLACE INTO changes (version, update_id, kind) SELECT ?, update_id, kind FROM temp.changes_pending",
            arguments: [next]
        )
        let floor = logged ? max(0, next - retainedVersions) : next
        try db.execute(sql: "DELETE FROM changes WHERE version <= ?", arguments: [floor])
        try db.execute(
            sql: "UPDATE site_state SET catalog_version = ?, change_log_floor = max(change_log_floor, ?) WHERE id = 1",
            arguments: [next, floor]
        )
        return (next, true)
    }
}
