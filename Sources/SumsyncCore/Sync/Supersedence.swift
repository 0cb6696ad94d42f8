import GRDB

/// Who supersedes whom, and the expiry that follows, kept up to date inside a sync's transaction.
///
/// The `supersessions` table holds one row per (superseded id, superseding update) pair taken from the
/// stored updates' `supersedes` lists. An update is superseded by the superseding update released first
/// (ties by id). A sync lists the updates it wrote or removed in `temp.touched`; ``update(_:)`` then
/// replaces only their pairs and recomputes only the ids those pairs point to, so a delta costs its
/// changes rather than the catalog's size. A first sync or a full snapshot uses ``rebuild(_:expiryCutoff:firstSync:)``.
enum Supersedence {
    /// Starts this transaction's list of touched updates.
    static func beginTouching(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP TABLE IF EXISTS temp.touched;
                CREATE TEMP TABLE touched (id TEXT PRIMARY KEY) WITHOUT ROWID;
                """
        )
    }

    /// `INSERT` of one id into the touched list.
    static func touchStatement(_ db: Database) throws -> Statement {
        try db.makeStatement(sql: "INSERT OR IGNORE INTO temp.touched (id) VALUES (?)")
    }

    /// Recomputes every pair and every update's `superseded_by`. `expiryCutoff`: also expire (at the top
    /// site) updates superseded by one released at or before it, in the same pass. `firstSync`: the
    /// updates were all just inserted, so none had a supersedence to clear, and none is marked (a first
    /// sync writes no change-log rows); otherwise changed updates are marked `superseded` / `revised`.
    static func rebuild(_ db: Database, expiryCutoff: Int64?, firstSync: Bool) throws {
        // The secondary index is built once after the bulk insert: cheaper than maintaining it row by row.
        try db.execute(
            sql: """
                DROP INDEX IF EXISTS supersessions_by;
                DELETE FROM supersessions;
                INSERT INTO supersessions (target, by_id, by_released)
                    SELECT j.value, u.id, u.released_epoch
                    FROM updates u, json_each(u.supersedes) j
                    WHERE u.supersedes IS NOT NULL AND j.value != u.id
                    ORDER BY 1, 2
                    ON CONFLICT DO NOTHING;
                CREATE INDEX supersessions_by ON supersessions (by_id);
                DROP TABLE IF EXISTS temp.best;
                CREATE TEMP TABLE best (target TEXT PRIMARY KEY, by_id TEXT NOT NULL, by_released INTEGER NOT NULL)
                    WITHOUT ROWID;
                INSERT INTO best (target, by_id, by_released)
                    SELECT target, by_id, by_released FROM (
                        SELECT target, by_id, by_released,
                            row_number() OVER (PARTITION BY target ORDER BY by_released, by_id) AS n
                        FROM supersessions)
                    WHERE n = 1;
                """
        )
        try applyBest(db, expiryCutoff: expiryCutoff, marks: !firstSync)
        if !firstSync {
            try db.execute(
                sql: """
                    UPDATE updates SET superseded_by = NULL, superseded_released = NULL\(clearMark)
                    WHERE superseded_by IS NOT NULL AND id NOT IN (SELECT target FROM temp.best)
                    """
            )
        }
        try db.execute(sql: "DROP TABLE temp.best")
    }

    /// Replaces the pairs of the updates in `temp.touched` (written or removed in this sync) and
    /// recomputes `superseded_by` for every id whose pairs changed, and for the touched updates
    /// themselves (a new update may be one that others already supersede).
    static func update(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP TABLE IF EXISTS temp.affected;
                CREATE TEMP TABLE affected (id TEXT PRIMARY KEY) WITHOUT ROWID;
                INSERT OR IGNORE INTO affected (id)
                    SELECT s.target FROM temp.touched t JOIN supersessions s ON s.by_id = t.id;
                DELETE FROM supersessions WHERE by_id IN (SELECT id FROM temp.touched);
                INSERT INTO supersessions (target, by_id, by_released)
                    SELECT j.value, u.id, u.released_epoch
                    FROM temp.touched t JOIN updates u ON u.id = t.id, json_each(u.supersedes) j
                    WHERE u.supersedes IS NOT NULL AND j.value != u.id
                    ON CONFLICT DO NOTHING;
                INSERT OR IGNORE INTO affected (id)
                    SELECT j.value FROM temp.touched t JOIN updates u ON u.id = t.id, json_each(u.supersedes) j
                    WHERE u.supersedes IS NOT NULL;
                INSERT OR IGNORE INTO affected (id) SELECT id FROM temp.touched;
                DROP TABLE IF EXISTS temp.best;
                CREATE TEMP TABLE best (target TEXT PRIMARY KEY, by_id TEXT NOT NULL, by_released INTEGER NOT NULL)
                    WITHOUT ROWID;
                INSERT INTO best (target, by_id, by_released)
                    SELECT target, by_id, by_released FROM (
                        SELECT s.target, s.by_id, s.by_released,
                            row_number() OVER (PARTITION BY s.target ORDER BY s.by_released, s.by_id) AS n
                        FROM temp.affected a JOIN supersessions s ON s.target = a.id)
                    WHERE n = 1;
                """
        )
        try applyBest(db, expiryCutoff: nil, marks: true)
        try db.execute(
            sql: """
                UPDATE updates SET superseded_by = NULL, superseded_released = NULL\(clearMark)
                WHERE id IN (SELECT id FROM temp.affected) AND superseded_by IS NOT NULL
                    AND id NOT IN (SELECT target FROM temp.best);
                DROP TABLE temp.best;
                DROP TABLE temp.affected;
                DROP TABLE temp.touched;
                """
        )
    }

    /// Expires (at the top site) what upstream withdrew and what was superseded long enough: updates
    /// superseded by one released at or before `cutoff`. Both through partial indexes that hold only
    /// unexpired candidates, so the cost follows what can expire, not the catalog's size.
    static func expire(_ db: Database, cutoff: Int64) throws {
        try db.execute(
            sql: """
                UPDATE updates INDEXED BY updates_upstream_expiry
                SET expired = 1, pending_kind = CASE WHEN pending_kind = 'new' THEN 'new' ELSE 'expired' END
                WHERE expired = 0 AND upstream_expired = 1;
                UPDATE updates INDEXED BY updates_supersession_expiry
                SET expired = 1, pending_kind = CASE WHEN pending_kind = 'new' THEN 'new' ELSE 'expired' END
                WHERE expired = 0 AND superseded_by IS NOT NULL AND superseded_released <= ?;
                """,
            arguments: [cutoff]
        )
    }

    /// A cleared supersedence is a change to the update: mark it `revised` unless it has a mark already.
    private static let clearMark = ", pending_kind = CASE WHEN pending_kind IS NULL THEN 'revised' ELSE pending_kind END"

    /// Sets `superseded_by` from `temp.best` where it differs.
    private static func applyBest(_ db: Database, expiryCutoff: Int64?, marks: Bool) throws {
        var assignments = ["superseded_by = b.by_id", "superseded_released = b.by_released"]
        if marks {
            assignments.append(
                """
                pending_kind = CASE WHEN updates.pending_kind IS NULL AND updates.superseded_by IS NOT b.by_id
                    THEN 'superseded' ELSE updates.pending_kind END
                """)
        }
        if let expiryCutoff {
            assignments.append("expired = CASE WHEN b.by_released <= \(expiryCutoff) THEN 1 ELSE updates.expired END")
        }
        try db.execute(
            sql: """
                UPDATE updates SET \(assignments.joined(separator: ", "))
                FROM temp.best b
                WHERE updates.id = b.target
                    AND (updates.superseded_by IS NOT b.by_id OR updates.superseded_released IS NOT b.by_released)
                """
        )
    }
}
