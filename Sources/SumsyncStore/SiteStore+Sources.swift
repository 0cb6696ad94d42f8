import Foundation
import GRDB

/// What the top site knows of one configured upstream source: its settings as last synced, the
/// validators and content key for the next conditional fetch, and how its last attempt went.
public struct SourceState: Sendable, Equatable {
    public var name: String
    public var format: String
    public var url: String
    public var product: String?
    /// HTTP validators of the document the source is asked for first (the catalog, or `repomd.xml`).
    public var etag: String?
    public var lastModified: String?
    /// What identifies the content last applied (the updateinfo checksum repomd stated, or the catalog's
    /// SHA-256); the kept copy of the source's records is named by it.
    public var contentKey: String?
    /// `succeeded`, `unchanged` or `failed`.
    public var lastResult: String?
    /// When it was last asked, and when its content last changed (RFC 3339).
    public var lastChecked: String?
    public var lastChanged: String?
    /// Why the last attempt failed.
    public var error: String?

    public init(
        name: String, format: String, url: String, product: String? = nil, etag: String? = nil,
        lastModified: String? = nil, contentKey: String? = nil, lastResult: String? = nil,
        lastChecked: String? = nil, lastChanged: String? = nil, error: String? = nil
    ) {
        self.name = name
        self.format = format
        self.url = url
        self.product = product
        self.etag = etag
        self.lastModified = lastModified
        self.contentKey = contentKey
        self.lastResult = lastResult
        self.lastChecked = lastChecked
        self.lastChanged = lastChanged
        self.error = error
    }

    init(row: Row) {
        self.init(
            name: row["name"], format: row["format"], url: row["url"], product: row["product"], etag: row["etag"],
            lastModified: row["last_modified"], contentKey: row["content_key"], lastResult: row["last_result"],
            lastChecked: row["last_checked"], lastChanged: row["last_changed"], error: row["error"])
    }
}

extension SiteStore {
    /// Every source's stored state, by name.
    public func sourceStates() throws -> [String: SourceState] {
        try pool.read { db in
            var states: [String: SourceState] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM upstream_sources") {
                let state = SourceState(row: row)
                states[state.name] = state
            }
            return states
        }
    }

    /// Stores `states` as the configured sources: rows of sources no longer configured go.
    public func recordSources(_ states: [SourceState]) throws {
        try pool.write { db in
            try Self.recordSources(states, db)
        }
    }

    static func recordSources(_ states: [SourceState], _ db: Database) throws {
        let names = states.map(\.name)
        try db.execute(
            sql: "DELETE FROM upstream_sources WHERE name NOT IN (\(names.map { _ in "?" }.joined(separator: ", ")))",
            arguments: StatementArguments(names))
        for state in states {
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO upstream_sources (name, format, url, product, etag, last_modified,
                        content_key, last_result, last_checked, last_changed, error)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    state.name, state.format, state.url, state.product, state.etag, state.lastModified,
                    state.contentKey, state.lastResult, state.lastChecked, state.lastChanged, state.error,
                ])
        }
    }

    /// How many updates the site holds per source.
    public func updateCountsBySource() throws -> [String: Int] {
        try pool.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT source, count(*) FROM updates WHERE source IS NOT NULL GROUP BY source")
            {
                counts[row[0]] = row[1]
            }
            return counts
        }
    }

    /// The stored revision and content hash of every update whose revision the top counts itself
    /// (advisory sources), by id.
    package func advisoryLedger() throws -> [String: (revision: Int, digest: Int64)] {
        try pool.read { db in
            var ledger: [String: (revision: Int, digest: Int64)] = [:]
            let rows = try Row.fetchCursor(
                db, sql: "SELECT id, revision, digest FROM updates WHERE digest IS NOT NULL")
            while let row = try rows.next() { ledger[row[0]] = (row[1], row[2]) }
            return ledger
        }
    }
}
