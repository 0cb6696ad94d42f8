/// One update as the upstream catalog describes it: one NDJSON line, validated.
///
/// See `docs/catalog-format.md` for the format. Values are stored as given except `id` and
/// `supersedes`, which are lowercased so ids compare case-insensitively with plain `==`.
public struct CatalogRecord: Sendable, Equatable {
    /// The update's GUID, lowercased (`3f2504e0-4f89-11d3-9a0c-0305e82c3301`).
    public var id: String
    /// Upstream's revision number, ≥ 1; a higher revision of a stored id is a revised update.
    public var revision: Int
    /// Human-readable title, non-empty.
    public var title: String
    /// The product (`Windows 11`), non-empty; matched against the configured product filter.
    public var product: String
    /// One of `CatalogRecord.classifications`.
    public var classification: String
    /// Language codes (`en`, `de`, …) or `["all"]`; never empty.
    public var languages: [String]
    /// Knowledge-base article (`KB5046617`).
    public var kb: String?
    /// Security bulletin (`MS26-NOV`).
    public var bulletin: String?
    /// One of `CatalogRecord.severities`.
    public var severity: String?
    /// Release time, exactly as the catalog wrote it (validated RFC 3339).
    public var released: String
    /// `released` as seconds since 1970-01-01T00:00:00Z; supersedence timing compares these.
    public var releasedEpoch: Int64
    /// Last revision time as written (validated RFC 3339).
    public var revised: String?
    /// Ids (lowercased) of the updates this one supersedes; `[]` when absent.
    public var supersedes: [String]
    /// Upstream withdrew the update; false when absent.
    public var expired: Bool
    /// Download size in bytes, ≥ 0.
    public var size: Int64?
    /// Information or download URL.
    public var url: String?
    /// Free-text description.
    public var description: String?
    /// The configured source the update came from (`[[upstream.source]] name`; `catalog` for
    /// `[upstream] catalog`); nil in lines of an upstream catalog, which the sync fills in.
    public var source: String?
    /// The advisory as its upstream names it (`RLSA-2024:0001`), for sources that publish advisories.
    public var advisory: String?
    /// CVE ids the advisory references; `[]` when absent.
    public var cves: [String]
    /// The fixed packages, `name-[epoch:]version-release.arch` (epoch only when not 0); `[]` when absent.
    public var packages: [String]
    /// Upstream suggests a reboot after installing; false when absent.
    public var rebootSuggested: Bool
    /// The top site's hash of the advisory's upstream content, for sources whose revision sumsync counts
    /// (rpm); never sent to child sites.
    public var digest: Int64?

    /// Memberwise initializer. It does not validate: use `CatalogRecordParser` for untrusted input.
    public init(
        id: String, revision: Int, title: String, product: String, classification: String,
        languages: [String], kb: String? = nil, bulletin: String? = nil, severity: String? = nil,
        released: String, releasedEpoch: Int64, revised: String? = nil, supersedes: [String] = [],
        expired: Bool = false, size: Int64? = nil, url: String? = nil, description: String? = nil,
        source: String? = nil, advisory: String? = nil, cves: [String] = [], packages: [String] = [],
        rebootSuggested: Bool = false, digest: Int64? = nil
    ) {
        self.id = id
        self.revision = revision
        self.title = title
        self.product = product
        self.classification = classification
        self.languages = languages
        self.kb = kb
        self.bulletin = bulletin
        self.severity = severity
        self.released = released
        self.releasedEpoch = releasedEpoch
        self.revised = revised
        self.supersedes = supersedes
        self.expired = expired
        self.size = size
        self.url = url
        self.description = description
        self.source = source
        self.advisory = advisory
        self.cves = cves
        self.packages = packages
        self.rebootSuggested = rebootSuggested
        self.digest = digest
    }

    /// Every classification a catalog may use: the same list configs select from (advisory sources add
    /// their own lowercase types, ``Classification/isAdvisoryType(_:)``).
    public static var classifications: [String] { Classification.all }

    /// Every severity a catalog may use.
    public static let severities: [String] = ["Critical", "Important", "Moderate", "Low"]
}
