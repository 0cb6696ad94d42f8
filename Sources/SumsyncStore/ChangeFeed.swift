import Foundation
import GRDB
import SumsyncFormats
import SumsyncModel

/// The site-to-site change stream (`GET /v1/changes?since=V`), written from one consistent read of the
/// site database. See docs/protocol.md.
///
/// ```
/// {"sumsync":"changes","site":"CAS","from":3,"to":5,"full":false,"upserts":2,"removals":1}
/// <2 catalog lines: the full update records, `expired` as this site holds it>
/// {"removed":"<id>"}                       (or {"removed":"<id>","purged":true}: purged as expired)
/// {"end":5,"upserts":2,"removals":1}
/// ```
/// `since=0`, or a `since` ahead of this site, gives the full snapshot (`"full":true`): the receiver then
/// removes whatever the snapshot does not list.
package enum ChangeFeed {
    package struct Header: Codable, Equatable {
        var sumsync = "changes"
        package var site: String
        package var from: Int
        package var to: Int
        package var full: Bool
        package var upserts: Int
        package var removals: Int
        /// The records carry the sending site's `superseded_by` and `superseded_released` (last in the
        /// line, when it has them): an empty child then takes them as they are instead of working out
        /// supersedence again. Absent from older sites' streams.
        var supersededBy: Bool? = nil

        package init(
            site: String, from: Int, to: Int, full: Bool, upserts: Int, removals: Int, supersededBy: Bool? = nil
        ) {
            self.site = site
            self.from = from
            self.to = to
            self.full = full
            self.upserts = upserts
            self.removals = removals
            self.supersededBy = supersededBy
        }

        enum CodingKeys: String, CodingKey {
            case sumsync, site, from, to, full, upserts, removals
            case supersededBy = "superseded_by"
        }
    }

    struct Trailer: Codable, Equatable {
        var end: Int
        var upserts: Int
        var removals: Int
        /// The signed root of version `end` (docs/protocol.md, "Signed roots"); absent when the sending site
        /// holds none for it (an unverified hierarchy).
        var root: CatalogRoot? = nil
    }

    struct Removal: Codable, Equatable {
        var removed: String
        /// The update was purged as expired (`[sync] purge-expired-after`) rather than withdrawn upstream;
        /// absent otherwise, and ignored by older sites (a removal to them).
        var purged: Bool? = nil
    }

    /// `since` is older than the retained change log: the child must resync from `since=0`.
    package struct TooOld: Error {
        package let floor: Int
    }

    /// The stored update count disagrees with the rows read: the database needs a look.
    struct CountMismatch: Error, CustomStringConvertible {
        let promised: Int
        let found: Int
        var description: String {
            "the site database holds \(found) updates but records \(promised) (site_state.update_count); run `sumsyncctl sync --full` at this site to recount"
        }
    }

    /// Writes the feed for `since` to `path` and returns its header.
    package static func write(store: SiteStore, site: SiteCode, since: Int, to path: String) throws -> Header {
        var phases = PhaseTimes()
        return try write(store: store, site: site, since: since, to: path, phases: &phases)
    }

    /// `write(store:site:since:to:)`, noting its phases.
    package static func write(store: SiteStore, site: SiteCode, since: Int, to path: String, phases: inout PhaseTimes)
        throws -> Header
    {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let file = FileHandle(forWritingAtPath: path)
        else { throw CocoaError(.fileWriteUnknown) }
        defer { try? file.close() }
        // The header line is written last, into room kept for it (JSON allows the trailing spaces): the
        // counts are known once the lines are written, so nothing is counted before.
        var buffer = Data(repeating: 0x20, count: headerRoom - 1)
        buffer.append(0x0A)
        phases.mark("open")
        let header = try writeLines(store: store, site: site, since: since, headerLast: true) { line in
            buffer.append(contentsOf: line)
            buffer.append(0x0A)
            if buffer.count >= 1 << 20 {
                try file.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        phases.mark("lines")
        try file.write(contentsOf: buffer)
        var headerLine = try JSONEncoder().encode(header)
        guard headerLine.count < headerRoom else { throw CocoaError(.fileWriteUnknown) }
        headerLine.append(Data(repeating: 0x20, count: headerRoom - 1 - headerLine.count))
        try file.seek(toOffset: 0)
        try file.write(contentsOf: headerLine)
        phases.mark("file")
        return header
    }

    /// Bytes kept for the header line (newline included) in a stream written to a file.
    static let headerRoom = 256

    /// Produces the feed for `since` one line at a time (without newlines), from one consistent read,
    /// and returns its header. Export bundles use it too. `headerLast`: emit no header line (the caller
    /// writes the returned one in front), and count while emitting rather than before.
    package static func write(
        store: SiteStore, site: SiteCode, since: Int, headerLast: Bool = false, emit: (String) throws -> Void
    ) throws -> Header {
        try writeLines(store: store, site: site, since: since, headerLast: headerLast) { line in
            try emit(String(decoding: line, as: UTF8.self))
        }
    }

    /// ``write(store:site:since:headerLast:emit:)`` with each line as UTF-8 bytes.
    private static func writeLines(
        store: SiteStore, site: SiteCode, since: Int, headerLast: Bool, emit: ([UInt8]) throws -> Void
    ) throws -> Header {
        try store.pool.read { db in
            let state = try Row.fetchOne(
                db, sql: "SELECT catalog_version, change_log_floor, catalog_root FROM site_state WHERE id = 1")!
            let current: Int = state["catalog_version"]
            let floor: Int = state["change_log_floor"]
            let root = CatalogRoot.decode(state["catalog_root"]).flatMap { $0.version == current ? $0 : nil }
            let full = since <= 0 || since > current
            if !full && since < floor { throw TooOld(floor: floor) }
            // One pass: every id changed since `since` with its row, or without one when it is gone (a
            // removal); removals follow the rows, so they wait in memory (ids only). Rows come in id
            // order, also in a full snapshot: a child then fills its empty table and id index in order.
            let columns = (UpdateColumn.lineColumns.map(\.name) + ["superseded_by", "superseded_released"])
                .map { "u.\($0)" }.joined(separator: ", ")
            let rowsSQL =
                full
                ? "SELECT u.id, \(columns) FROM updates u ORDER BY u.id"
                : """
                SELECT c.update_id, \(columns), c.kind
                FROM (SELECT update_id, kind, max(version) FROM changes WHERE version > ?1 GROUP BY update_id) c
                    LEFT JOIN updates u ON u.id = c.update_id
                ORDER BY c.update_id
                """
            let removalSQL: String? =
                full
                ? nil
                : """
                SELECT DISTINCT update_id FROM changes c
                WHERE version > ? AND NOT EXISTS (SELECT 1 FROM updates u WHERE u.id = c.update_id)
                """
            let arguments: StatementArguments = full ? [] : [since]
            var header = Header(
                site: site.rawValue, from: full ? 0 : since, to: current, full: full, upserts: 0, removals: 0,
                supersededBy: true)
            if !headerLast {
                // Counted first, in the same snapshot, so the header can promise what follows.
                // A full snapshot's count is the one each sync keeps; counting would read the whole table.
                header.upserts =
                    full
                    ? try Int.fetchOne(db, sql: "SELECT update_count FROM site_state WHERE id = 1") ?? 0
                    : try Int.fetchOne(
                        db,
                        sql:
                            "SELECT count(*) FROM updates WHERE id IN (SELECT update_id FROM changes WHERE version > ?)",
                        arguments: arguments) ?? 0
                header.removals =
                    try removalSQL.map {
                        try Int.fetchOne(db, sql: "SELECT count(*) FROM (\($0))", arguments: arguments) ?? 0
                    } ?? 0
                try emit(Array(try JSONEncoder().encode(header)))
            }
            // Rows are read in place and written straight into the line: no row objects per update.
            let rows = try RawStatement(db, sql: rowsSQL)
            if !full { rows.bind(1, since) }
            defer { rows.reset() }
            var emitted = 0
            // A gone row's kind is its latest change's (the bare column of `max(version)`).
            let kindColumn = Int32(UpdateColumn.lineColumns.count + 3)
            var removedIDs: [(id: String, purged: Bool)] = []
            var writer = CatalogJSONWriter()
            while try rows.step() {
                guard !rows.isNull(1) else {
                    removedIDs.append((rows.text(0) ?? "", rows.text(kindColumn) == ChangeKind.purged.rawValue))
                    continue
                }
                UpdateColumn.writeLine(rows, from: 1, into: &writer)
                try emit(writer.out)
                emitted += 1
            }
            // A header sent first promised a count; a stream that breaks its promise is refused anyway.
            if headerLast {
                header.upserts = emitted
            } else if emitted != header.upserts {
                throw CountMismatch(promised: header.upserts, found: emitted)
            }
            for (id, purged) in removedIDs {
                try emit(Array((purged ? #"{"removed":"\#(id)","purged":true}"# : #"{"removed":"\#(id)"}"#).utf8))
            }
            let removed = removedIDs.count
            if headerLast { header.removals = removed }
            try emit(
                Array(
                    try JSONEncoder().encode(
                        Trailer(end: current, upserts: header.upserts, removals: header.removals, root: root)))
            )
            return header
        }
    }
}
