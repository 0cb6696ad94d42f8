import Foundation
import GRDB
import SumsyncModel

/// The site's own state (`site_state`) and the status reports it keeps of the sites below it
/// (`site_reports`): the intent methods the layers above use, so their SQL stays here.
extension SiteStore {
    /// What a sync needs to know of the last one.
    public struct State: Sendable, Equatable {
        /// The catalog version.
        public var version: Int
        /// The oldest version the change log still holds changes since.
        public var changeLogFloor: Int
        /// The upstream's validators from the last successful sync, for a conditional request.
        public var etag: String?
        public var lastModified: String?
        /// The filter the database was last synced with (``UpdateFilter/fingerprint``).
        public var filterFingerprint: String?
        /// When the schedule last fired (RFC 3339), for catch-up after downtime.
        public var lastScheduledRun: String?
    }

    /// The site's state.
    public func state() throws -> State {
        try pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT * FROM site_state WHERE id = 1")!
            return State(
                version: row["catalog_version"], changeLogFloor: row["change_log_floor"], etag: row["upstream_etag"],
                lastModified: row["upstream_last_modified"], filterFingerprint: row["filter_fingerprint"],
                lastScheduledRun: row["last_scheduled_run"]
            )
        }
    }

    /// Records when the schedule last fired.
    public func setLastScheduledRun(_ text: String) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE site_state SET last_scheduled_run = ? WHERE id = 1", arguments: [text])
        }
    }

    /// How many updates the site holds per classification.
    public func countsByClassification() throws -> [String: Int] {
        try pool.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT classification, count(*) AS n FROM updates GROUP BY classification")
            {
                counts[row["classification"]] = row["n"]
            }
            return counts
        }
    }

    /// The last status report of each site below this one, as they were saved; a report that no longer
    /// decodes is left out.
    public func siteReports() throws -> [String: SiteStatus] {
        try pool.read { db in
            var result: [String: SiteStatus] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT site, report FROM site_reports") {
                let text: String = row["report"]
                if let status = try? JSONDecoder().decode(SiteStatus.self, from: Data(text.utf8)) {
                    result[row["site"]] = status
                }
            }
            return result
        }
    }

    /// Saves status reports of sites below this one, replacing earlier ones.
    public func saveSiteReports(_ reports: [String: SiteStatus]) throws {
        let encoder = JSONEncoder()
        try pool.write { db in
            for (site, status) in reports {
                let text = String(decoding: try encoder.encode(status), as: UTF8.self)
                try db.execute(
                    sql: "INSERT OR REPLACE INTO site_reports (site, report) VALUES (?, ?)", arguments: [site, text]
                )
            }
        }
    }

    /// Applies a downloaded change stream (a parent's, or an imported bundle's) in one write transaction:
    /// all of it or nothing. `check` sees the catalog version inside the transaction first and may
    /// throw to refuse. Returns the counts, the new catalog version and the apply's phase times.
    package func apply(
        _ applier: ChangeApplier, progress: SyncProgress,
        check: @Sendable (_ currentVersion: Int) throws -> Void = { _ in }
    ) async throws -> (counts: ChangeCounts, version: Int, phases: PhaseTimes) {
        try await pool.write { db in
            try check(try Int.fetchOne(db, sql: "SELECT catalog_version FROM site_state WHERE id = 1") ?? 0)
            var phases = PhaseTimes()
            var applier = applier
            applier.trust = catalogTrust
            let (counts, version) = try applier.apply(db, progress: progress, phases: &phases)
            return (counts, version, phases)
        }
    }
}
