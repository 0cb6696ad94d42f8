import Foundation
import GRDB
import SumsyncFormats

/// One stored update as `sumsyncctl updates --json` prints it.
public struct UpdateListing: Sendable, Codable, Equatable {
    public var id: String
    public var revision: Int
    public var title: String
    public var product: String
    public var classification: String
    public var languages: [String]
    public var kb: String?
    public var bulletin: String?
    public var severity: String?
    public var released: String
    public var revised: String?
    public var superseded: Bool
    public var supersededBy: String?
    public var expired: Bool
    public var size: Int64?
    public var url: String?
    public var description: String?
    /// The upstream source it came from, and its advisory fields (docs/sources.md).
    public var source: String?
    public var advisory: String?
    public var cves: [String]
    public var packages: [String]
    public var rebootSuggested: Bool

    enum CodingKeys: String, CodingKey {
        case id, revision, title, product, classification, languages, kb, bulletin, severity, released, revised,
            superseded, expired, size, url, description, source, advisory, cves, packages
        case supersededBy = "superseded_by"
        case rebootSuggested = "reboot_suggested"
    }

    init(row: Row) {
        id = row["id"]
        revision = row["revision"]
        title = row["title"]
        product = row["product"]
        classification = row["classification"]
        languages = CatalogJSONWriter.strings(fromJSON: row["languages"])
        kb = row["kb"]
        bulletin = row["bulletin"]
        severity = row["severity"]
        released = row["released"]
        revised = row["revised"]
        supersededBy = row["superseded_by"]
        superseded = supersededBy != nil
        expired = row["expired"]
        size = row["size"]
        url = row["url"]
        description = row["description"]
        source = row["source"]
        advisory = row["advisory"]
        cves = (row["cves"] as String?).map(CatalogJSONWriter.strings(fromJSON:)) ?? []
        packages = (row["packages"] as String?).map(CatalogJSONWriter.strings(fromJSON:)) ?? []
        rebootSuggested = row["reboot_suggested"]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(revision, forKey: .revision)
        try container.encode(title, forKey: .title)
        try container.encode(product, forKey: .product)
        try container.encode(classification, forKey: .classification)
        try container.encode(languages, forKey: .languages)
        try container.encode(kb, forKey: .kb)
        try container.encode(bulletin, forKey: .bulletin)
        try container.encode(severity, forKey: .severity)
        try container.encode(released, forKey: .released)
        try container.encode(revised, forKey: .revised)
        try container.encode(superseded, forKey: .superseded)
        try container.encode(supersededBy, forKey: .supersededBy)
        try container.encode(expired, forKey: .expired)
        try container.encode(size, forKey: .size)
        try container.encode(url, forKey: .url)
        try container.encode(description, forKey: .description)
        try container.encode(source, forKey: .source)
        try container.encode(advisory, forKey: .advisory)
        try container.encode(cves, forKey: .cves)
        try container.encode(packages, forKey: .packages)
        try container.encode(rebootSuggested, forKey: .rebootSuggested)
    }
}

extension SiteStore {
    /// Calls `body` for each stored update, ordered by id, without loading them all.
    public func forEachUpdate(
        product: String? = nil, classification: String? = nil, source: String? = nil, advisory: String? = nil,
        includeExpired: Bool = false, _ body: (UpdateListing) throws -> Void
    ) throws {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let source {
            conditions.append("source = ?")
            arguments += [source]
        }
        if let advisory {
            conditions.append("advisory = ?")
            arguments += [advisory]
        }
        if let product {
            conditions.append("product = ?")
            arguments += [product]
        }
        if let classification {
            conditions.append("classification = ?")
            arguments += [classification]
        }
        if !includeExpired { conditions.append("expired = 0") }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        try pool.read { db in
            let cursor = try Row.fetchCursor(
                db, sql: "SELECT * FROM updates \(whereClause) ORDER BY id", arguments: arguments)
            while let row = try cursor.next() { try body(UpdateListing(row: row)) }
        }
    }

    /// How many updates the site holds (expired included), as each sync leaves it in `site_state`.
    public func updateCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT update_count FROM site_state WHERE id = 1") ?? 0 }
    }
}
