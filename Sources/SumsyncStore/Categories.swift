import Foundation
import GRDB
import SumsyncFormats
import SumsyncModel

/// Products and classifications upstream offers, selected or not, so admins learn of new ones.
public struct CategoryEntry: Sendable, Codable, Equatable {
    public var kind: String
    public var name: String
    public var selected: Bool
    public var updates: Int
    public var firstSeen: String
    public var lastSeen: String
    /// First seen in the latest sync that read the catalog.
    public var new: Bool

    enum CodingKeys: String, CodingKey {
        case kind, name, selected, updates, new
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
    }
}

package enum Categories {
    /// Upserts what this sync saw; returns the categories seen for the first time, unless this is the
    /// first sync that ever read a catalog (then everything is new and nothing is worth a notice).
    package static func record(
        _ offered: [CatalogApplier.CategoryKey: Int], filter: UpdateFilter, syncID: String, at date: Date, db: Database
    ) throws -> [(kind: String, name: String)] {
        let firstEver = try Int.fetchOne(db, sql: "SELECT count(*) FROM categories") == 0
        let now = RFC3339.format(date)
        var fresh: [(kind: String, name: String)] = []
        let statement = try db.makeStatement(
            sql: """
                INSERT INTO categories (kind, name, updates, first_seen, last_seen, first_seen_sync)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(kind, name) DO UPDATE SET updates = excluded.updates, last_seen = excluded.last_seen
                """
        )
        try db.execute(sql: "UPDATE categories SET updates = 0")
        for (key, count) in offered.sorted(by: { ($0.key.kind, $0.key.name) < ($1.key.kind, $1.key.name) }) {
            let known =
                try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM categories WHERE kind = ? AND name = ?", arguments: [key.kind, key.name]
                ) ?? false
            try statement.execute(arguments: [key.kind, key.name, count, now, now, syncID])
            if !known && !firstEver { fresh.append((key.kind, key.name)) }
        }
        try db.execute(sql: "UPDATE site_state SET latest_catalog_sync = ? WHERE id = 1", arguments: [syncID])
        return fresh
    }
}

extension SiteStore {
    /// Every product and classification upstream has offered, products first.
    public func categories(filter: UpdateFilter) throws -> [CategoryEntry] {
        try pool.read { db in
            let latest = try String.fetchOne(db, sql: "SELECT latest_catalog_sync FROM site_state WHERE id = 1")
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT * FROM categories ORDER BY CASE kind WHEN 'product' THEN 0 ELSE 1 END, name"
            )
            return rows.map { row in
                let kind: String = row["kind"]
                let name: String = row["name"]
                let selected: Bool
                switch kind {
                case "product": selected = filter.products.isEmpty || filter.products.contains(name)
                default: selected = filter.classifications.isEmpty || filter.classifications.contains(name)
                }
                let firstSync: String? = row["first_seen_sync"]
                return CategoryEntry(
                    kind: kind, name: name, selected: selected, updates: row["updates"], firstSeen: row["first_seen"],
                    lastSeen: row["last_seen"], new: latest != nil && firstSync == latest
                )
            }
        }
    }
}
