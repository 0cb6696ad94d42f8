import Foundation
import SumsyncModel
import SumsyncStore

/// Development hooks for `sumsync-bench`.
public enum ChangeStreamBenchmark {
    /// Applies the change stream at `feed` to the site database at `database` in one transaction, as a
    /// child does, and returns how long its phases took: `sumsync-bench apply-feed`, for profiling the
    /// child's side of a delta without a hierarchy around it.
    public static func apply(database: String, feed: String) async throws -> String {
        let store = try SiteStore(path: database)
        let applier = ChangeApplier(path: feed, source: "file \(feed)")
        var outer = PhaseTimes()
        let (counts, version, inner) = try await store.apply(applier, progress: SyncProgress())
        outer.mark("apply+commit")
        let log = (try? FileManager.default.attributesOfItem(atPath: database + "-wal")[.size] as? Int) ?? 0
        return
            "log \(log / 4120) pages, version \(version), \(counts.new) new, \(counts.revised) revised, \(counts.removed) removed: \(outer.summary) [\(inner.summary)]"
    }

    /// Writes the change stream since `since` from the site database at `database` to `feed`, as a
    /// parent does for its children, and returns how long its phases took.
    public static func write(database: String, since: Int, feed: String) throws -> String {
        let store = try SiteStore(path: database)
        var phases = PhaseTimes()
        let header = try ChangeFeed.write(store: store, site: "CAS", since: since, to: feed, phases: &phases)
        return "\(header.upserts) updates, \(header.removals) removals, to version \(header.to): \(phases.summary)"
    }
}
