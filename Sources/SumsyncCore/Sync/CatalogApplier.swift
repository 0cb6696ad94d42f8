import Foundation
import GRDB

/// Applies one full catalog snapshot to the site database, inside the caller's write transaction.
///
/// A compact index of the stored updates (128-bit id → revision and upstream expiry, about 24 bytes
/// each) tells, as each record streams by, whether it can change anything; only new, revised or newly
/// expired records are written, so a delta costs its changes rather than the catalog's size. Afterwards
/// the index names what upstream no longer offers, set-based SQL recomputes supersedence and expiry,
/// and the change log is written. A duplicate id keeps its highest revision. An update's change kind
/// for the sync follows ``ChangeKind``'s precedence.
struct CatalogApplier {
    let db: Database
    let syncNumber: Int
    let filter: UpdateFilter
    private let upsert: Statement
    /// Upstream's offer per product and classification, selected or not.
    private(set) var offered: [CategoryKey: Int] = [:]
    private(set) var keptLines = 0
    private(set) var skippedLines = 0
    /// The stored updates as of the start of the sync, plus what this sync added; `seen` marks those
    /// upstream still offers.
    private var index: [UInt128: Entry] = [:]
    /// The site's very first catalog (version 0, nothing stored): every kept update is new, nothing is
    /// marked per row and no change-log rows are written — a child at version 0 pulls the full snapshot
    /// anyway — which spares 500,000 index entries, row rewrites and change rows on a first sync.
    let isFirstSync: Bool

    struct Entry {
        var revision: Int32
        var upstreamExpired: Bool
        var seen: Bool
    }

    struct CategoryKey: Hashable {
        var kind: String
        var name: String
    }

    init(db: Database, syncNumber: Int, filter: UpdateFilter) throws {
        self.db = db
        self.syncNumber = syncNumber
        self.filter = filter
        // Fields follow the record only when its revision is higher than the stored one:
        // equal or lower revisions leave the stored update as it is.
        let newer = "excluded.revision > updates.revision"
        let fields = [
            "title", "product", "classification", "languages", "kb", "bulletin", "severity", "released",
            "released_epoch", "revised", "supersedes", "size", "url", "description",
        ]
        // Upstream's expiry counts whatever the revision, and is final.
        let assignments = fields.map { "\($0) = CASE WHEN \(newer) THEN excluded.\($0) ELSE updates.\($0) END" }
            + ["upstream_expired = max(updates.upstream_expired, excluded.upstream_expired)"]
        self.upsert = try db.makeStatement(
            sql: """
                INSERT INTO updates (id, revision, title, product, classification, languages, kb, bulletin, severity,
                    released, released_epoch, revised, supersedes, upstream_expired, expired, size, url, description,
                    seen_sync, pending_kind)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET
                    seen_sync = excluded.seen_sync,
                    pending_kind = CASE WHEN \(newer) AND updates.pending_kind IS NULL AND excluded.pending_kind IS NOT NULL
                        THEN 'revised' ELSE updates.pending_kind END,
                    \(assignments.joined(separator: ",\n"))
                    , revision = max(updates.revision, excluded.revision)
                """
        )
        let stored = try Int.fetchOne(db, sql: "SELECT count(*) FROM updates") ?? 0
        let version = try Int.fetchOne(db, sql: "SELECT catalog_version FROM site_state WHERE id = 1") ?? 0
        self.isFirstSync = stored == 0 && version == 0
        index.reserveCapacity(stored)
        let rows = try Row.fetchCursor(db, sql: "SELECT id, revision, upstream_expired FROM updates")
        while let row = try rows.next() {
            let id: String = row[0]
            guard let key = Self.key(id) else { continue }
            index[key] = Entry(revision: Int32(clamping: row[1] as Int), upstreamExpired: row[2], seen: false)
        }
    }

