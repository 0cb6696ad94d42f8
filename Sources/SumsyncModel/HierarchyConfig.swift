import Foundation

/// A validated hierarchy configuration: the whole `hierarchy.toml`, shared by every site.
///
/// Made by ``ConfigLoader``; every value here has passed validation.
public struct HierarchyConfig: Sendable, Equatable {
    /// The file it was read from.
    public var file: String
    /// `[hierarchy]`.
    public var hierarchy: HierarchySettings
    /// `[sync]`: hierarchy-wide; only the top-level site schedules.
    public var sync: SyncSettings
    /// `[upstream]`: the top-level site's source.
    public var upstream: UpstreamSettings
    /// `[alerts]`.
    public var alerts: AlertSettings
    /// `[[site]]`, in file order.
    public var sites: [SiteConfig]

    public init(
        file: String, hierarchy: HierarchySettings, sync: SyncSettings, upstream: UpstreamSettings,
        alerts: AlertSettings, sites: [SiteConfig]
    ) {
        self.file = file
        self.hierarchy = hierarchy
        self.sync = sync
        self.upstream = upstream
        self.alerts = alerts
        self.sites = sites
    }

    /// The site with `code`, if the config lists it.
    public func site(_ code: SiteCode) -> SiteConfig? { sites.first { $0.code == code } }

    /// The one site without a parent.
    public var topSite: SiteConfig { sites.first { $0.parent == nil }! }

    /// The links (parent, child) on which either end's `url` is plain http, in file order.
    public var insecureLinks: [(parent: SiteConfig, child: SiteConfig)] {
        sites.compactMap { child in
            guard let code = child.parent, let parent = site(code), !(parent.usesTLS && child.usesTLS) else {
                return nil
            }
            return (parent, child)
        }
    }

    /// Some site's `url` is `https://`.
    public var usesTLS: Bool { sites.contains(where: \.usesTLS) }

    /// The sites whose parent is `code`, in file order.
    public func children(of code: SiteCode) -> [SiteConfig] { sites.filter { $0.parent == code } }

    /// `code` and every site below it, parents before children.
    public func subtree(of code: SiteCode) -> [SiteConfig] {
        guard let root = site(code) else { return [] }
        var result = [root]
        var index = 0
        while index < result.count {
            result += children(of: result[index].code)
            index += 1
        }
        return result
    }
}

/// `[hierarchy]`.
public struct HierarchySettings: Sendable, Equatable {
    /// `name`: a label for the hierarchy, shown in status. Default: `"sumsync"`.
    public var name: String = "sumsync"
    /// `key-file`, resolved against the config file's folder. Required when there is more than one site.
    public var keyFile: String?
    /// The shared secret read from the key file (or from the `hierarchy.key` credential).
    public var key: Data?
    /// `ca-file`, resolved: PEM with one or more CA certificates that every site's certificate chains to.
    /// Required as soon as any site's `url` is `https://`.
    public var caFile: String?
    /// `require-tls`: every site-to-site connection is TLS. Default: true when `ca-file` is set, else false.
    public var requireTLS = false
    /// `tls-dir`, resolved: a folder with `CODE.crt` and `CODE.key` per site, used when the service
    /// manager passes no `site.crt`/`site.key` credentials.
    public var tlsDirectory: String?
    /// The credentials folder that holds `site.crt` and `site.key`, when it does (it wins over `tls-dir`).
    public var tlsCredentialsDirectory: String?
    /// `header-timeout`: a new connection must finish its TLS handshake and send its first request head
    /// within this long. Default 30 s.
    public var headerTimeout = TimeSpan(seconds: 30)
    /// `idle-timeout`: a kept-alive connection with no request in progress for this long is closed.
    /// Default 120 s.
    public var idleTimeout = TimeSpan(seconds: 120)
    /// `max-connections`: open connections per listener; past it the longest-idle one is closed. Default
    /// 4096, and never more than half the process's open-file limit.
    public var maxConnections = 4_096
    /// `catalog-key`, resolved: the public half of the top-level site's catalog signing key, which every
    /// site checks signed roots with. nil: the hierarchy's catalogs are unverified (docs/security.md).
    public var catalogKeyFile: String?
    /// The raw 32-byte Ed25519 public key read from `catalog-key`.
    public var catalogKey: Data?
    /// Where the catalog signing key is: the `catalog-signing.key` credential when present, else
    /// `catalog-signing-key`, resolved. Read only by the top-level site (and a disconnected one), which
    /// alone holds it.
    public var catalogSigningKeyFile: String?

