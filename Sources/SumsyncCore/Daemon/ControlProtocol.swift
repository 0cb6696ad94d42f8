import Foundation

/// The JSON messages of the control socket between `sumsyncctl` and `sumsyncd` (HTTP over a Unix socket).
public enum ControlProtocol {
    /// `GET /v1/ping`.
    public static let pingPath = "/v1/ping"
    /// `POST /v1/sync?full=true|false&wait=true|false`.
    public static let syncPath = "/v1/sync"

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

    /// An error answer: `{"error":"..."}` with a 4xx/5xx status.
    public struct Failure: Codable, Sendable, Equatable {
        public var error: String
        public init(error: String) { self.error = error }
    }
}
