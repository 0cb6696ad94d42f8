import Foundation
import GRDB

/// Applies one full catalog snapshot to the site database, inside the caller's write transaction.
///
/// Three ways to know what a line changes, cheapest first:
/// - **Line index** (a delta after an earlier sync): each line's hash is looked up in the previous
///   catalog's ``CatalogIndex``; a known line is skipped without validating or parsing it. Only new or
///   altered lines are parsed and written, and known kept lines that are gone name the removals.
/// - **Stored index** (no valid line index, e.g. `sync --full` or after a site bundle import): every line
///   is parsed; a compact index of the stored updates (128-bit id → revision and upstream expiry) skips
///   records that cannot change anything, and stored ids not seen again are removed.
/// - **First sync** (version 0, nothing stored): every kept record is inserted, nothing is marked per row
///   and no change-log rows are written — a child at version 0 pulls the full snapshot anyway.
///
/// Afterwards supersedence and expiry are brought up to date for the touched updates only
/// (``Supersedence``), and the counts come from the change marks. A duplicate id keeps its highest
/// revision. An update's change kind for the sync follows ``ChangeKind``'s precedence.
final class CatalogApplier {
    let db: Database
    let syncNumber: Int
    let filter: UpdateFilter
    let isFirstSync: Bool
    private let upsert: Statement
    private let touch: Statement
    /// The previous catalog's lines, when valid for this database (line-index mode).
    private var previous: CatalogIndex?
    private var seen: SlotSet
    /// Stored-index mode: the stored updates as of the start of the sync, plus what this sync added.
    private var stored: [UInt128: Entry] = [:]
    /// Line-index mode: ids of the kept lines parsed in this sync.
    private var parsedIDs: Set<UInt128> = []
    /// Lines the previous index did not know, for the next index.
    private var fresh: [FreshLine] = []
    private var hashOfLine: UInt64 = 0
    private var lineCount = 0
    /// False once product or classification names outgrow the index's fields: no index is kept then.
    private var indexable = true
    private var products: [String]
    private var classifications: [String]
    private var productIndex: [String: UInt16] = [:]
    private var classificationIndex: [String: UInt16] = [:]
    private var productCounts: [Int]
    private var classificationCounts: [Int]

    struct Entry {
        var revision: Int32
        var upstreamExpired: Bool
        var seen: Bool
    }

    struct FreshLine {
        var hash: UInt64
        var id: UInt128
        var meta: CatalogIndex.Meta
    }

    struct CategoryKey: Hashable {
        var kind: String
        var name: String
    }

