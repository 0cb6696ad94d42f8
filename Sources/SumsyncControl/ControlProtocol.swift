import Foundation
import SumsyncModel

/// The JSON messages of the control socket between `sumsyncctl` and `sumsyncd` (HTTP over a Unix socket).
public enum ControlProtocol {
    /// `path` with `query` as its query string, each value percent-encoded but for RFC 3986's
    /// unreserved characters (so `+`, `&`, `=` and spaces in a file name survive the trip):
    /// `/v1/import?path=/srv/a%20b.bundle&force=false`.
    public static func uri(_ path: String, query: KeyValuePairs<String, String>) -> String {
        var unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        unreserved.insert(charactersIn: "/-._~")
        var components = URLComponents()
        components.path = path
        components.percentEncodedQueryItems = query.map { name, value in
            URLQueryItem(name: name, value: value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value)
        }
        return components.string ?? path
    }

    /// `GET /v1/ping`.
    public static let pingPath = "/v1/ping"
    /// `POST /v1/sync?full=true|false&wait=true|false`.
    public static let syncPath = "/v1/sync"
    /// `GET /v1/status`: this site and its descendants, `{"sites":[…]}`.
    public static let statusPath = "/v1/status"
    /// `POST /v1/purge?wait=true|false`: a sync with trigger `purge` (top-level site only); answers like
    /// `POST /v1/sync`.
    public static let purgePath = "/v1/purge"
    /// `POST /v1/import?path=ABSOLUTE_PATH&force=true|false`: import a signed bundle; answers like
    /// `POST /v1/sync?wait=true`.
    public static let importPath = "/v1/import"

    /// The answer to `ping`.
    public struct Ping: Codable, Sendable, Equatable {
        public var site: String
        public var pid: Int32
        public var uptimeSeconds: Int
        public var state: String
        public var catalogVersion: Int
        public var nextSync: String?
        public var status: String

        public init(
            site: String, pid: Int32, uptimeSeconds: Int, state: String, catalogVersion: Int, nextSync: String?,
            status: String
        ) {
            self.site = site
            self.pid = pid
            self.uptimeSeconds = uptimeSeconds
            self.state = state
            self.catalogVersion = catalogVersion
            self.nextSync = nextSync
            self.status = status
        }

        enum CodingKeys: String, CodingKey {
            case site, pid, state, status
            case uptimeSeconds = "uptime_seconds"
            case catalogVersion = "catalog_version"
            case nextSync = "next_sync"
        }
    }
}

extension ControlProtocol {
    /// One line of `POST /v1/sync`'s answer: `accepted`, `queued`, `progress` (with `wait`) and `finished`.
    public struct SyncEvent: Codable, Sendable, Equatable {
        public var event: String
        public var syncID: String
        public var queued: Bool?
        public var running: String?
        public var phase: String?
        public var processed: Int?
        public var total: Int?
        public var rate: Int?
        public var etaSeconds: Int?
        public var line: String?
        public var result: String?
        public var catalogVersion: Int?
        public var new: Int?
        public var revised: Int?
        public var expired: Int?
        public var superseded: Int?
        public var removed: Int?
        public var purged: Int?
        public var unchanged: Int?
        public var error: String?
        /// How long the sync took, in seconds (finished events).
        public var durationSeconds: Double?

        public init(
            event: String, syncID: String, queued: Bool? = nil, running: String? = nil, result: String? = nil,
            error: String? = nil
        ) {
            self.event = event
            self.syncID = syncID
            self.queued = queued
            self.running = running
            self.result = result
            self.error = error
        }

        package init(progress id: String, snapshot: SyncProgress.Snapshot) {
            self.init(event: "progress", syncID: id)
            phase = snapshot.phase.rawValue
            processed = snapshot.processed
            total = snapshot.total
            rate = Int(snapshot.rate)
            etaSeconds = snapshot.eta.map { Int($0) }
            line = snapshot.line
        }

        package init(finished id: String, outcome: SyncOutcome) {
            self.init(event: "finished", syncID: id, result: outcome.result.rawValue, error: outcome.error)
            catalogVersion = outcome.catalogVersion
            new = outcome.counts.new
            revised = outcome.counts.revised
            expired = outcome.counts.expired
            superseded = outcome.counts.superseded
            removed = outcome.counts.removed
            purged = outcome.counts.purged
            unchanged = outcome.counts.unchanged
            durationSeconds =
                Double(outcome.duration.components.seconds) + Double(outcome.duration.components.attoseconds) / 1e18
        }

        enum CodingKeys: String, CodingKey {
            case event, queued, running, phase, processed, total, rate, line, result, new, revised, expired,
                superseded, removed, purged, unchanged, error
            case syncID = "sync_id"
            case etaSeconds = "eta_seconds"
            case durationSeconds = "duration_seconds"
            case catalogVersion = "catalog_version"
        }
    }
}
