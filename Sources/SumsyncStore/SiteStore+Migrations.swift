import Foundation
import GRDB

extension SiteStore {
    /// The schema's history. Never edit a shipped migration; add the next one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE site_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        catalog_version INTEGER NOT NULL DEFAULT 0,
                        change_log_floor INTEGER NOT NULL DEFAULT 0,
                        sync_counter INTEGER NOT NULL DEFAULT 0,
                        upstream_etag TEXT,
                        upstream_last_modified TEXT,
                        filter_fingerprint TEXT,
                        latest_catalog_sync TEXT,
                        last_scheduled_run TEXT
                    );
                    INSERT INTO site_state (id) VALUES (1);

                    CREATE TABLE updates (
                        id TEXT PRIMARY KEY NOT NULL,
                        revision INTEGER NOT NULL,
                        title TEXT NOT NULL,
                        product TEXT NOT NULL,
                        classification TEXT NOT NULL,
                        languages TEXT NOT NULL,
                        kb TEXT,
                        bulletin TEXT,
                        severity TEXT,
                        released TEXT NOT NULL,
                        released_epoch INTEGER NOT NULL,
                        revised TEXT,
                        supersedes TEXT,
                        upstream_expired INTEGER NOT NULL DEFAULT 0,
                        expired INTEGER NOT NULL DEFAULT 0,
                        superseded_by TEXT,
                        superseded_released INTEGER,
                        size INTEGER,
                        url TEXT,
                        description TEXT,
                        seen_sync INTEGER NOT NULL DEFAULT 0,
                        pending_kind TEXT
                    ) WITHOUT ROWID;
                    CREATE INDEX updates_pending ON updates (pending_kind) WHERE pending_kind IS NOT NULL;

                    CREATE TABLE changes (
                        version INTEGER NOT NULL,
                        update_id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        PRIMARY KEY (version, update_id)
                    ) WITHOUT ROWID;

                    CREATE TABLE sync_history (
                        sync_id TEXT PRIMARY KEY NOT NULL,
                        site TEXT NOT NULL,
                        trigger TEXT NOT NULL,
                        started TEXT NOT NULL,
                        finished TEXT,
                        result TEXT NOT NULL,
                        catalog_version INTEGER NOT NULL,
                        new INTEGER NOT NULL DEFAULT 0,
                        revised INTEGER NOT NULL DEFAULT 0,
                        expired INTEGER NOT NULL DEFAULT 0,
                        superseded INTEGER NOT NULL DEFAULT 0,
                        removed INTEGER NOT NULL DEFAULT 0,
                        unchanged INTEGER NOT NULL DEFAULT 0,
                        error TEXT,
                        duration_ms INTEGER,
                        finished_epoch_ms INTEGER
                    );
                    CREATE INDEX sync_history_started ON sync_history (started);

                    CREATE TABLE site_reports (
                        site TEXT PRIMARY KEY NOT NULL,
                        report TEXT NOT NULL
                    );

                    CREATE TABLE categories (
                        kind TEXT NOT NULL,
                        name TEXT NOT NULL,
                        updates INTEGER NOT NULL DEFAULT 0,
                        first_seen TEXT NOT NULL,
                        last_seen TEXT NOT NULL,
                        first_seen_sync TEXT,
                        PRIMARY KEY (kind, name)
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v2") { db in
            // Incremental syncs: the stored count, who-supersedes-whom pairs (so a delta recomputes only
            // the ids its changes point to), and partial indexes over the only rows expiry can touch.
            try db.execute(
                sql: """
                    ALTER TABLE site_state ADD COLUMN update_count INTEGER NOT NULL DEFAULT 0;
                    UPDATE site_state SET update_count = (SELECT count(*) FROM updates) WHERE id = 1;

                    CREATE TABLE supersessions (
                        target TEXT NOT NULL,
                        by_id TEXT NOT NULL,
                        by_released INTEGER NOT NULL,
                        PRIMARY KEY (target, by_id)
                    ) WITHOUT ROWID;
                    INSERT INTO supersessions (target, by_id, by_released)
                        SELECT j.value, u.id, u.released_epoch
                        FROM updates u, json_each(u.supersedes) j
                        WHERE u.supersedes IS NOT NULL AND j.value != u.id
                        ORDER BY 1, 2
                        ON CONFLICT DO NOTHING;
                    CREATE INDEX supersessions_by ON supersessions (by_id);

                    -- Change marks live in a temporary table during a sync now; pending_kind stays NULL.
                    DROP INDEX updates_pending;

                    CREATE INDEX updates_upstream_expiry ON updates (upstream_expired)
                        WHERE expired = 0 AND upstream_expired = 1;
                    CREATE INDEX updates_supersession_expiry ON updates (superseded_released)
                        WHERE expired = 0 AND superseded_by IS NOT NULL;
                    """
            )
        }
        migrator.registerMigration("v3") { db in
            // Supersession pairs are replaced by key (a sync knows the lists they came from): the index on
            // the superseding id only cost every delta its upkeep.
            try db.execute(sql: "DROP INDEX IF EXISTS supersessions_by")
        }
        migrator.registerMigration("v4") { db in
            // `updates` becomes a rowid table with a unique index on `id`. As a WITHOUT ROWID table its
            // ~500-byte rows sat whole in the interior pages of its b-tree too, about 7 to a page, so every
            // lookup by id went 6 or 7 pages deep through a 35 MB interior; the id index keeps only ids
            // there (about 80 to a page), and rows are found by rowid. New rows are appended in the
            // order a sync meets them. The copy keeps every row as it was.
            try db.execute(
                sql: """
                    CREATE TABLE updates_v4 (
                        id TEXT NOT NULL UNIQUE,
                        revision INTEGER NOT NULL,
                        title TEXT NOT NULL,
                        product TEXT NOT NULL,
                        classification TEXT NOT NULL,
                        languages TEXT NOT NULL,
                        kb TEXT,
                        bulletin TEXT,
                        severity TEXT,
                        released TEXT NOT NULL,
                        released_epoch INTEGER NOT NULL,
                        revised TEXT,
                        supersedes TEXT,
                        upstream_expired INTEGER NOT NULL DEFAULT 0,
                        expired INTEGER NOT NULL DEFAULT 0,
                        superseded_by TEXT,
                        superseded_released INTEGER,
                        size INTEGER,
                        url TEXT,
                        description TEXT,
                        seen_sync INTEGER NOT NULL DEFAULT 0,
                        pending_kind TEXT
                    );
                    INSERT INTO updates_v4 SELECT * FROM updates;
                    DROP TABLE updates;
                    ALTER TABLE updates_v4 RENAME TO updates;
                    CREATE INDEX updates_upstream_expiry ON updates (upstream_expired)
                        WHERE expired = 0 AND upstream_expired = 1;
                    CREATE INDEX updates_supersession_expiry ON updates (superseded_released)
                        WHERE expired = 0 AND superseded_by IS NOT NULL;
                    """
            )
        }
        migrator.registerMigration("v5") { db in
            // Advisory sources: each update's source and advisory fields, the top's content hash (it
            // counts rpm revisions), and one row per configured source with what its last sync found.
            try db.execute(
                sql: """
                    ALTER TABLE updates ADD COLUMN source TEXT;
                    ALTER TABLE updates ADD COLUMN advisory TEXT;
                    ALTER TABLE updates ADD COLUMN cves TEXT;
                    ALTER TABLE updates ADD COLUMN packages TEXT;
                    ALTER TABLE updates ADD COLUMN reboot_suggested INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE updates ADD COLUMN digest INTEGER;
                    -- Every update so far came from an NDJSON catalog: [upstream] catalog, named "catalog".
                    UPDATE updates SET source = 'catalog';
                    CREATE TABLE upstream_sources (
                        name TEXT PRIMARY KEY NOT NULL,
                        format TEXT NOT NULL,
                        url TEXT NOT NULL,
                        product TEXT,
                        etag TEXT,
                        last_modified TEXT,
                        content_key TEXT,
                        last_result TEXT,
                        last_checked TEXT,
                        last_changed TEXT,
                        error TEXT
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v6") { db in
            // Verified catalogs: the state digest of every row (LtHash16, kept by triggers from here on),
            // the signed root of the current version, and how the last check of it went.
            try db.execute(
                sql: """
                    ALTER TABLE site_state ADD COLUMN catalog_digest BLOB;
                    ALTER TABLE site_state ADD COLUMN catalog_root TEXT;
                    ALTER TABLE site_state ADD COLUMN verified INTEGER;
                    ALTER TABLE site_state ADD COLUMN verify_error TEXT;
                    ALTER TABLE site_state ADD COLUMN verified_at TEXT;
                    """
            )
            let digest = try CatalogState.recompute(db)
            try db.execute(
                sql: "UPDATE site_state SET catalog_digest = ? WHERE id = 1", arguments: [Data(digest.bytes)])
        }
        migrator.registerMigration("v7") { db in
            // Housekeeping: when each update expired (stamped by the top's next sync for those expired
            // before), the ids purged with the revision they had (so upstream's unchanged record of one
            // is not new again), and the purged count in history.
            try db.execute(
                sql: """
                    ALTER TABLE updates ADD COLUMN expired_at INTEGER;
                    CREATE INDEX updates_expired_at ON updates (expired_at) WHERE expired = 1;
                    CREATE TABLE purged (
                        id TEXT PRIMARY KEY NOT NULL,
                        revision INTEGER NOT NULL,
                        purged_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    ALTER TABLE sync_history ADD COLUMN purged INTEGER NOT NULL DEFAULT 0;
                    """
            )
        }
        return migrator
    }

    /// Turns on `auto_vacuum = INCREMENTAL` (so ``vacuumStep(pages:)`` can give free pages back to the file
    /// system), with a `VACUUM` of the new database, or once of a database an earlier release made.
    /// Returns how long converting an earlier release's database took, nil for a new one or none needed.
    static func enableIncrementalVacuum(_ pool: DatabasePool) throws -> Duration? {
        try pool.writeWithoutTransaction { db -> Duration? in
            let mode = try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") ?? 0
            guard mode != 2 else { return nil }
            let empty = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") == 0
            try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            // The mode takes effect with a rebuild of the whole file (in WAL mode even for a new, empty
            // one, whose first page the pool's opening wrote). For an earlier release's database it needs
            // room for a copy; on failure the database stays as it was, and the next start tries again.
            let started = ContinuousClock.now
            try db.execute(sql: "VACUUM")
            try db.checkpoint(.truncate)
            if empty { return nil }
            return ContinuousClock.now - started
        }
    }
}
