import Foundation
import GRDB
import SumsyncFormats
import SumsyncModel

// Over 300 lines on purpose: one type owns the prepared statements, counters and line index of one
// top-level transaction (per-line writes, then removals, supersedence and expiry); split, those would be
// handed between files for every one of 500,000 lines.

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
package final class CatalogApplier {
    let db: Database
    let syncNumber: Int
    let filter: UpdateFilter
    package let isFirstSync: Bool
    private let upsert: RawStatement
    /// With the line index, the lookup tells what is stored, so a record goes in through the one
    /// statement it needs: a plain insert (new), every field (a higher revision), or upstream's expiry alone.
    private let insert: RawStatement
    private let updateNewer: RawStatement
    private let updateExpiry: RawStatement
    /// What is stored for an id, read before a parsed line is written (line-index mode).
    private let lookup: RawStatement
    private let tracker: Supersedence.Tracker
    private let marker: ChangeLog.Marker
    /// Records of ids the site does not hold, checked against the purged ones.
    private let returning: Purge.Returning
    /// Stored-index mode: purged ids upstream still lists (the others are forgotten at the end).
    private var listedPurged: Set<UInt128> = []
    /// Matches lines against the previous catalog's index, when it is valid for this database
    /// (line-index mode); matches nothing otherwise. The reader drives it (``CatalogLineReader``) while
    /// ``add(_:hash:)`` runs, so nothing else here touches it during the read.
    package var matcher: LineMatcher
    /// The previous catalog's index, when in use (a delta that skips known lines).
    package let previous: CatalogIndex?
    /// Stored-index mode: the stored updates as of the start of the sync, plus what this sync added.
    private var stored: [UInt128: Entry] = [:]
    /// Line-index mode: ids of the kept lines parsed in this sync.
    private var parsedIDs: Set<UInt128> = []
    /// Lines the previous index did not know, in the order read, for the next index.
    private var freshHashes: [UInt64] = []
    private var freshIDs: [UInt128] = []
    private var freshMetas: [UInt32] = []
    /// False once product or classification names outgrow the index's fields: no index is kept then.
    private var indexable = true
    private var products: [String]
    private var classifications: [String]
    private var productIndex: [String: UInt16] = [:]
    private var classificationIndex: [String: UInt16] = [:]
    /// Parsed lines per product and classification (the matcher counts the known ones).
    private var productCounts: [Int]
    private var classificationCounts: [Int]

    struct Entry {
        var revision: Int32
        var upstreamExpired: Bool
        var seen: Bool
    }

    package struct CategoryKey: Hashable {
        var kind: String
        var name: String
    }

    /// - Parameters:
    ///   - previous: the line index for this database's current state, or nil to parse every line.
    ///   - progress: told how many known lines went by, and asked for a stop request.
    package init(
        db: Database, syncNumber: Int, filter: UpdateFilter, previous: CatalogIndex?, progress: SyncProgress? = nil
    ) throws {
        self.db = db
        self.syncNumber = syncNumber
        self.filter = filter
        // Fields follow the record only when its revision is higher than the stored one:
        // equal or lower revisions leave the stored update as it is.
        let newer = "excluded.revision > updates.revision"
        let content = UpdateColumn.allCases.filter(\.isContent)
        let fields = content.map(\.name)
        // Upstream's expiry counts whatever the revision, and is final.
        let assignments =
            fields.map { "\($0) = CASE WHEN \(newer) THEN excluded.\($0) ELSE updates.\($0) END" }
            + ["upstream_expired = max(updates.upstream_expired, excluded.upstream_expired)"]
        self.upsert = try RawStatement(
            db,
            sql: """
                INSERT INTO updates (\(UpdateColumn.names))
                VALUES (\(UpdateColumn.placeholders))
                ON CONFLICT(id) DO UPDATE SET
                    seen_sync = excluded.seen_sync,
                    \(assignments.joined(separator: ",\n"))
                    , revision = max(updates.revision, excluded.revision)
                """
        )
        self.insert = try RawStatement(
            db,
            sql:
                "INSERT INTO updates (\(UpdateColumn.names)) VALUES (\(UpdateColumn.placeholders))"
        )
        // The upsert's assignments for a higher revision, from the same numbered parameters.
        let newerAssignments = content.map { "\($0.name) = ?\($0.rawValue)" }
        self.updateNewer = try RawStatement(
            db,
            sql: """
                UPDATE updates SET seen_sync = ?\(UpdateColumn.seenSync.rawValue), \(newerAssignments.joined(separator: ", ")),
                    upstream_expired = max(upstream_expired, ?\(UpdateColumn.upstreamExpired.rawValue)),
                    revision = ?\(UpdateColumn.revision.rawValue)
                WHERE id = ?1
                """
        )
        self.updateExpiry = try RawStatement(
            db, sql: "UPDATE updates SET upstream_expired = 1, seen_sync = ?2 WHERE id = ?1")
        self.marker = try ChangeLog.Marker(db)
        self.returning = try Purge.Returning(db)
        self.lookup = try RawStatement(
            db, sql: "SELECT revision, upstream_expired, supersedes, released_epoch FROM updates WHERE id = ?1")
        try Supersedence.beginTouching(db)
        self.tracker = try Supersedence.Tracker(db)
        let anyStored = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM updates)") ?? false
        let version = try Int.fetchOne(db, sql: "SELECT catalog_version FROM site_state WHERE id = 1") ?? 0
        self.isFirstSync = !anyStored && version == 0
        let previous = isFirstSync ? nil : previous
        self.previous = previous
        self.matcher = LineMatcher(index: previous, progress: progress)
        products = previous?.products ?? []
        classifications = previous?.classifications ?? []
        for (index, name) in products.enumerated() { productIndex[name] = UInt16(index) }
        for (index, name) in classifications.enumerated() { classificationIndex[name] = UInt16(index) }
        productCounts = Array(repeating: 0, count: products.count)
        classificationCounts = Array(repeating: 0, count: classifications.count)
        if !isFirstSync && previous == nil {
            try loadStoredIndex()
        }
    }

    /// Whether a line index is in use.
    package var usesLineIndex: Bool { previous != nil }

    /// Lines the previous catalog had (the progress total's estimate in line-index mode).
    package var previousLineCount: Int? { previous?.count }

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
    package static func key(_ id: String) -> UInt128? {
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
        String(unsafeUninitializedCapacity: 36) { buffer in
            var nibble = 32
            for offset in 0..<36 {
                if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                    buffer[offset] = UInt8(ascii: "-")
                    continue
                }
                nibble -= 1
                let digit = UInt8(truncatingIfNeeded: key >> (nibble * 4)) & 0xF
                buffer[offset] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
            }
            return 36
        }
    }

    /// Counts the record (a line the matcher did not know; `hash` is its ``LineHash``) in upstream's
    /// offer and stores it when the filter keeps it.
    package func add(_ record: CatalogRecord, hash: UInt64) throws {
        let product = intern(record.product, into: &products, index: &productIndex, counts: &productCounts)
        let classification = intern(
            record.classification, into: &classifications, index: &classificationIndex, counts: &classificationCounts)
        let kept = filter.keeps(
            product: record.product, classification: record.classification, languages: record.languages)
        let key = Self.key(record.id) ?? 0
        if indexable {
            freshHashes.append(hash)
            freshIDs.append(kept ? key : 0)
            freshMetas.append(CatalogIndex.Meta(product: product, classification: classification, kept: kept).packed)
        }
        guard kept else { return }
        let supersedes: String? = record.supersedes.isEmpty ? nil : CatalogJSONWriter.text(of: record.supersedes)
        var before: Supersedence.Stored?
        var storedRevision = 0
        var isNew = false
        if previous != nil {
            parsedIDs.insert(key)
            // The line's bytes changed, but a lower or equal revision without a new expiry still leaves
            // the stored update as it is; what is stored also tells whether supersedence must look again.
            lookup.bind(1, record.id)
            if try lookup.step() {
                storedRevision = Int(lookup.int64(0))
                let upstreamExpired = lookup.bool(1)
                before = Supersedence.Stored(supersedes: lookup.text(2), releasedEpoch: lookup.int64(3))
                lookup.reset()
                if record.revision <= storedRevision && (!record.expired || upstreamExpired) { return }
            } else {
                lookup.reset()
                // A purged update comes back only with a higher revision.
                if try returning.staysPurged(record.id, revision: record.revision) { return }
                isNew = true
            }
        } else if !isFirstSync {
            if var entry = stored[key] {
                entry.seen = true
                let unchanged =
                    Int32(clamping: record.revision) <= entry.revision && (!record.expired || entry.upstreamExpired)
                storedRevision = Int(entry.revision)
                entry.revision = max(entry.revision, Int32(clamping: record.revision))
                entry.upstreamExpired = entry.upstreamExpired || record.expired
                stored[key] = entry
                // Equal or lower revision and no new expiry: the stored update stays as it is.
                if unchanged { return }
            } else {
                if try returning.staysPurged(record.id, revision: record.revision) {
                    listedPurged.insert(key)
                    return
                }
                stored[key] = Entry(
                    revision: Int32(clamping: record.revision), upstreamExpired: record.expired, seen: true)
                isNew = true
            }
        }
        if previous == nil {
            UpdateColumn.bind(
                upsert, record, languages: CatalogJSONWriter.text(of: record.languages), supersedes: supersedes,
                seenSync: syncNumber)
            try upsert.run()
        } else if isNew || record.revision > storedRevision {
            let statement = isNew ? insert : updateNewer
            UpdateColumn.bind(
                statement, record, languages: CatalogJSONWriter.text(of: record.languages), supersedes: supersedes,
                seenSync: syncNumber)
            try statement.run()
        } else {
            updateExpiry.bind(1, record.id)
            updateExpiry.bind(2, syncNumber)
            try updateExpiry.run()
        }
        if !isFirstSync {
            // A first sync marks nothing (every update counts as new); a new upstream expiry alone is
            // marked by the expiry step.
            if isNew {
                try marker.mark(record.id, .new)
            } else if record.revision > storedRevision {
                try marker.mark(record.id, .revised)
            }
        }
        if previous != nil {
            // A newer revision replaced the stored fields; an equal or older one only brought upstream's expiry.
            let after =
                before == nil || record.revision > storedRevision
                ? Supersedence.Stored(supersedes: supersedes, releasedEpoch: record.releasedEpoch) : before!
            try tracker.wrote(record.id, before: before, after: after)
        }
    }

    private func intern(
        _ name: String, into names: inout [String], index: inout [String: UInt16], counts: inout [Int]
    ) -> UInt16 {
        if let known = index[name] {
            counts[Int(known)] += 1
            return known
        }
        guard names.count < CatalogIndex.Meta.maximumNames else {
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

    /// Upstream's offer per product and classification, selected or not: known lines and parsed ones.
    package var offered: [CategoryKey: Int] {
        var result: [CategoryKey: Int] = [:]
        for (counts, known, kind, names) in [
            (productCounts, matcher.productCounts, "product", products),
            (classificationCounts, matcher.classificationCounts, "classification", classifications),
        ] {
            for (index, count) in counts.enumerated() {
                let total = count + (index < known.count ? known[index] : 0)
                if total > 0 { result[CategoryKey(kind: kind, name: names[index]), default: 0] += total }
            }
        }
        return result
    }

    /// How long the steps of ``finish(expiryCutoff:purgeCutoff:now:)`` took (for the debug log).
    package private(set) var finishPhases = PhaseTimes()

    /// Removal, purge, supersedence and expiry, then the counts. `expiryCutoff`: a superseded update whose
    /// superseding update was released at or before this epoch second is expired. `purgeCutoff`: updates
    /// expired before this epoch second are purged (``Purge``); nil purges nothing. `now` (epoch seconds)
    /// stamps this sync's expiries.
    package func finish(expiryCutoff: Int64, purgeCutoff: Int64? = nil, now: Int64) throws -> ChangeCounts {
        let delete = try RawStatement(db, sql: "DELETE FROM updates WHERE id = ?1 RETURNING supersedes")
        finishPhases = PhaseTimes()
        // In id order, so the deletes walk the table's pages in order.
        let removedKeys = removedKeys().sorted()
        finishPhases.mark("removedKeys")
        for key in removedKeys {
            let id = Self.id(key)
            delete.bind(1, id)
            guard try delete.step() else {
                delete.reset()
                // Not held: maybe purged, and upstream has let it go too.
                try returning.forget(id)
                continue
            }
            let supersedes = delete.text(0)
            while try delete.step() {}
            delete.reset()
            try marker.mark(id, .removed)
            try tracker.removed(id, supersedes: supersedes)
        }
        if isFirstSync {
            try Supersedence.rebuild(db, expiryCutoff: expiryCutoff, firstSync: true)
            try Purge.stamp(db, now: now)
            var counts = ChangeCounts()
            counts.new = try Int.fetchOne(db, sql: "SELECT count(*) FROM updates") ?? 0
            return counts
        }
        if previous == nil {
            // Every line was read: purged ids upstream no longer lists are forgotten.
            for id in try String.fetchAll(db, sql: "SELECT id FROM purged") {
                if let key = Self.key(id), listedPurged.contains(key) { continue }
                try returning.forget(id)
            }
        }
        finishPhases.mark("removals")
        if let purgeCutoff {
            try Purge.run(db, cutoff: purgeCutoff, now: now)
            finishPhases.mark("purge")
        }
        if previous == nil {
            // Without the line index nothing was known of the stored lists: every pair is made again.
            try Supersedence.rebuild(db, expiryCutoff: nil, firstSync: false)
        } else {
            try Supersedence.update(db)
        }
        finishPhases.mark("supersedence")
        try Supersedence.expire(db, cutoff: expiryCutoff)
        try Purge.stamp(db, now: now)
        finishPhases.mark("expire")
        defer { finishPhases.mark("counts") }
        return try ChangeLog.pendingCounts(db)
    }

    /// Stored ids upstream no longer offers (or the filter no longer keeps).
    private func removedKeys() -> [UInt128] {
        // The matcher's copy of the index carries the shared-id marks it made.
        guard let previous = matcher.index else { return stored.compactMap { $0.value.seen ? nil : $0.key } }
        // Kept lines that are gone name the candidates; an id survives if a parsed line still carries it,
        // or (only possible for an id on several lines) a known kept line does.
        var removed: [UInt128] = []
        var shared: Set<UInt128> = []
        matcher.seen.forEachMissing(below: previous.count) { position in
            let meta = previous.meta(at: position)
            guard meta.kept else { return }
            let id = previous.id(at: position)
            guard !parsedIDs.contains(id) else { return }
            if meta.sharedID { shared.insert(id) } else { removed.append(id) }
        }
        if !shared.isEmpty {
            for position in 0..<previous.count where matcher.seen.contains(position) {
                let meta = previous.meta(at: position)
                if meta.kept && meta.sharedID { shared.remove(previous.id(at: position)) }
            }
            removed += shared
        }
        return removed
    }

    /// How to make the index describing the catalog just applied, for the state `stamp`: the runs of
    /// known lines in their new order, then the parsed lines (its hash table and shared-id marks are
    /// made in the background once it is stored). The work needs nothing more of this applier, so it may
    /// run on another thread while the sync finishes (removals, supersedence, the commit). Nil when no
    /// index can be kept. Call once the catalog has been read.
    package func nextIndexMaker() -> (@Sendable (CatalogIndex.Stamp) -> CatalogIndex)? {
        guard indexable else { return nil }
        matcher.finish()
        let (previous, runs, known) = (matcher.index, matcher.runs, matcher.known)
        let (freshHashes, freshIDs, freshMetas) = (self.freshHashes, self.freshIDs, self.freshMetas)
        let (products, classifications) = (self.products, self.classifications)
        return { stamp in
            Self.makeIndex(
                stamp: stamp, previous: previous, runs: runs, known: known, fresh: (freshHashes, freshIDs, freshMetas),
                products: products, classifications: classifications)
        }
    }

    private static func makeIndex(
        stamp: CatalogIndex.Stamp, previous: CatalogIndex?, runs: [Range<Int>], known: Int,
        fresh: (hashes: [UInt64], ids: [UInt128], metas: [UInt32]), products: [String], classifications: [String]
    ) -> CatalogIndex {
        var hashes: [UInt64] = []
        var ids: [UInt128] = []
        var metas: [UInt32] = []
        let total = known + fresh.hashes.count
        hashes.reserveCapacity(total)
        ids.reserveCapacity(total)
        metas.reserveCapacity(total)
        if let previous {
            for run in runs {
                hashes += previous.hashes[run]
                ids += previous.ids[run]
                // Shared-id marks are worked out again for the new index.
                metas += previous.metas[run].lazy.map { $0 & ~(1 << 30) }
            }
        }
        hashes += fresh.hashes
        ids += fresh.ids
        metas += fresh.metas
        return CatalogIndex(
            stamp: stamp, products: products, classifications: classifications, hashes: hashes, ids: ids,
            metas: metas)
    }
}
