import AsyncHTTPClient
import Foundation
import Logging
import SumsyncFormats
import SumsyncModel
import SumsyncStore

/// Runs one sync of the top-level site from its upstream catalog: fetch, then apply in one transaction.
///
/// All or nothing: a failure anywhere (unreachable upstream, a malformed line, a stop request, a crash)
/// leaves the updates and the catalog version exactly as they were; only the history row records it.
public struct SyncEngine: Sendable {
    let store: SiteStore
    let site: SiteCode
    let stateDirectory: String
    let httpClient: HTTPClient
    /// The last applied catalog's line index, kept between this engine's syncs.
    let indexCache: CatalogIndexCache

    public init(store: SiteStore, site: SiteCode, stateDirectory: String, httpClient: HTTPClient) {
        self.store = store
        self.site = site
        self.stateDirectory = stateDirectory
        self.httpClient = httpClient
        self.indexCache = CatalogIndexCache(stateDirectory: stateDirectory)
    }

    /// What a finished sync reports.
    public typealias Outcome = SyncOutcome

    /// Syncs from `config`'s upstream catalog. Never throws: a failure is an outcome, recorded in history.
    public func syncFromCatalog(
        id: String, trigger: SyncTrigger, config: HierarchyConfig, full: Bool, progress: SyncProgress, logger: Logger,
        now: @Sendable () -> Date = Date.init
    ) async -> Outcome {
        await store.recordingHistory(id: id, site: site, trigger: trigger, logger: logger, now: now) {
            () throws(SyncError) in
            let outcome = try await run(
                id: id, config: config, full: full, progress: progress, logger: logger, now: now)
            // Upstream unchanged: what expired long enough ago is purged all the same.
            guard outcome.result == .noOp, let cutoff = Self.purgeCutoff(now: now(), config: config),
                (try? store.purgeIsDue(cutoff: cutoff)) == true
            else { return outcome }
            return try await purgeExpired(cutoff: cutoff, config: config, now: now)
        }
    }

    /// A sync that only purges (trigger `purge`: `sumsyncctl purge`): the updates expired longer than
    /// `[sync] purge-expired-after` are deleted now, without asking upstream. Never throws.
    public func purge(
        id: String, config: HierarchyConfig, logger: Logger, now: @Sendable () -> Date = Date.init
    ) async -> Outcome {
        await store.recordingHistory(id: id, site: site, trigger: .purge, logger: logger, now: now) {
            () throws(SyncError) in
            guard let cutoff = Self.purgeCutoff(now: now(), config: config) else {
                throw SyncError("[sync] purge-expired-after is \"0\": this site never purges")
            }
            return try await purgeExpired(cutoff: cutoff, config: config, now: now)
        }
    }

    private func purgeExpired(cutoff: Int64, config: HierarchyConfig, now: @Sendable () -> Date)
        async throws(SyncError) -> Outcome
    {
        var outcome = try await store.purgeExpired(
            cutoff: cutoff,
            expiryCutoff: Self.expiryCutoff(now: now(), months: config.sync.expireSupersededAfterMonths),
            filter: UpdateFilter(config.sync), indexCache: indexCache, now: now)
        if outcome.counts.changed == 0 { outcome.result = .noOp }
        return outcome
    }

    /// The epoch second before which an expired update is purged (`[sync] purge-expired-after`); nil when
    /// the site never purges.
    public static func purgeCutoff(now: Date, config: HierarchyConfig) -> Int64? {
        config.sync.purgeExpiredAfter.map { Int64(now.timeIntervalSince1970) - $0.seconds }
    }

