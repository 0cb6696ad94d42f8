import GRDB

/// Who supersedes whom, and the expiry that follows, kept up to date inside a sync's transaction.
///
/// The `supersessions` table holds one row per (superseded id, superseding update) pair taken from the
/// stored updates' `supersedes` lists. An update is superseded by the superseding update released first
/// (ties by id). A sync lists the updates it wrote or removed in `temp.touched`, with the pairs their
/// stored lists made in `temp.unpaired`; ``update(_:)`` then replaces only those pairs and recomputes
/// only the ids they point to, so a delta costs its changes rather than the catalog's size (joins are
/// written `CROSS JOIN` so SQLite walks the small temporary list and looks up the big tables, never the
/// other way round). Pairs are found by their key only: no second index on the superseding id to keep
/// up. A first sync, a full snapshot, or a sync that knows nothing of what was stored uses
/// ``rebuild(_:expiryCutoff:firstSync:)``.
package enum Supersedence {
    /// Starts this transaction's lists: `temp.touched` (updates whose pairs must be replaced: written
    /// with another `supersedes` list or release time, or removed with a list), `temp.unpaired` (the
    /// pairs their stored lists made) and `temp.fresh` (new updates, which others may supersede already).
    static func beginTouching(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP TABLE IF EXISTS temp.touched;
                CREATE TEMP TABLE touched (id TEXT PRIMARY KEY) WITHOUT ROWID;
                DROP TABLE IF EXISTS temp.unpaired;
                CREATE TEMP TABLE unpaired (target TEXT NOT NULL, by_id TEXT NOT NULL, PRIMARY KEY (target, by_id))
                    WITHOUT ROWID;
                DROP TABLE IF EXISTS temp.fresh;
                CREATE TEMP TABLE fresh (id TEXT PRIMARY KEY) WITHOUT ROWID;
                """
        )
    }

    /// Records, as a sync writes, what each written or removed update means for supersedence.
    struct Tracker {
        private let touchStatement: RawStatement
        private let unpairStatement: RawStatement
        private let freshStatement: RawStatement

        init(_ db: Database) throws {
            touchStatement = try RawStatement(db, sql: "INSERT OR IGNORE INTO temp.touched (id) VALUES (?1)")
            unpairStatement = try RawStatement(
                db,
                sql:
                    "INSERT OR IGNORE INTO temp.unpaired (target, by_id) SELECT value, ?1 FROM json_each(?2) WHERE value != ?1"
            )
            freshStatement = try RawStatement(db, sql: "INSERT OR IGNORE INTO temp.fresh (id) VALUES (?1)")
        }

        /// `id`'s pairs are replaced; `stored` is the list they were made from (nil: it had none).
        private func touch(_ id: String, stored: String?) throws {
            touchStatement.bind(1, id)
            try touchStatement.run()
            if let stored {
                unpairStatement.bind(1, id)
                unpairStatement.bind(2, stored)
                try unpairStatement.run()
            }
        }

        /// An update was written: `before` is what was stored (nil: it is new), `after` what is now.
        func wrote(_ id: String, before: Stored?, after: Stored) throws {
            guard let before else {
                freshStatement.bind(1, id)
                try freshStatement.run()
                if after.supersedes != nil { try touch(id, stored: nil) }
                return
            }
            if before.supersedes != after.supersedes
                || (after.supersedes != nil && before.releasedEpoch != after.releasedEpoch)
            {
                try touch(id, stored: before.supersedes)
            }
        }

        /// An update was removed (`supersedes`: its stored list); its pairs go if it had a list.
        func removed(_ id: String, supersedes: String?) throws {
            if supersedes != nil { try touch(id, stored: supersedes) }
        }
    }

    /// What supersedence reads of a stored update: its list (as stored JSON text) and release time.
    struct Stored: Equatable {
        var supersedes: String?
        var releasedEpoch: Int64
    }

    /// Recomputes every pair and every update's `superseded_by`. `expiryCutoff`: also expire (at the top
    /// site) updates superseded by one released at or before it, in the same pass. `firstSync`: the
    /// updates were all just inserted, so none had a supersedence to clear, and none is marked (a first
    /// sync writes no change-log rows); otherwise changed updates are marked `superseded` / `revised`.
    static func rebuild(_ db: Database, expiryCutoff: Int64?, firstSync: Bool) throws {
        try db.execute(
            sql: """
                DELETE FROM supersessions;
                INSERT INTO supersessions (target, by_id, by_released)
                    SELECT j.value, u.id, u.released_epoch
                    FROM updates u, json_each(u.supersedes) j
                    WHERE u.supersedes IS NOT NULL AND j.value != u.id
                    ORDER BY 1, 2
                    ON CONFLICT DO NOTHING;
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
            try clear(db, where: "superseded_by IS NOT NULL AND id NOT IN (SELECT target FROM temp.best)", marks: true)
        }
        try db.execute(sql: "DROP TABLE temp.best")
    }

    /// Replaces the pairs of the updates in `temp.touched` (their old pairs are in `temp.unpaired`) and
    /// recomputes `superseded_by` for every id whose pairs changed, for the touched updates themselves,
    /// and for the new ones in `temp.fresh` (a new update may be one that others already supersede).
    static func update(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP TABLE IF EXISTS temp.affected;
                CREATE TEMP TABLE affected (id TEXT PRIMARY KEY) WITHOUT ROWID;
                DROP TABLE IF EXISTS temp.paired;
                CREATE TEMP TABLE paired (target TEXT NOT NULL, by_id TEXT NOT NULL, by_released INTEGER NOT NULL,
                    PRIMARY KEY (target, by_id)) WITHOUT ROWID;
                INSERT OR IGNORE INTO affected (id) SELECT target FROM temp.unpaired;
                DELETE FROM supersessions WHERE (target, by_id) IN (SELECT target, by_id FROM temp.unpaired);
                INSERT OR IGNORE INTO paired (target, by_id, by_released)
                    SELECT j.value, u.id, u.released_epoch
                    FROM temp.touched t CROSS JOIN updates u ON u.id = t.id, json_each(u.supersedes) j
                    WHERE u.supersedes IS NOT NULL AND j.value != u.id;
                INSERT INTO supersessions (target, by_id, by_released)
                    SELECT target, by_id, by_released FROM temp.paired WHERE true
                    ON CONFLICT DO NOTHING;
                INSERT OR IGNORE INTO affected (id) SELECT target FROM temp.paired;
                INSERT OR IGNORE INTO affected (id) SELECT id FROM temp.touched;
                INSERT OR IGNORE INTO affected (id) SELECT id FROM temp.fresh;
                DROP TABLE IF EXISTS temp.best;
                CREATE TEMP TABLE best (target TEXT PRIMARY KEY, by_id TEXT NOT NULL, by_released INTEGER NOT NULL)
                    WITHOUT ROWID;
                INSERT INTO best (target, by_id, by_released)
                    SELECT target, by_id, by_released FROM (
                        SELECT s.target, s.by_id, s.by_released,
                            row_number() OVER (PARTITION BY s.target ORDER BY s.by_released, s.by_id) AS n
                        FROM temp.affected a CROSS JOIN supersessions s ON s.target = a.id)
                    WHERE n = 1;
                """
        )
        try applyBest(db, expiryCutoff: nil, marks: true)
        // Affected ids left without a superseder: found among the (small) temporary lists first, so
        // only those are looked up in `updates`. New updates were written without one.
        try clear(
            db,
            where: """
                id IN (
                    SELECT a.id FROM temp.affected a
                    WHERE NOT EXISTS (SELECT 1 FROM temp.best b WHERE b.target = a.id)
                        AND NOT EXISTS (SELECT 1 FROM temp.fresh f WHERE f.id = a.id))
                AND superseded_by IS NOT NULL
                """,
            marks: true)
        try db.execute(
            sql: """
                DROP TABLE temp.best;
                DROP TABLE temp.affected;
                DROP TABLE temp.paired;
                DROP TABLE temp.touched;
                DROP TABLE temp.unpaired;
                DROP TABLE temp.fresh;
                """
        )
    }

    /// Expires (at the top site) what upstream withdrew and what was superseded long enough: updates
    /// superseded by one released at or before `cutoff`. Both through partial indexes that hold only
    /// unexpired candidates, so the cost follows what can expire, not the catalog's size.
    static func expire(_ db: Database, cutoff: Int64) throws {
        for (index, condition) in [
            ("updates_upstream_expiry", "expired = 0 AND upstream_expired = 1"),
            ("updates_supersession_expiry", "expired = 0 AND superseded_by IS NOT NULL AND superseded_released <= ?"),
        ] {
            let arguments: StatementArguments = condition.hasSuffix("?") ? [cutoff] : []
            try db.execute(
                sql: """
                    INSERT INTO temp.changes_pending (update_id, kind)
                        SELECT id, 'expired' FROM updates INDEXED BY \(index) WHERE \(condition)
                    \(ChangeLog.keepHigherPrecedence)
                    """,
                arguments: arguments
            )
            try db.execute(
                sql: "UPDATE updates INDEXED BY \(index) SET expired = 1 WHERE \(condition)", arguments: arguments)
        }
    }

    /// Sets `superseded_by` from `temp.best` where it differs (marking `superseded` where the superseder
    /// changed, when `marks`). With marks, the rows that differ are found in one pass over `temp.best`;
    /// the mark and the update then touch only those.
    private static func applyBest(_ db: Database, expiryCutoff: Int64?, marks: Bool) throws {
        var assignments = ["superseded_by = m.by_id", "superseded_released = m.by_released"]
        if let expiryCutoff {
            assignments.append("expired = CASE WHEN m.by_released <= \(expiryCutoff) THEN 1 ELSE updates.expired END")
        }
        guard marks else {
            // A first sync: nearly every pair is new, so one pass straight from `temp.best`.
            try db.execute(
                sql: """
                    UPDATE updates SET \(assignments.joined(separator: ", ")) FROM temp.best m
                    WHERE updates.id = m.target
                        AND (updates.superseded_by IS NOT m.by_id OR updates.superseded_released IS NOT m.by_released)
                    """
            )
            return
        }
        try db.execute(
            sql: """
                DROP TABLE IF EXISTS temp.moved;
                CREATE TEMP TABLE moved (target TEXT PRIMARY KEY, by_id TEXT NOT NULL, by_released INTEGER NOT NULL,
                    superseder_changed INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO moved (target, by_id, by_released, superseder_changed)
                    SELECT b.target, b.by_id, b.by_released, u.superseded_by IS NOT b.by_id
                    FROM temp.best b CROSS JOIN updates u ON u.id = b.target
                    WHERE u.superseded_by IS NOT b.by_id OR u.superseded_released IS NOT b.by_released;
                """
        )
        try db.execute(
            sql: """
                INSERT INTO temp.changes_pending (update_id, kind)
                    SELECT target, 'superseded' FROM temp.moved WHERE superseder_changed
                \(ChangeLog.keepHigherPrecedence)
                """
        )
        // The `IN` has SQLite walk the moved rows and look each up by id; with the join alone it
        // scans the whole id index, as temporary tables have no statistics.
        try db.execute(
            sql: """
                UPDATE updates SET \(assignments.joined(separator: ", ")) FROM temp.moved m
                WHERE updates.id = m.target AND updates.id IN (SELECT target FROM temp.moved);
                DROP TABLE temp.moved;
                """
        )
    }

    /// Clears `superseded_by` of the updates `condition` selects (no superseder is left): a change to
    /// the update, marked `revised` when `marks`.
    private static func clear(_ db: Database, where condition: String, marks: Bool) throws {
        if marks {
            try db.execute(
                sql: """
                    INSERT INTO temp.changes_pending (update_id, kind) SELECT id, 'revised' FROM updates WHERE \(condition)
                    \(ChangeLog.keepHigherPrecedence)
                    """
            )
        }
        try db.execute(sql: "UPDATE updates SET superseded_by = NULL, superseded_released = NULL WHERE \(condition)")
    }
}