    /// Where a site's certificate and key are: the credentials when present, else `tls-dir`.
    public func certificateFiles(for code: SiteCode) -> (certificate: String, key: String)? {
        if let folder = tlsCredentialsDirectory {
            return (
                (folder as NSString).appendingPathComponent("site.crt"),
                (folder as NSString).appendingPathComponent("site.key")
            )
        }
        if let folder = tlsDirectory {
            return (
                (folder as NSString).appendingPathComponent("\(code).crt"),
                (folder as NSString).appendingPathComponent("\(code).key")
            )
        }
        return nil
    }

    /// Every key at its default.
    public init() {}
}

/// `[sync]`.
public struct SyncSettings: Sendable, Equatable {
    /// `schedule`: a systemd calendar expression or `every …`; nil = manual only.
    public var schedule: String?
    /// `retry-interval`: wait after a failed sync before retrying. Default 60 min, as Configuration Manager.
    public var retryInterval = TimeSpan(seconds: 3_600)
    /// `randomized-delay`: up to this much random delay on each scheduled run. Default 0.
    public var randomizedDelay = TimeSpan(seconds: 0)
    /// `stale-after`: a child behind its parent this long is stale. Default 2 × `retry-interval`.
    public var staleAfter: TimeSpan?
    /// `pull-stall-timeout`: a child's pull from its parent fails when the parent sends nothing for this
    /// long (a stalled or partitioned link); nothing is applied and the pull is retried with backoff.
    /// Default 60 s.
    public var pullStallTimeout = TimeSpan(seconds: 60)
    /// `products`: empty = all.
    public var products: [String] = []
    /// `classifications`: empty = all; each one of ``Classification/all``.
    public var classifications: [String] = []
    /// `languages`: empty = all.
    public var languages: [String] = []
    /// `expire-superseded-after-months`: 0 = superseded updates expire at once. Default 0.
    public var expireSupersededAfterMonths = 0
    /// `verify-schedule`: when each site recomputes its state digest from every row and checks it against
    /// its signed root (calendar syntax or `every …`). Default `weekly`; `"off"` never.
    public var verifySchedule: String? = "weekly"
    /// `purge-expired-after`: the top-level site deletes updates expired longer than this at the end of
    /// each sync; nil (`"0"`) never. Default 90 days.
    public var purgeExpiredAfter: TimeSpan? = TimeSpan(seconds: 90 * 86_400)
    /// `history-retention`: sync history rows older than this are deleted after each sync (the last
    /// ``SyncSettings/historyKept`` rows stay whatever their age). Default 400 days.
    public var historyRetention = TimeSpan(seconds: 400 * 86_400)
    /// History rows kept whatever their age.
    public static let historyKept = 100

    /// Every key at its default.
    public init() {}

    /// `stale-after`, or its default.
    public var effectiveStaleAfter: TimeSpan { staleAfter ?? TimeSpan(seconds: retryInterval.seconds * 2) }
}

/// The formats an upstream source may have.
public enum SourceFormat: String, Sendable, Equatable, CaseIterable {
    /// sumsync's own NDJSON catalog (docs/catalog-format.md).
    case catalog
    /// An RPM repository: `repodata/repomd.xml` and the `updateinfo` it points at (docs/sources.md).
    case rpm
    /// An OSV feed: a zip of OSV records (`<ECOSYSTEM>/all.zip`), or a folder of them (docs/sources.md).
    case osv

    /// Advisory formats: sumsync gives their updates ids and counts their revisions itself.
    public var isAdvisory: Bool { self != .catalog }
}