    private func run(
        id: String, config: HierarchyConfig, full: Bool, progress: SyncProgress, logger: Logger,
        now: @Sendable () -> Date
    ) async throws(SyncError) -> Outcome {
        let sources = config.upstream.sources
        guard let first = sources.first else {
            throw SyncError(
                "no upstream configured ([upstream] catalog or [[upstream.source]]); a disconnected site syncs by import"
            )
        }
        // Several sources, or any advisory source: each fetched on its own and merged.
        guard sources.count == 1, first.format == .catalog else {
            return try await runSources(
                id: id, config: config, full: full, progress: progress, logger: logger, now: now)
        }
        // One catalog: read where it lies or downloaded, applied with the line index (no kept copy).
        let previous = try? store.sourceStates()[first.name]
        var record = SourceState(
            name: first.name, format: first.format.rawValue, url: first.url, lastResult: "failed",
            lastChecked: RFC3339.format(now()), lastChanged: previous?.lastChanged)
        defer { try? store.recordSources([record]) }
        do throws(SyncError) {
            let outcome = try await runCatalog(
                first, id: id, config: config, full: full, progress: progress, logger: logger, now: now)
            record.lastResult = outcome.result == .noOp ? "unchanged" : "succeeded"
            if outcome.result == .succeeded, outcome.counts.changed > 0 { record.lastChanged = record.lastChecked }
            return outcome
        } catch {
            record.error = error.message
            throw error
        }
    }

    private func runCatalog(
        _ catalogSource: UpstreamSourceConfig, id: String, config: HierarchyConfig, full: Bool, progress: SyncProgress,
        logger: Logger, now: @Sendable () -> Date
    ) async throws(SyncError) -> Outcome {
        let catalog = catalogSource.url
        let state = try readState()
        let filter = UpdateFilter(config.sync)
        // A changed filter must re-read everything: validators from the old selection do not apply.
        let filterChanged = state.filterFingerprint != nil && state.filterFingerprint != filter.fingerprint
        let source = CatalogUpstream(
            url: catalog, httpClient: httpClient,
            downloadPath: (stateDirectory as NSString).appendingPathComponent("catalog.download"),
            idleTimeout: config.upstream.timeout.duration)
        progress.enter(.fetching)
        let fetched = try await source.fetch(
            since: UpstreamState(etag: state.etag, lastModified: state.lastModified), full: full || filterChanged,
            progress: progress)
        guard case .snapshot(let snapshot) = fetched else {
            return Outcome(result: .noOp, catalogVersion: state.version)
        }
        defer { snapshot.remove() }
        return try await apply(
            catalogAt: snapshot.path, name: snapshot.name, config: config, etag: snapshot.state.etag,
            lastModified: snapshot.state.lastModified, syncID: id, full: full || filterChanged, progress: progress,
            logger: logger, now: now, source: catalogSource.name
        )
    }

    /// Applies the catalog file at `path` as one full snapshot of upstream, in one transaction: the second
    /// half of a catalog sync, also used to import a catalog bundle. `name` is how messages call it;
    /// `etag` and `lastModified` are stored as the validators for the next conditional request. `full`:
    /// parse every line, even when the line index of the last catalog could skip the known ones.
    func apply(
        catalogAt path: String, name catalog: String, config: HierarchyConfig, etag: String?, lastModified: String?,
        syncID: String, full: Bool = false, progress: SyncProgress, logger: Logger, now: @Sendable () -> Date,
        source: String? = nil
    ) async throws(SyncError) -> Outcome {
        try await store.applyCatalog(
            at: path, name: catalog, filter: UpdateFilter(config.sync),
            expiryCutoff: Self.expiryCutoff(now: now(), months: config.sync.expireSupersededAfterMonths),
            skipInvalid: config.upstream.skipInvalid, validators: (etag, lastModified), syncID: syncID, full: full,
            indexCache: indexCache, progress: progress, logger: logger, now: now, defaultSource: source,
            purgeCutoff: Self.purgeCutoff(now: now(), config: config)
        )
    }

    func readState() throws(SyncError) -> SiteStore.State {
        do {
            return try store.state()
        } catch {
            throw SyncError("cannot read the site database: \(error)")
        }
    }

    /// Waits until the line index of the last sync is in `catalog-index.bin` (it is written in the
    /// background); for tests and tools that open the state folder afresh.
    func flushIndex() async {
        await indexCache.flush()
    }

    /// The epoch second at or before which a superseding update's release makes the superseded one expire.
    static func expiryCutoff(now: Date, months: Int) -> Int64 {
        guard months > 0 else { return Int64(now.timeIntervalSince1970) }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let date = calendar.date(byAdding: .month, value: -months, to: now) ?? now
        return Int64(date.timeIntervalSince1970)
    }
}