    /// A GUID's 128 bits (ids are validated and lowercased by the parser); nil for anything else.
    static func key(_ id: String) -> UInt128? {
        var value: UInt128 = 0
        var digits = 0
        for byte in id.utf8 {
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "-"): continue
            default: return nil
            }
            value = value << 4 | UInt128(nibble)
            digits += 1
        }
        return digits == 32 ? value : nil
    }

    /// The canonical text of a key: `8-4-4-4-12` lowercase hex.
    static func id(_ key: UInt128) -> String {
        var hex = String(key, radix: 16)
        hex = String(repeating: "0", count: 32 - hex.count) + hex
        let chars = Array(hex)
        return "\(String(chars[0..<8]))-\(String(chars[8..<12]))-\(String(chars[12..<16]))-\(String(chars[16..<20]))-\(String(chars[20..<32]))"
    }

    /// Counts the record in upstream's offer and stores it when the filter keeps it.
    mutating func add(_ record: CatalogRecord) throws {
        offered[CategoryKey(kind: "product", name: record.product), default: 0] += 1
        offered[CategoryKey(kind: "classification", name: record.classification), default: 0] += 1
        guard filter.keeps(product: record.product, classification: record.classification, languages: record.languages)
        else {
            skippedLines += 1
            return
        }
        keptLines += 1
        if let key = Self.key(record.id) {
            if var entry = index[key] {
                entry.seen = true
                let unchanged = Int32(clamping: record.revision) <= entry.revision && (!record.expired || entry.upstreamExpired)
                entry.revision = max(entry.revision, Int32(clamping: record.revision))
                entry.upstreamExpired = entry.upstreamExpired || record.expired
                index[key] = entry
                // Equal or lower revision and no new expiry: the stored update stays as it is.
                if unchanged { return }
            } else {
                index[key] = Entry(revision: Int32(clamping: record.revision), upstreamExpired: record.expired, seen: true)
            }
        }
        let supersedes: String? = record.supersedes.isEmpty ? nil : JSONText.array(record.supersedes)
        try upsert.execute(arguments: [
            record.id, record.revision, record.title, record.product, record.classification,
            JSONText.array(record.languages), record.kb, record.bulletin, record.severity, record.released,
            record.releasedEpoch, record.revised, supersedes, record.expired, record.expired, record.size, record.url,
            record.description, syncNumber, isFirstSync ? nil : "new",
        ])
    }

    /// Removal, supersedence and expiry, then the counts. `expiryCutoff`: a superseded update whose
    /// superseding update was released at or before this epoch second is expired.
    func finish(expiryCutoff: Int64) throws -> ChangeCounts {
        let removal = try db.makeStatement(sql: "INSERT OR IGNORE INTO changes_pending (update_id, kind) VALUES (?, 'removed')")
        let delete = try db.makeStatement(sql: "DELETE FROM updates WHERE id = ?")
        for (key, entry) in index where !entry.seen {
            let id = Self.id(key)
            try removal.execute(arguments: [id])
            try delete.execute(arguments: [id])
        }
        try Supersedence.recompute(db)
        try db.execute(
            sql: """
                UPDATE updates SET expired = 1,
                    pending_kind = CASE WHEN pending_kind = 'new' THEN 'new' ELSE 'expired' END
                WHERE expired = 0 AND (upstream_expired = 1
                    OR (superseded_by IS NOT NULL AND superseded_released <= ?))
                """,
            arguments: [expiryCutoff]
        )
        if isFirstSync {
            // Supersedence and expiry marked some rows; on a first sync they all count as new.
            try db.execute(sql: "UPDATE updates SET pending_kind = NULL WHERE pending_kind IS NOT NULL")
            var counts = ChangeCounts()
            counts.new = try Int.fetchOne(db, sql: "SELECT count(*) FROM updates") ?? 0
            return counts
        }
        return try ChangeLog.pendingCounts(db)
    }
}

/// Who supersedes whom, recomputed from the kept updates' `supersedes` lists.
enum Supersedence {
    /// Sets `superseded_by` (the superseding update released first, ties by id) on every update some kept
    /// update supersedes, and clears it where none does any more.
    static func recompute(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP TABLE IF EXISTS temp.supersession;
                CREATE TEMP TABLE supersession (id TEXT PRIMARY KEY, by_id TEXT NOT NULL, by_released INTEGER NOT NULL)
                    WITHOUT ROWID;
                INSERT INTO supersession (id, by_id, by_released)
                    SELECT j.value, u.id, u.released_epoch
                    FROM updates u, json_each(u.supersedes) j
                    WHERE u.supersedes IS NOT NULL AND j.value != u.id
                    ORDER BY u.released_epoch, u.id
                    ON CONFLICT(id) DO NOTHING;
                UPDATE updates SET superseded_by = s.by_id, superseded_released = s.by_released,
                    pending_kind = CASE WHEN updates.pending_kind IS NULL THEN 'superseded' ELSE updates.pending_kind END
                FROM supersession s
                WHERE updates.id = s.id AND updates.superseded_by IS NOT s.by_id;
                UPDATE updates SET superseded_by = NULL, superseded_released = NULL,
                    pending_kind = CASE WHEN pending_kind IS NULL THEN 'revised' ELSE pending_kind END
                WHERE superseded_by IS NOT NULL AND id NOT IN (SELECT id FROM supersession);
                DROP TABLE temp.supersession;
                """
        )
    }
}
