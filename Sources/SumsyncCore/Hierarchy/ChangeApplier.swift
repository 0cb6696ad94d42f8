import Foundation
import GRDB

/// Applies a downloaded change stream (see ``ChangeFeed``) inside the caller's write transaction.
///
/// The stream must be whole: its header's counts, its lines and its trailer must agree, or nothing is
/// applied. The child mirrors its parent: records overwrite stored ones, `expired` is the parent's
/// verdict, supersedence is recomputed from the same lists, and the catalog version becomes the parent's.
/// An imported site bundle is applied the same way, mirroring the site it was exported from.
struct ChangeApplier: Sendable {
    let path: String
    /// Who sent the stream, for messages: `parent CAS`, `bundle /srv/export.bundle`.
    let source: String
    /// The header the stream must start with (a bundle's signed manifest promises it); nil = any.
    var expectedHeader: ChangeFeed.Header? = nil

    func apply(_ db: Database, progress: SyncProgress) throws -> (ChangeCounts, Int) {
        var phases = PhaseTimes()
        return try apply(db, progress: progress, phases: &phases)
    }

    /// `apply`, noting how long its phases took in `phases`.
    func apply(_ db: Database, progress: SyncProgress, phases: inout PhaseTimes) throws -> (ChangeCounts, Int) {
        try ChangeLog.begin(db)
        try Supersedence.beginTouching(db)
        try db.execute(sql: "UPDATE site_state SET sync_counter = sync_counter + 1 WHERE id = 1")
        let syncNumber = try Int.fetchOne(db, sql: "SELECT sync_counter FROM site_state WHERE id = 1") ?? 1
        let versionBefore = try Int.fetchOne(db, sql: "SELECT catalog_version FROM site_state WHERE id = 1") ?? 0
        let anyStored = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM updates)") ?? false
        let fields = [
            "revision", "title", "product", "classification", "languages", "kb", "bulletin", "severity", "released",
            "released_epoch", "revised", "supersedes", "upstream_expired", "expired", "size", "url", "description",
        ]
        let upsert = try db.makeStatement(
            sql: """
                INSERT INTO updates (id, \(fields.joined(separator: ", ")), seen_sync)
                VALUES (?, \(fields.map { _ in "?" }.joined(separator: ", ")), ?)
                ON CONFLICT(id) DO UPDATE SET
                    seen_sync = excluded.seen_sync,
                    \(fields.map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
                """
        )
        let mark = try ChangeLog.markStatement(db)
        // A first full snapshot into an empty site: plain inserts, no per-row marks, no change-log rows.
        let insert = try db.makeStatement(
            sql: """
                INSERT INTO updates (id, \(fields.joined(separator: ", ")), seen_sync)
                VALUES (?, \(fields.map { _ in "?" }.joined(separator: ", ")), ?)
                """
        )
        let tracker = try Supersedence.Tracker(db)
        // What is stored, field by field, decides the change kind (and whether to write at all).
        let lookup = try db.makeStatement(sql: "SELECT \(fields.joined(separator: ", ")) FROM updates WHERE id = ?")
        let expiredField = fields.firstIndex(of: "expired")!
        let supersedesField = fields.firstIndex(of: "supersedes")!
        let releasedField = fields.firstIndex(of: "released_epoch")!
        let delete = try db.makeStatement(sql: "DELETE FROM updates WHERE id = ? RETURNING supersedes")
        let reader = try CatalogLineReader(path: path)
        defer { try? SiteStore.setLargeCache(false, db) }
        var header: ChangeFeed.Header?
        var trailer: ChangeFeed.Trailer?
        var upserts = 0
        var removals = 0
        var firstSnapshot = false
        let decoder = JSONDecoder()
        try reader.forEachLine { number, bytes in
            if number & 1023 == 0 {
                if progress.isStopRequested { throw SyncError.cancelled }
                progress.advance(to: upserts + removals)
            }
            guard trailer == nil else { throw SyncError("the change stream from \(source) has lines after its end") }
            guard let header else {
                let parsed = try decoder.decode(ChangeFeed.Header.self, from: Data(bytes))
                guard parsed.sumsync == "changes" else { throw SyncError("\(source) sent something that is not a change stream") }
                if let expectedHeader, parsed != expectedHeader {
                    throw SyncError("the change stream from \(source) does not match what its manifest promises; nothing was applied")
                }
                header = parsed
                firstSnapshot = parsed.full && !anyStored && versionBefore == 0
                if !firstSnapshot { try SiteStore.setLargeCache(true, db) }
                progress.enter(.applying, total: parsed.upserts + parsed.removals)
                return
            }
            if upserts < header.upserts {
                let record = try CatalogRecordParser.parse(bytes, line: number)
                let values: [DatabaseValue] = [
                    record.revision.databaseValue, record.title.databaseValue, record.product.databaseValue,
                    record.classification.databaseValue, JSONText.array(record.languages).databaseValue,
                    record.kb.databaseValue, record.bulletin.databaseValue, record.severity.databaseValue,
                    record.released.databaseValue, record.releasedEpoch.databaseValue, record.revised.databaseValue,
                    (record.supersedes.isEmpty ? nil : JSONText.array(record.supersedes)).databaseValue,
                    record.expired.databaseValue, record.expired.databaseValue, record.size.databaseValue,
                    record.url.databaseValue, record.description.databaseValue,
                ]
                let arguments = StatementArguments([record.id.databaseValue] + values + [syncNumber.databaseValue])
                if firstSnapshot {
                    try insert.execute(arguments: arguments)
                } else if let row = try Row.fetchOne(lookup, arguments: [record.id]) {
                    let stored = (0..<fields.count).map { row[$0] as DatabaseValue }
                    // In a full snapshot every listed update is written, so the rest can be found by seen_sync.
                    if stored != values || header.full {
                        try upsert.execute(arguments: arguments)
                    }
                    if stored[expiredField] == false.databaseValue && record.expired {
                        try mark.execute(arguments: [record.id, "expired"])
                    } else if stored != values {
                        try mark.execute(arguments: [record.id, "revised"])
                    }
                    try tracker.wrote(
                        record.id,
                        before: Supersedence.Stored(supersedes: row[supersedesField], releasedEpoch: row[releasedField]),
                        after: Supersedence.Stored(supersedes: String.fromDatabaseValue(values[supersedesField]), releasedEpoch: record.releasedEpoch))
                } else {
                    try upsert.execute(arguments: arguments)
                    try mark.execute(arguments: [record.id, "new"])
                    try tracker.wrote(
                        record.id, before: nil,
                        after: Supersedence.Stored(supersedes: String.fromDatabaseValue(values[supersedesField]), releasedEpoch: record.releasedEpoch))
                }
                upserts += 1
            } else if removals < header.removals {
                let removal = try decoder.decode(ChangeFeed.Removal.self, from: Data(bytes))
                if let row = try Row.fetchOne(delete, arguments: [removal.removed]) {
                    try mark.execute(arguments: [removal.removed, "removed"])
                    try tracker.removed(removal.removed, supersedes: row[0])
                }
                removals += 1
            } else {
                trailer = try decoder.decode(ChangeFeed.Trailer.self, from: Data(bytes))
            }
        }
        phases.mark("rows")
        guard let header, let trailer, trailer.end == header.to, trailer.upserts == upserts, trailer.removals == removals
        else {
            throw SyncError("the change stream from \(source) was cut short (\(upserts) updates, \(removals) removals received); nothing was applied")
        }
        if firstSnapshot {
            try Supersedence.rebuild(db, expiryCutoff: nil, firstSync: true)
            var counts = ChangeCounts()
            counts.new = upserts
            let (version, _) = try ChangeLog.commit(db, counts: counts, version: header.to, logged: false)
            return (counts, version)
        }
        if header.full {
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO changes_pending (update_id, kind) SELECT id, 'removed' FROM updates WHERE seen_sync != ?;
                    DELETE FROM updates WHERE seen_sync != ?;
                    """,
                arguments: [syncNumber, syncNumber]
            )
            try Supersedence.rebuild(db, expiryCutoff: nil, firstSync: false)
        } else {
            try Supersedence.update(db)
        }
        phases.mark("supersedence")
        var counts = try ChangeLog.pendingCounts(db)
        if header.full {
            // After a full snapshot the site holds exactly what it listed, whatever the kept count said.
            counts.unchanged = upserts - (counts.new + counts.revised + counts.expired + counts.superseded)
        }
        let (version, _) = try ChangeLog.commit(db, counts: counts, version: header.to)
        phases.mark("change log")
        return (counts, version)
    }
}
