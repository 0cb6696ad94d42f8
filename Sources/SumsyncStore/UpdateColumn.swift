import SumsyncFormats
import SumsyncModel

/// The `updates` columns a catalog record fills, defined once: their names in SQL, how a record binds to
/// them, how a stored row compares with a record, which of them a newer revision overwrites, and how a
/// stored row is written as a change stream's line for the sites below.
///
/// The cases are in column order and bound as the numbered parameters `?1` … `?25` (the raw value), so
/// an `INSERT` and an `UPDATE … WHERE id = ?1` share one binding. A new field of ``CatalogRecord`` is a
/// case here (with its key in ``CatalogRecordParser``) and a migration that adds the column
/// (docs/architecture.md).
package enum UpdateColumn: Int32, CaseIterable, Sendable {
    case id = 1
    case revision, title, product, classification, languages, kb, bulletin, severity, released, releasedEpoch
    case revised, supersedes, upstreamExpired, expired, size, url, description
    case source, advisory, cves, packages, rebootSuggested, digest, seenSync

    /// The column's name in SQL.
    package var name: String {
        switch self {
        case .releasedEpoch: "released_epoch"
        case .upstreamExpired: "upstream_expired"
        case .seenSync: "seen_sync"
        case .rebootSuggested: "reboot_suggested"
        default: "\(self)"
        }
    }

    /// `id, revision, …, seen_sync`.
    package static let names = allCases.map(\.name).joined(separator: ", ")

    /// `?1, ?2, …, ?25`.
    package static let placeholders = allCases.map { "?\($0.rawValue)" }.joined(separator: ", ")

    /// `revision = ?2, …` for every column but `id`.
    package static let assignments = allCases.dropFirst().map { "\($0.name) = ?\($0.rawValue)" }
        .joined(separator: ", ")

    /// Upstream's content of an update: what a newer revision overwrites. Not the id and revision, not
    /// the expiry (upstream's is final, the site's own is worked out) and not the sync that last saw it.
    package var isContent: Bool {
        switch self {
        case .id, .revision, .upstreamExpired, .expired, .seenSync: false
        default: true
        }
    }

    /// The columns that hold a record as it came (all after `id` but `seen_sync`): what a child compares
    /// to decide whether a stream's record changes anything.
    package static let stored = allCases.filter { $0 != .id && $0 != .seenSync }

    /// Where the column stands in a row selected with ``stored``.
    /// ``stored`` is every case but the first (`id`) and the last (`seen_sync`), so this is arithmetic, not
    /// a search on the per-record path (a test checks it against ``stored``).
    package var storedPosition: Int32 { rawValue - 2 }

    /// Binds every column of `record` (with `languages`, `supersedes`, `cves` and `packages` as their stored
    /// JSON text; an empty `cves` or `packages` as NULL);
    /// `expired` fills both `upstream_expired` and `expired`.
    package static func bind(
        _ statement: RawStatement, _ record: CatalogRecord, languages: String, supersedes: String?, seenSync: Int
    ) {
        for column in allCases {
            let position = column.rawValue
            switch column {
            case .id: statement.bind(position, record.id)
            case .revision: statement.bind(position, record.revision)
            case .title: statement.bind(position, record.title)
            case .product: statement.bind(position, record.product)
            case .classification: statement.bind(position, record.classification)
            case .languages: statement.bind(position, languages)
            case .kb: statement.bind(position, record.kb)
            case .bulletin: statement.bind(position, record.bulletin)
            case .severity: statement.bind(position, record.severity)
            case .released: statement.bind(position, record.released)
            case .releasedEpoch: statement.bind(position, record.releasedEpoch)
            case .revised: statement.bind(position, record.revised)
            case .supersedes: statement.bind(position, supersedes)
            case .upstreamExpired, .expired: statement.bind(position, record.expired)
            case .size: statement.bind(position, record.size)
            case .url: statement.bind(position, record.url)
            case .description: statement.bind(position, record.description)
            case .source: statement.bind(position, record.source)
            case .advisory: statement.bind(position, record.advisory)
            case .cves: statement.bind(position, Self.listText(record.cves))
            case .packages: statement.bind(position, Self.listText(record.packages))
            case .rebootSuggested: statement.bind(position, record.rebootSuggested)
            case .digest: statement.bind(position, record.digest)
            case .seenSync: statement.bind(position, seenSync)
            }
        }
    }

    /// Whether `row`, selected with ``stored`` in that order, holds exactly `record`.
    package static func holds(_ row: RawStatement, _ record: CatalogRecord, languages: String, supersedes: String?)
        -> Bool
    {
        for (index, column) in stored.enumerated() {
            let at = Int32(index)
            let same: Bool
            switch column {
            case .revision: same = row.holds(at, Int64(record.revision))
            case .title: same = row.holds(at, record.title)
            case .product: same = row.holds(at, record.product)
            case .classification: same = row.holds(at, record.classification)
            case .languages: same = row.holds(at, languages)
            case .kb: same = row.holds(at, record.kb)
            case .bulletin: same = row.holds(at, record.bulletin)
            case .severity: same = row.holds(at, record.severity)
            case .released: same = row.holds(at, record.released)
            case .releasedEpoch: same = row.holds(at, record.releasedEpoch)
            case .revised: same = row.holds(at, record.revised)
            case .supersedes: same = row.holds(at, supersedes)
            case .upstreamExpired, .expired: same = row.holds(at, record.expired ? 1 : 0)
            case .size: same = row.holds(at, record.size)
            case .url: same = row.holds(at, record.url)
            case .description: same = row.holds(at, record.description)
            case .source: same = row.holds(at, record.source)
            case .advisory: same = row.holds(at, record.advisory)
            case .cves: same = row.holds(at, Self.listText(record.cves))
            case .packages: same = row.holds(at, Self.listText(record.packages))
            case .rebootSuggested: same = row.holds(at, record.rebootSuggested ? 1 : 0)
            case .digest: same = row.holds(at, record.digest)
            case .id, .seenSync: same = true
            }
            if !same { return false }
        }
        return true
    }

    /// A list column's stored text: the JSON array, or NULL for an empty list.
    static func listText(_ list: [String]) -> String? {
        list.isEmpty ? nil : CatalogJSONWriter.text(of: list)
    }

    // MARK: A stored row as a change stream's line

    /// How a column appears in a record's line: its key and the kind of value (nil: not in the line).
    package var line: (key: StaticString, value: LineValue)? {
        switch self {
        case .id: ("id", .text)
        case .revision: ("revision", .integer)
        case .title: ("title", .text)
        case .product: ("product", .text)
        case .classification: ("classification", .text)
        case .languages: ("languages", .list)
        case .kb: ("kb", .optionalText)
        case .bulletin: ("bulletin", .optionalText)
        case .severity: ("severity", .optionalText)
        case .released: ("released", .optionalText)
        case .revised: ("revised", .optionalText)
        case .supersedes: ("supersedes", .optionalList)
        // The site's own verdict (upstream's, or superseded long enough): children mirror it rather than
        // recompute it with their own clocks.
        case .expired: ("expired", .bool)
        case .size: ("size", .optionalInteger)
        case .url: ("url", .optionalText)
        case .description: ("description", .optionalText)
        case .source: ("source", .optionalText)
        case .advisory: ("advisory", .optionalText)
        case .cves: ("cves", .optionalList)
        case .packages: ("packages", .optionalList)
        case .rebootSuggested: ("reboot_suggested", .flag)
        // The top's own bookkeeping of upstream content: a child neither needs nor checks it.
        case .releasedEpoch, .upstreamExpired, .digest, .seenSync: nil
        }
    }

    /// The kinds of value a line holds; the optional ones are left out when NULL, a flag when false.
    package enum LineValue: Sendable {
        case text, optionalText, integer, optionalInteger, bool, flag, list, optionalList
    }

    /// The columns of a record's line, in the order written.
    package static let lineColumns = allCases.filter { $0.line != nil }

    /// Writes the line of a row selected with ``lineColumns`` and then `superseded_by`,
    /// `superseded_released`, from column `first` on (replacing the writer's contents), straight from the
    /// stored bytes: `languages` and `supersedes` are stored as the JSON arrays the line needs.
    package static func writeLine(_ row: RawStatement, from first: Int32 = 0, into writer: inout CatalogJSONWriter) {
        writer.out.removeAll(keepingCapacity: true)
        writer.raw("{")
        var at = first
        for column in lineColumns {
            defer { at += 1 }
            guard let (key, value) = column.line else { continue }
            switch value {
            case .optionalText, .optionalInteger, .optionalList: if row.isNull(at) { continue }
            case .flag: if !row.bool(at) { continue }
            default: break
            }
            writer.key(key, first: at == first)
            switch value {
            case .text, .optionalText: text(row, at, into: &writer)
            case .integer, .optionalInteger: writer.integer(row.int64(at))
            case .bool, .flag: writer.raw(row.bool(at) ? "true" : "false")
            case .list, .optionalList: list(row, at, into: &writer)
            }
        }
        // Last, in this shape, so an empty child reads them from the line's end (see ``SupersededTail``).
        if !row.isNull(at) {
            writer.key("superseded_by")
            text(row, at, into: &writer)
            writer.key("superseded_released")
            writer.integer(row.int64(at + 1))
        }
        writer.raw("}")
    }

    private static func text(_ row: RawStatement, _ column: Int32, into writer: inout CatalogJSONWriter) {
        writer.string(utf8: row.utf8(column) ?? UnsafeBufferPointer(start: nil, count: 0))
    }

    /// A stored list (written by ``CatalogJSONWriter/text(of:)``) as it stands; anything else re-encoded.
    private static func list(_ row: RawStatement, _ column: Int32, into writer: inout CatalogJSONWriter) {
        guard let utf8 = row.utf8(column), utf8.first == UInt8(ascii: "["), utf8.last == UInt8(ascii: "]") else {
            writer.stringArray(CatalogJSONWriter.strings(fromJSON: row.text(column) ?? "[]"))
            return
        }
        writer.out.append(contentsOf: utf8)
    }
}
