import Foundation

/// One site's sync state as `GET /v1/status` and `sumsyncctl status --json` show it.
public struct SiteStatus: Codable, Sendable, Equatable {
    /// `never-synced`, `synchronizing`, `succeeded`, `failed`.
    public enum State: String, Codable, Sendable {
        case neverSynced = "never-synced"
        case synchronizing
        case succeeded
        case failed
    }

    /// The state of the link from a site's parent to it: `healthy`, `degraded` (recent failures), `error`.
    public enum Link: String, Codable, Sendable {
        case healthy
        case degraded
        case error
    }

    public var site: String
    public var parent: String?
    public var url: String
    public var state: State
    public var catalogVersion: Int
    public var updates: Int
    public var lastSyncStarted: String?
    public var lastSyncFinished: String?
    public var lastSuccess: String?
    public var lastError: String?
    public var link: Link
    /// Catalog versions behind the top-level site.
    public var lag: Int
    /// The next scheduled sync (top-level site only).
    public var nextSync: String?
    /// Not at its parent's catalog version within `stale-after`.
    public var stale: Bool
    /// When this entry was reported (by the site itself, relayed up).
    public var reportedAt: String?
    /// When the site's TLS certificate expires (RFC 3339); nil without one.
    public var certExpires: String?
    /// The site holds exactly what the top-level site signed for its version (its last check passed);
    /// nil when the hierarchy has no catalog key.
    public var verified: Bool?
    /// The state digest of the site's catalog (64 hex digits).
    public var digest: String?
    /// Why the last check failed, while `verified` is false.
    public var verifyError: String?
    /// Bytes the site database takes on disk (the file and its write-ahead log); nil from older sites.
    public var dbBytes: Int64?
    /// Expired updates the site still holds (the top purges them after `[sync] purge-expired-after`).
    public var expiredHeld: Int?

    public init(
        site: String, parent: String?, url: String, state: State, catalogVersion: Int, updates: Int,
        lastSyncStarted: String? = nil, lastSyncFinished: String? = nil, lastSuccess: String? = nil,
        lastError: String? = nil, link: Link = .healthy, lag: Int = 0, nextSync: String? = nil, stale: Bool = false,
        reportedAt: String? = nil, certExpires: String? = nil
    ) {
        self.certExpires = certExpires
        self.site = site
        self.parent = parent
        self.url = url
        self.state = state
        self.catalogVersion = catalogVersion
        self.updates = updates
        self.lastSyncStarted = lastSyncStarted
        self.lastSyncFinished = lastSyncFinished
        self.lastSuccess = lastSuccess
        self.lastError = lastError
        self.link = link
        self.lag = lag
        self.nextSync = nextSync
        self.stale = stale
        self.reportedAt = reportedAt
    }

    enum CodingKeys: String, CodingKey {
        case site, parent, url, state, updates, link, lag, stale
        case catalogVersion = "catalog_version"
        case lastSyncStarted = "last_sync_started"
        case lastSyncFinished = "last_sync_finished"
        case lastSuccess = "last_success"
        case lastError = "last_error"
        case nextSync = "next_sync"
        case reportedAt = "reported_at"
        case certExpires = "cert_expires"
        case verified, digest
        case verifyError = "verify_error"
        case dbBytes = "db_bytes"
        case expiredHeld = "expired_held"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(site, forKey: .site)
        try container.encode(parent, forKey: .parent)
        try container.encode(url, forKey: .url)
        try container.encode(state, forKey: .state)
        try container.encode(catalogVersion, forKey: .catalogVersion)
        try container.encode(updates, forKey: .updates)
        try container.encode(lastSyncStarted, forKey: .lastSyncStarted)
        try container.encode(lastSyncFinished, forKey: .lastSyncFinished)
        try container.encode(lastSuccess, forKey: .lastSuccess)
        try container.encode(lastError, forKey: .lastError)
        try container.encode(link, forKey: .link)
        try container.encode(lag, forKey: .lag)
        try container.encode(nextSync, forKey: .nextSync)
        try container.encode(stale, forKey: .stale)
        try container.encode(reportedAt, forKey: .reportedAt)
        try container.encode(certExpires, forKey: .certExpires)
        try container.encode(verified, forKey: .verified)
        try container.encode(digest, forKey: .digest)
        try container.encodeIfPresent(verifyError, forKey: .verifyError)
        try container.encode(dbBytes, forKey: .dbBytes)
        try container.encode(expiredHeld, forKey: .expiredHeld)
    }
}

/// `{"sites":[…]}`: a site and its descendants; `sumsyncctl status` adds `insecure_links`.
public struct StatusReport: Codable, Sendable, Equatable {
    public var sites: [SiteStatus]
    /// The plain-http links of the hierarchy (only with `require-tls = false`), as the asked site sees
    /// its config; nil in reports between sites.
    public var insecureLinks: [InsecureLink]?

    public init(sites: [SiteStatus], insecureLinks: [InsecureLink]? = nil) {
        self.sites = sites
        self.insecureLinks = insecureLinks
    }

    enum CodingKeys: String, CodingKey {
        case sites
        case insecureLinks = "insecure_links"
    }
}

/// A parent–child link on which at least one end listens on plain http.
public struct InsecureLink: Codable, Sendable, Equatable {
    public var parent: String
    public var child: String
    /// The plain-http urls of the link.
    public var urls: [String]
    /// What it exposes.
    public var exposure: String

    public init(parent: String, child: String, urls: [String], exposure: String) {
        self.parent = parent
        self.child = child
        self.urls = urls
        self.exposure = exposure
    }
}

/// `POST /v1/sync-requests`: a parent asks a child to sync.
public struct SyncRequestMessage: Codable, Sendable, Equatable {
    public var origin: String
    public var catalogVersion: Int
    public var requestID: String

    public init(origin: String, catalogVersion: Int, requestID: String) {
        self.origin = origin
        self.catalogVersion = catalogVersion
        self.requestID = requestID
    }

    enum CodingKeys: String, CodingKey {
        case origin
        case catalogVersion = "catalog_version"
        case requestID = "request_id"
    }
}
