/// Why a sync runs; recorded in history and in the journal as `SUMSYNC_SYNC_TRIGGER`.
public enum SyncTrigger: String, Sendable, Codable, CaseIterable {
    /// The calendar schedule came due.
    case schedule
    /// An admin asked: `SIGUSR1` or `sumsyncctl sync`.
    case manual
    /// A failed sync is being retried after `retry-interval`.
    case retry
    /// A run was missed while the daemon was down, or a child (re)started and asks its parent.
    case catchUp = "catch-up"
    /// The parent site asked (a sync request from the parent).
    case parent
    /// A signed bundle is being imported.
    case `import`
    /// `sumsyncctl purge`: expired updates purged now, without asking upstream.
    case purge
}

/// How a sync ended.
public enum SyncResult: String, Sendable, Codable {
    case succeeded
    case failed
    /// Some sources failed: their updates stayed as they were, the others applied; retried like a failure.
    case partial
    /// Upstream answered that nothing changed (HTTP 304); the catalog version stays.
    case noOp = "no-op"
    /// Still running (only seen in history while a sync runs, or after a crash before recovery).
    case running
}

/// The counts of one sync, per change kind.
public struct ChangeCounts: Sendable, Equatable, Codable {
    public var new = 0
    public var revised = 0
    public var expired = 0
    public var superseded = 0
    public var removed = 0
    /// Expired updates deleted by `[sync] purge-expired-after` (removals for the sites below).
    public var purged = 0
    public var unchanged = 0

    public init() {}

    /// Changes of any kind (not counting unchanged).
    public var changed: Int { new + revised + expired + superseded + removed + purged }

    /// Updates the site holds after the sync (every kind but removed and purged, plus unchanged).
    public var held: Int { new + revised + expired + superseded + unchanged }

    /// Each count with its name, in the order messages, journal fields and metrics use: new, revised,
    /// expired, superseded, removed, purged, unchanged.
    public var named: [(name: String, count: Int)] {
        [
            ("new", new), ("revised", revised), ("expired", expired), ("superseded", superseded),
            ("removed", removed), ("purged", purged), ("unchanged", unchanged),
        ]
    }

    /// `3 new, 1 revised, 0 expired, 0 superseded, 2 removed, 0 purged, 994 unchanged`.
    public var summary: String { named.map { "\($0.count) \($0.name)" }.joined(separator: ", ") }
}

/// The kinds of change a sync records per update, in precedence order: an update that is both new and
/// expired in one sync counts as new.
/// `purged` is a removal too (an expired update deleted by `[sync] purge-expired-after`), of the same
/// precedence as `removed`.
public enum ChangeKind: String, Sendable, CaseIterable {
    case new, removed, purged, expired, superseded, revised
}