/// One `[[upstream.source]]` table (or the one source `[upstream] catalog` stands for).
public struct UpstreamSourceConfig: Sendable, Equatable {
    /// `name`: unique, `[a-z0-9][a-z0-9._-]*`.
    public var name: String
    public var format: SourceFormat
    /// `url`: the catalog, or the repository's base (`file://`, `http://`, `https://`).
    public var url: String
    /// `product`: the product its advisories belong to. Default: the name. An osv source's records name
    /// their own (the ecosystem); for it this is the `ecosystems` filter as stored and shown (`*` for all).
    public var product: String
    /// `gpg-key`: the key `repodata/repomd.xml.asc` must verify with (resolved path); nil = unsigned is fine.
    public var gpgKey: String?
    /// `ecosystems` (osv): keep only these ecosystems, each exact or a prefix ending in `:`; empty = all.
    public var ecosystems: [String]

    public init(
        name: String, format: SourceFormat, url: String, product: String? = nil, gpgKey: String? = nil,
        ecosystems: [String] = []
    ) {
        self.name = name
        self.format = format
        self.url = url
        self.ecosystems = ecosystems
        self.product = format == .osv ? (ecosystems.isEmpty ? "*" : ecosystems.joined(separator: ",")) : product ?? name
        self.gpgKey = gpgKey
    }

    /// Whether an osv source keeps `ecosystem`: listed exactly, or under a listed prefix ending in `:`.
    public func keeps(ecosystem: String) -> Bool {
        ecosystems.isEmpty
            || ecosystems.contains { $0 == ecosystem || ($0.hasSuffix(":") && ecosystem.hasPrefix($0)) }
    }
}

/// `[upstream]`.
public struct UpstreamSettings: Sendable, Equatable {
    /// `catalog`: `file://`, `http://` or `https://`: one `catalog` source named `catalog`.
    public var catalog: String?
    /// Every source, in the order configured: `[[upstream.source]]`, or the one `catalog` stands for.
    public var sources: [UpstreamSourceConfig] {
        get {
            guard tables.isEmpty, let catalog else { return tables }
            return [UpstreamSourceConfig(name: "catalog", format: .catalog, url: catalog)]
        }
        set { tables = newValue }
    }
    /// The `[[upstream.source]]` tables.
    private var tables: [UpstreamSourceConfig] = []
    /// `max-metadata-size`: the most bytes one upstream file may decompress to. Default 4 GiB.
    public var maxMetadataSize: Int64 = 4 << 30
    /// `disconnected`: sync only from imported bundles. Default false.
    public var disconnected = false
    /// `skip-invalid`: count, log and skip malformed catalog lines instead of failing. Default false.
    public var skipInvalid = false
    /// `trusted-keys`: public keys whose bundles import, resolved against the config file's folder.
    public var trustedKeys: [String] = []
    /// `timeout`: an HTTP upstream that sends nothing for this long fails the sync. Default 60 s.
    public var timeout = TimeSpan(seconds: 60)

    /// Every key at its default.
    public init() {}
}

/// `[alerts]`.
public struct AlertSettings: Sendable, Equatable {
    /// `on-failure`: a command run after a failed sync, with the sync's fields in its environment.
    public var onFailure: String?
    /// `timeout`: how long the command may run before it is killed. Default 60 s.
    public var timeout = TimeSpan(seconds: 60)

    /// Every key at its default.
    public init() {}
}

/// One `[[site]]` table.
public struct SiteConfig: Sendable, Equatable {
    /// `code`: three of `A`–`Z`, `0`–`9`.
    public var code: SiteCode
    /// `name`: a description. Default: the code.
    public var name: String
    /// `parent`: the parent's code; nil for the top-level site.
    public var parent: SiteCode?
    /// `url`: where this site's daemon listens for site-to-site requests (`https://host:port` or
    /// `http://host:port`).
    public var url: String
    /// The `url` is `https://`: the site listens with TLS only.
    public var usesTLS: Bool
    /// The host part of `url`.
    public var host: String
    /// The port of `url`.
    public var port: Int
    /// `metrics-listen`: `host:port` of the Prometheus listener; nil = none.
    public var metricsListen: String?

    public init(
        code: SiteCode, name: String, parent: SiteCode?, url: String, host: String, port: Int,
        metricsListen: String? = nil
    ) {
        self.usesTLS = url.lowercased().hasPrefix("https:")
        self.code = code
        self.name = name
        self.parent = parent
        self.url = url
        self.host = host
        self.port = port
        self.metricsListen = metricsListen
    }
}
