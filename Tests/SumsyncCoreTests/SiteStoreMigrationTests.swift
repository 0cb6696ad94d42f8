import Foundation
import GRDB
import Testing

@testable import SumsyncStore

/// A site database from an earlier release is brought up to date when it is opened, keeping every row.
@Suite("site database migrations")
struct SiteStoreMigrationTests {
    static func scratchFolder() throws -> URL {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "sumsync-migrate-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// v4 rewrites `updates` (a WITHOUT ROWID table until v3) as a rowid table with a unique index on
    /// `id`: every row and column survives, ids stay unique, and the expiry indexes are back.
    @Test func v4KeepsEveryUpdateInARowidTable() throws {
        let folder = try Self.scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent(SiteStore.fileName).path

        let old = try DatabaseQueue(path: path)
        try SiteStore.migrator.migrate(old, upTo: "v3")
        let before = try old.write { db -> [Row] in
            #expect(
                try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'updates'")?.contains(
                    "WITHOUT ROWID") == true)
            for (index, id) in ["0f", "a1", "3c"].enumerated() {
                try db.execute(
                    sql: """
                        INSERT INTO updates (id, revision, title, product, classification, languages, kb, released,
                            released_epoch, supersedes, upstream_expired, expired, superseded_by, superseded_released, size,
                            url, description, seen_sync)
                        VALUES (?, ?, ?, 'Windows 11', 'Security Updates', '["all"]', ?, '2026-11-11T18:00:00Z', ?, ?, ?, 0,
                            ?, ?, ?, NULL, ?, 3)
                        """,
                    arguments: [
                        "\(id)000000-0000-4000-8000-000000000000", index + 1, "Größe – 更新 \(index)",
                        index == 1 ? nil : "KB\(index)",
                        1_795_000_000 + index, index == 0 ? #"["a1000000-0000-4000-8000-000000000000"]"# : nil,
                        index == 2,
                        index == 1 ? "0f000000-0000-4000-8000-000000000000" : nil, index == 1 ? 1_795_000_000 : nil,
                        index * 1_000, "a\u{0}b",
                    ])
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM updates ORDER BY id")
        }
        try old.close()

        let store = try SiteStore(path: path)
        // Later migrations add columns; the v4 ones hold what they held.
        let v4Columns = Array(before[0].columnNames).joined(separator: ", ")
        let after = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(v4Columns) FROM updates ORDER BY id")
        }
        #expect(after == before)
        try store.pool.read { db in
            #expect(
                try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'updates'")?.contains(
                    "WITHOUT ROWID") == false)
            #expect(try Int.fetchOne(db, sql: "SELECT count(rowid) FROM updates") == 3)
            let indexes = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'updates'")
            #expect(Set(indexes).isSuperset(of: ["updates_upstream_expiry", "updates_supersession_expiry"]))
            // Lookups by id go through the unique index, not a scan.
            let plan = try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN SELECT revision FROM updates WHERE id = ?", arguments: ["x"]
            )
            .map { $0["detail"] as String? ?? "" }
            #expect(plan.joined().contains("USING INDEX"), "\(plan)")
        }
        #expect(throws: DatabaseError.self) {
            try store.pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO updates (id, revision, title, product, classification, languages, released, released_epoch)
                        SELECT id, 9, title, product, classification, languages, released, released_epoch FROM updates LIMIT 1
                        """)
            }
        }
        #expect(try store.integrityCheck() == "ok")
    }

    /// The one row definition and the migrated table agree: every ``UpdateColumn`` is a column of
    /// `updates`, and every other column of it is one the site works out itself. A migration that adds a
    /// column without its case (or the other way round) fails here.
    @Test func updateColumnsMatchTheTable() throws {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "sumsync-columns-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SiteStore(path: folder.appendingPathComponent("site.sqlite").path)
        let columns = try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('updates') ORDER BY cid")
        }
        let defined = UpdateColumn.allCases.map(\.name)
        // v5 appended its columns (source … digest) after seen_sync, v7 expired_at (the top's own); statements name every column.
        #expect(Set(columns.filter(Set(defined).contains)) == Set(defined))
        #expect(
            Set(columns).subtracting(defined) == ["superseded_by", "superseded_released", "pending_kind", "expired_at"])
        #expect(UpdateColumn.allCases.map(\.rawValue) == Array(1...Int32(defined.count)))
        #expect(UpdateColumn.stored.map(\.storedPosition) == Array(0..<Int32(UpdateColumn.stored.count)))
    }

    /// v7 and incremental auto-vacuum: a database of the release before (v6, `auto_vacuum = NONE`) is
    /// converted once when it is opened, every row as it was; expired rows wait for their stamp.
    @Test func v7ConvertsToIncrementalAutoVacuumKeepingEveryRow() throws {
        let folder = try Self.scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent(SiteStore.fileName).path
        var configuration = Configuration()
        configuration.prepareDatabase { db in try CatalogState.register(db, keeps: true) }
        let old = try DatabasePool(path: path, configuration: configuration)
        try SiteStore.migrator.migrate(old, upTo: "v6")
        let before = try old.write { db -> [Row] in
            #expect(try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") == 0)
            for index in 0..<500 {
                try db.execute(
                    sql: """
                        INSERT INTO updates (id, revision, title, product, classification, languages, released,
                            released_epoch, expired, upstream_expired, description, seen_sync, source)
                        VALUES (?, 1, ?, 'Windows 11', 'Security Updates', '["all"]', '2026-11-11T18:00:00Z', 1795000000,
                            ?, ?, ?, 1, 'catalog')
                        """,
                    arguments: [
                        String(format: "%08x-0000-4000-8000-000000000000", index), "Größe \(index)", index % 3 == 0,
                        index % 3 == 0, String(repeating: "d", count: 1_000),
                    ])
            }
            try db.execute(sql: "UPDATE site_state SET update_count = 500, catalog_version = 4 WHERE id = 1")
            try db.execute(sql: "DELETE FROM updates WHERE id < '00000100'")
            return try Row.fetchAll(db, sql: "SELECT * FROM updates ORDER BY id")
        }
        try old.close()

        let store = try SiteStore(path: path)
        guard case .success? = store.vacuumConversion else {
            Issue.record("not converted: \(String(describing: store.vacuumConversion))")
            return
        }
        let v6Columns = Array(before[0].columnNames).joined(separator: ", ")
        let (mode, after, stamped, purged, free) = try store.pool.read { db in
            (
                try Int.fetchOne(db, sql: "PRAGMA auto_vacuum"),
                try Row.fetchAll(db, sql: "SELECT \(v6Columns) FROM updates ORDER BY id"),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM updates WHERE expired_at IS NOT NULL"),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM purged"),
                try Int.fetchOne(db, sql: "PRAGMA freelist_count")
            )
        }
        #expect(mode == 2)
        #expect(after == before)
        #expect(stamped == 0 && purged == 0)
        #expect(free == 0, "VACUUM left no free pages")
        #expect(try store.expiredHeld() == before.filter { $0["expired"] == true }.count)
        #expect(try store.integrityCheck() == "ok")
        // Opened again: nothing more to convert.
        #expect(try SiteStore(path: path).vacuumConversion == nil)
    }
}
