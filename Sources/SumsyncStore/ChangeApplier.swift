import Foundation
import GRDB
import SumsyncFormats
import SumsyncModel

/// Applies a downloaded change stream (see ``ChangeFeed``) inside the caller's write transaction.
///
/// The stream must be whole: its header's counts, its lines and its trailer must agree, or nothing is
/// applied. The child mirrors its parent: records overwrite stored ones, `expired` is the parent's
/// verdict, supersedence is recomputed from the same lists (an empty site's first full snapshot takes it
/// as the stream carries it), and the catalog version becomes the parent's.
/// An imported site bundle is applied the same way, mirroring the site it was exported from.
package struct ChangeApplier: Sendable {
    /// The numbered parameters of `superseded_by` and `superseded_released` in the whole-row insert,
    /// after every ``UpdateColumn``.
    static let supersededByParameter = Int32(UpdateColumn.allCases.count + 1)
    let path: String
    /// Who sent the stream, for messages: `parent CAS`, `bundle /srv/export.bundle`.
    let source: String
    /// The header the stream must start with (a bundle's signed manifest promises it); nil = any.
    package var expectedHeader: ChangeFeed.Header? = nil
    /// Checks the header against what was asked for and the site's catalog version (inside the
    /// transaction, before any row); throws to refuse the whole stream.
    package var accepts: (@Sendable (_ header: ChangeFeed.Header, _ currentVersion: Int) throws -> Void)? = nil
    /// How this site trusts catalog versions (``SiteStore/apply(_:progress:check:)`` sets it).
    package var trust: CatalogTrust? = nil
    /// The keys that may sign the stream's root: nil, the catalog keys of ``trust`` (a parent's stream,
    /// whose root a verified hierarchy requires); an imported bundle's are the site's `trusted-keys`,
    /// and a bundle without a root is taken on its own signature.
    package var rootKeys: [Data]? = nil
    /// When the check happens (for the tests' clocks).
    package var now: @Sendable () -> Date = { Date() }

    package init(path: String, source: String, expectedHeader: ChangeFeed.Header? = nil) {
        self.path = path
        self.source = source
        self.expectedHeader = expectedHeader
    }

    package func apply(_ db: Database, progress: SyncProgress) throws -> (ChangeCounts, Int) {
        var phases = PhaseTimes()
        return try apply(db, progress: progress, phases: &phases)
    }

    /// `apply`, noting how long its phases took in `phases`.
    package func apply(_ db: Database, progress: SyncProgress, phases: inout PhaseTimes) throws -> (ChangeCounts, Int) {
        try ChangeLog.begin(db)
        try Supersedence.beginTouching(db)
        try db.execute(sql: "UPDATE site_state SET sync_counter = sync_counter + 1 WHERE id = 1")
        let syncNumber = try Int.fetchOne(db, sql: "SELECT sync_counter FROM site_state WHERE id = 1") ?? 1
        let versionBefore = try Int.fetchOne(db, sql: "SELECT catalog_version FROM site_state WHERE id = 1") ?? 0
        let anyStored = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM updates)") ?? false
        let columns = UpdateColumn.names
        let whole = Int(Self.supersededByParameter) - 1
        let insert = try RawStatement(
            db, sql: "INSERT INTO updates (\(columns)) VALUES (\(UpdateColumn.placeholders))")
        let update = try RawStatement(db, sql: "UPDATE updates SET \(UpdateColumn.assignments) WHERE id = ?1")
        // An empty site's first snapshot from a stream that carries supersedence: rows are written whole,
        // and the pairs from each record's list, so supersedence needs no second pass.
        let insertWhole = try RawStatement(
            db,
            sql:
                "INSERT INTO updates (\(columns), superseded_by, superseded_released) VALUES (\(UpdateColumn.placeholders), ?\(whole + 1), ?\(whole + 2))"
        )
        let pair = try RawStatement(
            db, sql: "INSERT INTO supersessions (target, by_id, by_released) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"
        )
        // A full snapshot lists every update: an unchanged one only gets this sync's number.
        let touch = try RawStatement(db, sql: "UPDATE updates SET seen_sync = ?2 WHERE id = ?1")
        // What is stored, column by column (the record's columns after `id`), decides the change kind
        // and whether to write at all.
        let lookup = try RawStatement(
            db, sql: "SELECT \(UpdateColumn.stored.map(\.name).joined(separator: ", ")) FROM updates WHERE id = ?1")
        let delete = try RawStatement(db, sql: "DELETE FROM updates WHERE id = ?1 RETURNING supersedes")
        let marker = try ChangeLog.Marker(db)
        let tracker = try Supersedence.Tracker(db)
        let reader = try CatalogLineReader(path: path)
        defer { try? SiteStore.setLargeCache(false, db) }
        var header: ChangeFeed.Header?
        var trailer: ChangeFeed.Trailer?
        var upserts = 0
        var removals = 0
        var firstSnapshot = false
        /// Taking the stream's supersedence as it is (see ``SupersededTail``); `false` after a line whose
        /// tail could not be read, and then supersedence is worked out here after all.
        var takesSupersedence = false
        var supersedenceUnreadable = false
        let decoder = JSONDecoder()
        try reader.forEachLine { number, bytes in
            if number & 1023 == 0 {
                if progress.isStopRequested { throw SyncError.cancelled }
                progress.advance(to: upserts + removals)
            }
            guard trailer == nil else { throw SyncError("the change stream from \(source) has lines after its end") }
            guard let header else {
                let parsed = try decodeLine(ChangeFeed.Header.self, "a change stream header", number, bytes, decoder)
                guard parsed.sumsync == "changes" else {
                    throw SyncError("\(source) sent something that is not a change stream")
                }
                if var promised = expectedHeader {
                    // A manifest promises the frame; what the records carry is covered by its signed digest.
                    promised.supersededBy = parsed.supersededBy
                    guard parsed == promised else {
                        throw SyncError(
                            "the change stream from \(source) does not match what its manifest promises; nothing was applied"
                        )
                    }
                }
                try accepts?(parsed, versionBefore)
                header = parsed
                firstSnapshot = parsed.full && !anyStored && versionBefore == 0
                // A full snapshot's digest is worked out from the final rows (see below), not kept by triggers.
                if parsed.full { try CatalogState.suspend(db) }
                takesSupersedence = firstSnapshot && parsed.supersededBy == true
                if firstSnapshot {
                    try SiteStore.setFirstSyncCache(db)
                } else {
                    try SiteStore.setLargeCache(true, db)
                }
                progress.enter(.applying, total: parsed.upserts + parsed.removals)
                return
            }
            if upserts < header.upserts {
                let record = try CatalogRecordParser.parse(bytes, line: number)
                let languages = CatalogJSONWriter.text(of: record.languages)
                let supersedes = record.supersedes.isEmpty ? nil : CatalogJSONWriter.text(of: record.supersedes)
                upserts += 1
                let after = Supersedence.Stored(supersedes: supersedes, releasedEpoch: record.releasedEpoch)
                if firstSnapshot {
                    if takesSupersedence {
                        switch SupersededTail.read(bytes) {
                        case .none:
                            insertWhole.bind(Self.supersededByParameter, nil as String?)
                            insertWhole.bind(Self.supersededByParameter + 1, nil as Int64?)
                        case .superseded(let by, let released):
                            insertWhole.bind(Self.supersededByParameter, by)
                            insertWhole.bind(Self.supersededByParameter + 1, released)
                        case .unreadable:
                            takesSupersedence = false
                            supersedenceUnreadable = true
                        }
                    }
                    guard takesSupersedence else {
                        UpdateColumn.bind(
                            insert, record, languages: languages, supersedes: supersedes, seenSync: syncNumber)
                        try insert.run()
                        return
                    }
                    UpdateColumn.bind(
                        insertWhole, record, languages: languages, supersedes: supersedes, seenSync: syncNumber)
                    try insertWhole.run()
                    for target in record.supersedes where target != record.id {
                        pair.bind(1, target)
                        pair.bind(2, record.id)
                        pair.bind(3, record.releasedEpoch)
                        try pair.run()
                    }
                    return
                }
                lookup.bind(1, record.id)
                guard try lookup.step() else {
                    lookup.reset()
                    UpdateColumn.bind(
                        insert, record, languages: languages, supersedes: supersedes, seenSync: syncNumber)
                    try insert.run()
                    try marker.mark(record.id, .new)
                    try tracker.wrote(record.id, before: nil, after: after)
                    return
                }
                let same = UpdateColumn.holds(lookup, record, languages: languages, supersedes: supersedes)
                let wasExpired = lookup.bool(UpdateColumn.expired.storedPosition)
                let before = Supersedence.Stored(
                    supersedes: lookup.text(UpdateColumn.supersedes.storedPosition),
                    releasedEpoch: lookup.int64(UpdateColumn.releasedEpoch.storedPosition))
                lookup.reset()
                if !same {
                    UpdateColumn.bind(
                        update, record, languages: languages, supersedes: supersedes, seenSync: syncNumber)
                    try update.run()
                    try marker.mark(record.id, !wasExpired && record.expired ? .expired : .revised)
                    try tracker.wrote(record.id, before: before, after: after)
                } else if header.full {
                    // In a full snapshot every listed update is stamped, so the rest can be found by seen_sync.
                    touch.bind(1, record.id)
                    touch.bind(2, syncNumber)
                    try touch.run()
                }
            } else if removals < header.removals {
                let (id, purged) = try removedID(bytes, line: number, decoder: decoder)
                removals += 1
                delete.bind(1, id)
                guard try delete.step() else { return delete.reset() }
                let supersedes = delete.text(0)
                while try delete.step() {}
                delete.reset()
                try marker.mark(id, purged ? .purged : .removed)
                try tracker.removed(id, supersedes: supersedes)
            } else {
                trailer = try decodeLine(ChangeFeed.Trailer.self, "the stream's end line", number, bytes, decoder)
            }
        }
        phases.mark("rows")
        guard let header, let trailer, trailer.end == header.to, trailer.upserts == upserts,
            trailer.removals == removals
        else {
            throw SyncError(
                "the change stream from \(source) was cut short (\(upserts) updates, \(removals) removals received); nothing was applied"
            )
        }
        if firstSnapshot {
            if supersedenceUnreadable {
                // Rows written before the unreadable line took the stream's values: start from none.
                try db.execute(
                    sql:
                        "UPDATE updates SET superseded_by = NULL, superseded_released = NULL WHERE superseded_by IS NOT NULL"
                )
            }
            if takesSupersedence {
                phases.mark("supersedence (the stream's)")
            } else {
                try Supersedence.rebuild(db, expiryCutoff: nil, firstSync: true)
                phases.mark("supersedence")
            }
            try CatalogState.rebuild(db)
            phases.mark("digest")
            var counts = ChangeCounts()
            counts.new = upserts
            let (version, _) = try ChangeLog.commit(db, counts: counts, version: header.to, logged: false)
            try checkRoot(trailer.root, db)
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
            // A full snapshot mirrors the parent whatever the site held: its digest is worked out from the
            // rows, so damage the kept one carried is gone with the rows that had it.
            try CatalogState.rebuild(db)
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
        try checkRoot(trailer.root, db)
        phases.mark("root")
        return (counts, version)
    }

    /// The signed root's check once everything is written (see ``CatalogState/check``).
    private func checkRoot(_ root: CatalogRoot?, _ db: Database) throws {
        let keys = rootKeys ?? trust?.catalogKeys ?? []
        try CatalogState.check(
            db, root: root, keys: keys, required: rootKeys == nil && trust?.isVerified == true, trust: trust,
            now: now())
    }

    /// The id of a removal line, `{"removed":"<id>"}` or `{"removed":"<id>","purged":true}`, and whether it
    /// was purged: read in place when it is written the way ``ChangeFeed`` writes it, decoded as JSON
    /// otherwise (ids compare lowercased, as stored).
    private func removedID(_ bytes: UnsafeRawBufferPointer, line number: Int, decoder: JSONDecoder) throws -> (
        String, purged: Bool
    ) {
        let prefix = #"{"removed":""#.utf8
        for (suffix, purged) in [(#""}"#.utf8, false), (#"","purged":true}"#.utf8, true)] {
            let count = bytes.count - prefix.count - suffix.count
            if count == 36, bytes.starts(with: prefix), bytes.reversed().starts(with: suffix.reversed()),
                let id = JSONScanner.lowercasedGUID(
                    UnsafeRawBufferPointer(rebasing: bytes[prefix.count..<(prefix.count + count)]))
            {
                return (id, purged)
            }
        }
        let removal = try decodeLine(ChangeFeed.Removal.self, "a removal", number, bytes, decoder)
        return (removal.removed.lowercased(), removal.purged == true)
    }

    /// A line of the stream's own frame (header, removal, end), or an error that names the line.
    private func decodeLine<T: Decodable>(
        _ type: T.Type, _ what: String, _ number: Int, _ bytes: UnsafeRawBufferPointer, _ decoder: JSONDecoder
    ) throws -> T {
        do {
            return try decoder.decode(type, from: Data(bytes))
        } catch {
            throw SyncError(
                "malformed change stream from \(source): line \(number) is not \(what); nothing was applied")
        }
    }
}