    /// - Parameter previous: the line index for this database's current state, or nil to parse every line.
    init(db: Database, syncNumber: Int, filter: UpdateFilter, previous: CatalogIndex?) throws {
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
        try Supersedence.beginTouching(db)
        self.touch = try Supersedence.touchStatement(db)
        let anyStored = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM updates)") ?? false
        let version = try Int.fetchOne(db, sql: "SELECT catalog_version FROM site_state WHERE id = 1") ?? 0
        self.isFirstSync = !anyStored && version == 0
        self.previous = isFirstSync ? nil : previous
        self.seen = SlotSet(capacity: self.previous?.capacity ?? 0)
        products = self.previous?.products ?? []
        classifications = self.previous?.classifications ?? []
        for (index, name) in products.enumerated() { productIndex[name] = UInt16(index) }
        for (index, name) in classifications.enumerated() { classificationIndex[name] = UInt16(index) }
        productCounts = Array(repeating: 0, count: products.count)
        classificationCounts = Array(repeating: 0, count: classifications.count)
        if !isFirstSync && self.previous == nil {
            try loadStoredIndex()
        }
    }

    /// Whether a line index is in use (a delta that skips known lines).
    var usesLineIndex: Bool { previous != nil }

    /// Gives up the previous line index (unchanged), so a failed sync can return it to the cache.
    func releasePrevious() -> CatalogIndex? { previous.take() }

    /// Lines the previous catalog had (the progress total's estimate in line-index mode).
    var previousLineCount: Int? { previous?.lineCount }

    private func loadStoredIndex() throws {
        let count = try Int.fetchOne(db, sql: "SELECT update_count FROM site_state WHERE id = 1") ?? 0
        stored.reserveCapacity(count)
        let rows = try Row.fetchCursor(db, sql: "SELECT id, revision, upstream_expired FROM updates")
        var held = 0
        while let row = try rows.next() {
            held += 1
            let id: String = row[0]
            guard let key = Self.key(id) else { continue }
            stored[key] = Entry(revision: Int32(clamping: row[1] as Int), upstreamExpired: row[2], seen: false)
        }
        // This mode reads every row anyway: it also sets the kept count right (`sync --full` repairs it).
        try db.execute(sql: "UPDATE site_state SET update_count = ? WHERE id = 1", arguments: [held])
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

    /// Called for every line before it is validated: true when the previous catalog had exactly this
    /// line, which then only counts towards upstream's offer (its effects are in the database already).
    /// Otherwise the line goes on to be validated, parsed and ``add(_:)``ed.
    func known(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let hash = LineHash.hash(bytes)
        lineCount += 1
        if let slot = previous?.slot(of: hash) {
            seen.insert(slot)
            let meta = previous.unsafelyUnwrapped.meta(at: slot)
            productCounts[Int(meta.product)] += 1
            classificationCounts[Int(meta.classification)] += 1
            return true
        }
        hashOfLine = hash
        return false
    }

    /// Counts the record (the line ``known(_:)`` just declined) in upstream's offer and stores it when
    /// the filter keeps it.
    func add(_ record: CatalogRecord) throws {
        let product = intern(record.product, into: &products, index: &productIndex, counts: &productCounts)
        let classification = intern(
            record.classification, into: &classifications, index: &classificationIndex, counts: &classificationCounts)
        let kept = filter.keeps(product: record.product, classification: record.classification, languages: record.languages)
        let key = Self.key(record.id) ?? 0
        if indexable {
            fresh.append(
                FreshLine(
                    hash: hashOfLine, id: kept ? key : 0,
                    meta: CatalogIndex.Meta(product: product, classification: classification, kept: kept)))
        }
        guard kept else { return }
        if previous != nil {
            parsedIDs.insert(key)
        } else if !isFirstSync {
            if var entry = stored[key] {
                entry.seen = true
                let unchanged = Int32(clamping: record.revision) <= entry.revision && (!record.expired || entry.upstreamExpired)
                entry.revision = max(entry.revision, Int32(clamping: record.revision))
                entry.upstreamExpired = entry.upstreamExpired || record.expired
                stored[key] = entry
                // Equal or lower revision and no new expiry: the stored update stays as it is.
                if unchanged { return }
            } else {
                stored[key] = Entry(revision: Int32(clamping: record.revision), upstreamExpired: record.expired, seen: true)
            }
        }
        let supersedes: String? = record.supersedes.isEmpty ? nil : JSONText.array(record.supersedes)
        try upsert.execute(arguments: [
            record.id, record.revision, record.title, record.product, record.classification,
            JSONText.array(record.languages), record.kb, record.bulletin, record.severity, record.released,
            record.releasedEpoch, record.revised, supersedes, record.expired, record.expired, record.size, record.url,
            record.description, syncNumber, isFirstSync ? nil : "new",
        ])
        if !isFirstSync { try touch.execute(arguments: [record.id]) }
    }

    private func intern(
        _ name: String, into names: inout [String], index: inout [String: UInt16], counts: inout [Int]
    ) -> UInt16 {
        if let known = index[name] {
            counts[Int(known)] += 1
            return known
        }
        guard names.count < 0x7FFF else {
            // Far beyond any real catalog: stop keeping an index rather than mislabel lines.
            indexable = false
            names.append(name)
            counts.append(1)
            return 0
        }
        let new = UInt16(names.count)
        names.append(name)
        index[name] = new
        counts.append(1)
        return new
    }

    /// Upstream's offer per product and classification, selected or not.
    var offered: [CategoryKey: Int] {
        var result: [CategoryKey: Int] = [:]
        for (index, count) in productCounts.enumerated() where count > 0 {
            result[CategoryKey(kind: "product", name: products[index]), default: 0] += count
        }
        for (index, count) in classificationCounts.enumerated() where count > 0 {
            result[CategoryKey(kind: "classification", name: classifications[index]), default: 0] += count
        }
        return result
    }

    /// Removal, supersedence and expiry, then the counts. `expiryCutoff`: a superseded update whose
    /// superseding update was released at or before this epoch second is expired.
    func finish(expiryCutoff: Int64) throws -> ChangeCounts {
        let removal = try db.makeStatement(sql: "INSERT OR IGNORE INTO changes_pending (update_id, kind) VALUES (?, 'removed')")
        let delete = try db.makeStatement(sql: "DELETE FROM updates WHERE id = ?")
        for key in removedKeys() {
            let id = Self.id(key)
            try removal.execute(arguments: [id])
            try delete.execute(arguments: [id])
            try touch.execute(arguments: [id])
        }
        if isFirstSync {
            try Supersedence.rebuild(db, expiryCutoff: expiryCutoff, firstSync: true)
            var counts = ChangeCounts()
            counts.new = try Int.fetchOne(db, sql: "SELECT count(*) FROM updates") ?? 0
            return counts
        }
        try Supersedence.update(db)
        try Supersedence.expire(db, cutoff: expiryCutoff)
        return try ChangeLog.pendingCounts(db)
    }

    /// Stored ids upstream no longer offers (or the filter no longer keeps).
    private func removedKeys() -> [UInt128] {
        if let previous {
            // Kept lines that are gone name candidates; an id survives if a parsed line or another known
            // kept line (a duplicate id) still carries it.
            var candidates: Set<UInt128> = []
            previous.forEachSlot { slot in
                guard !seen.contains(slot), previous.meta(at: slot).kept else { return }
                let id = previous.id(at: slot)
                if !parsedIDs.contains(id) { candidates.insert(id) }
            }
            if !candidates.isEmpty {
                previous.forEachSlot { slot in
                    if seen.contains(slot), previous.meta(at: slot).kept { candidates.remove(previous.id(at: slot)) }
                }
            }
            return Array(candidates)
        }
        return stored.compactMap { $0.value.seen ? nil : $0.key }
    }

    /// The index describing the catalog just applied, for the state `stamp`; call once, after the
    /// transaction committed. Nil when no index can be kept.
    func nextIndex(stamp: CatalogIndex.Stamp) -> CatalogIndex? {
        guard indexable else { return nil }
        var index: CatalogIndex
        if previous != nil {
            // Taken out, so the tables are changed in place rather than copied.
            index = previous.take()!
            var gone: [UInt64] = []
            index.forEachSlot { slot in if !seen.contains(slot) { gone.append(index.slots[slot].hash) } }
            for hash in gone { index.remove(hash: hash) }
        } else {
            index = CatalogIndex(
                stamp: stamp, products: [], classifications: [], lineCount: 0, minimumCapacity: fresh.count)
        }
        for line in fresh { index.insert(hash: line.hash, id: line.id, meta: line.meta) }
        index.stamp = stamp
        index.products = products
        index.classifications = classifications
        index.lineCount = lineCount
        return index
    }
}
