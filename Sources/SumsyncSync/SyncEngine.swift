import AsyncHTTPClient
import Foundation
import GRDB
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
        let before = (try? store.catalogVersion()) ?? 0
        let began = ContinuousClock.now
        var phases = PhaseTimes()
        do {
            try store.recordSyncStarted(id: id, site: site, trigger: trigger, at: now())
        } catch {
            return Outcome(result: .failed, catalogVersion: before, error: "cannot record the sync: \(error)")
        }
        phases.mark("history")
        var outcome: Outcome
        do {
            outcome = try await run(id: id, config: config, full: full, progress: progress, logger: logger, now: now)
        } catch {
            outcome = Outcome(result: .failed, catalogVersion: before, error: error.message)
        }
        phases.mark("sync")
        do {
            try store.recordSyncFinished(
                id: id, result: outcome.result, counts: outcome.counts, error: outcome.error, at: now(), began: began
            )
        } catch {
            logger.error("Cannot record the end of sync \(id): \(error)")
        }
        phases.mark("history")
        logger.debug("Sync \(id) in all: \(phases.summary).")
        return outcome
    }

    private func run(
        id: String, config: HierarchyConfig, full: Bool, progress: SyncProgress, logger: Logger,
        now: @Sendable () -> Date
    ) async throws(SyncError) -> Outcome {
        guard let catalog = config.upstream.catalog else {
            throw SyncError("no upstream catalog configured ([upstream] catalog); a disconnected site syncs by import")
        }
        let state = try readState()
        let filter = UpdateFilter(config.sync)
        // A changed filter must re-read everything: validators from the old selection do not apply.
        let filterChanged = state.filterFingerprint != nil && state.filterFingerprint != filter.fingerprint
        var fetcher = CatalogFetcher(httpClient: httpClient, downloadFolder: stateDirectory)
        fetcher.idleTimeout = config.upstream.timeout.duration
        progress.enter(.fetching)
        let fetched = try await fetcher.fetch(
            catalog, etag: state.etag, lastModified: state.lastModified, full: full || filterChanged, progress: progress
        )
        guard case .file(let path, let temporary, let etag, let lastModified) = fetched else {
            return Outcome(result: .noOp, catalogVersion: state.version)
        }
        defer { if temporary { unlink(path) } }
        return try await apply(
            catalogAt: path, name: catalog, config: config, etag: etag, lastModified: lastModified, syncID: id,
            full: full || filterChanged, progress: progress, logger: logger, now: now
        )
    }

    /// Applies the catalog file at `path` as one full snapshot of upstream, in one transaction: the second
    /// half of a catalog sync, also used to import a catalog bundle. `name` is how messages call it;
    /// `etag` and `lastModified` are stored as the validators for the next conditional request. `full`:
    /// parse every line, even when the line index of the last catalog could skip the known ones.
    func apply(
        catalogAt path: String, name catalog: String, config: HierarchyConfig, etag: String?, lastModified: String?,
        syncID: String, full: Bool = false, progress: SyncProgress, logger: Logger, now: @Sendable () -> Date
    ) async throws(SyncError) -> Outcome {
        let filter = UpdateFilter(config.sync)
        let months = config.sync.expireSupersededAfterMonths
        let cutoff = Self.expiryCutoff(now: now(), months: months)
        let skipInvalid = config.upstream.skipInvalid
        let indexCache = self.indexCache
        let result: (outcome: Outcome, index: CatalogIndex?, phases: PhaseTimes, firstSync: Bool)
        var phases = PhaseTimes()
        do {
            result = try await store.pool.write { db throws -> (Outcome, CatalogIndex?, PhaseTimes, Bool) in
                var phases = PhaseTimes()
                try ChangeLog.begin(db)
                let state = try Row.fetchOne(
                    db, sql: "SELECT sync_counter, catalog_version FROM site_state WHERE id = 1")!
                // The line index is only good for the database state it was made with.
                let current = CatalogIndex.Stamp(
                    syncCounter: state[0], catalogVersion: state[1], filter: CatalogIndex.Stamp.filterHash(filter))
                let previous = full ? nil : indexCache.take(matching: current)
                try db.execute(sql: "UPDATE site_state SET sync_counter = sync_counter + 1 WHERE id = 1")
                let number = try Int.fetchOne(db, sql: "SELECT sync_counter FROM site_state WHERE id = 1") ?? 1
                let applier = try CatalogApplier(
                    db: db, syncNumber: number, filter: filter, previous: previous, progress: progress)
                phases.mark("index")
                let total = applier.previousLineCount ?? Self.countLines(path)
                progress.enter(.applying, total: total)
                if applier.usesLineIndex {
                    logger.debug(
                        "Known lines of the last catalog are skipped unparsed (line index of \(total ?? 0) lines).")
                }
                var succeeded = false
                if !applier.isFirstSync { try SiteStore.setLargeCache(true, db) }
                defer {
                    if !applier.isFirstSync { try? SiteStore.setLargeCache(false, db) }
                    // A failed sync changed nothing: the index still describes the database.
                    if !succeeded, let index = applier.previous { indexCache.putBack(index) }
                }
                var lines = 0
                var skipped = 0
                let indexed = applier.usesLineIndex
                var writing = Duration.zero
                // Each line that is not known: parsed (here, or by the delta's reading thread) and written.
                let take = { (parsed: Result<CatalogRecord, CatalogError>, hash: UInt64) throws in
                    lines += 1
                    if lines & 1023 == 0 {
                        if progress.isStopRequested { throw SyncError.cancelled }
                        if !indexed { progress.advance(to: lines) }
                    }
                    let record: CatalogRecord
                    switch parsed {
                    case .success(let parsed): record = parsed
                    case .failure(let error):
                        guard skipInvalid else {
                            throw SyncError(
                                "malformed upstream catalog: \(error); nothing was applied (set [upstream] skip-invalid = true to skip bad lines)"
                            )
                        }
                        skipped += 1
                        if skipped <= 20 { logger.warning("Skipped an invalid catalog line: \(error)") }
                        return
                    }
                    let started = ContinuousClock.now
                    try applier.add(record, hash: hash)
                    writing += ContinuousClock.now - started
                }
                if let index = applier.previous {
                    // A delta: another thread reads, hashes and matches the catalog while this one writes
                    // the unknown lines it hands on (the matcher reports progress for the known ones).
                    let pipe = LinePipe.start(path: path, index: index, progress: progress)
                    defer { pipe.close() }
                    reading: while true {
                        switch pipe.next() {
                        case .record(_, let hash, let parsed): try take(parsed, hash)
                        case .end(let matcher):
                            applier.matcher = matcher
                            break reading
                        case .failed(let error): throw error
                        }
                    }
                } else {
                    // A line the reader refuses (not UTF-8, too long) is a bad line like one that does not
                    // parse: skipped with `skip-invalid`, else the sync fails.
                    try CatalogLineReader(path: path).forEachLine(
                        known: &applier.matcher, onInvalidLine: { error in try take(.failure(error), 0) }
                    ) { number, bytes in
                        let parsed = Result { () throws(CatalogError) in
                            try CatalogRecordParser.parse(bytes, line: number)
                        }
                        try take(parsed, LineHash.hash(bytes))
                    }
                }
                phases.mark("read (\(lines) lines parsed, written in \(PhaseTimes.milliseconds(writing)) ms)")
                let known = applier.matcher.known
                lines += known
                guard lines > 0 else {
                    throw SyncError("the upstream catalog \(catalog) is empty; nothing was applied")
                }
                progress.advance(to: lines)
                // The next line index is assembled on another thread meanwhile; its stamp, known only
                // once the version is, replaces this placeholder.
                let indexing = applier.nextIndexMaker().map { make in
                    BackgroundWork { make(CatalogIndex.Stamp(syncCounter: 0, catalogVersion: 0, filter: 0)) }
                }
                let counts = try applier.finish(expiryCutoff: cutoff)
                phases.mark("removals, supersedence, expiry [\(applier.finishPhases.summary)]")
                let newCategories = try Categories.record(
                    applier.offered, filter: filter, syncID: syncID, at: now(), db: db)
                let (version, _) = try ChangeLog.commit(
                    db, counts: counts, version: applier.isFirstSync && counts.new > 0 ? 1 : nil,
                    logged: !applier.isFirstSync)
                try db.execute(
                    sql: """
                        UPDATE site_state SET upstream_etag = ?, upstream_last_modified = ?, filter_fingerprint = ?
                        WHERE id = 1
                        """,
                    arguments: [etag, lastModified, filter.fingerprint]
                )
                var outcome = Outcome(result: .succeeded, counts: counts, catalogVersion: version)
                outcome.newCategories = newCategories
                outcome.skippedInvalid = skipped
                outcome.knownLines = known
                phases.mark("change log")
                // Handed to the cache only once the transaction has committed.
                var next = indexing?.value
                next?.stamp = CatalogIndex.Stamp(
                    syncCounter: Int64(number), catalogVersion: Int64(version), filter: current.filter)
                phases.mark("next index")
                succeeded = true
                return (outcome, next, phases, applier.isFirstSync)
            }
        } catch let error as SyncError {
            throw error
        } catch let error as CatalogError {
            throw SyncError("malformed upstream catalog: \(error.description); nothing was applied")
        } catch {
            throw SyncError("the site database refused the sync: \(error); nothing was applied")
        }
        phases.mark("transaction")
        if let index = result.index { indexCache.store(index) }
        if result.firstSync {
            // A bulk load: its log is as large as the database.
            await store.checkpointNow()
            phases.mark("checkpoint")
        }
        logger.debug("Sync \(syncID) phases: \(result.phases.summary); then \(phases.summary).")
        return result.outcome
    }

    struct State {
        var version: Int
        var etag: String?
        var lastModified: String?
        var filterFingerprint: String?
    }

    func readState() throws(SyncError) -> State {
        do {
            return try store.pool.read { db in
                let row = try Row.fetchOne(db, sql: "SELECT * FROM site_state WHERE id = 1")!
                return State(
                    version: row["catalog_version"], etag: row["upstream_etag"],
                    lastModified: row["upstream_last_modified"], filterFingerprint: row["filter_fingerprint"]
                )
            }
        } catch {
            throw SyncError("cannot read the site database: \(error)")
        }
    }

    /// Waits until the line index of the last sync is in `catalog-index.bin` (it is written in the
    /// background); for tests and tools that open the state folder afresh.
    func flushIndex() async {
        await indexCache.flush()
    }

    /// Counts the lines of a plain file (a `memchr` scan), for `processed N of M`; nil for a gzip file,
    /// whose lines are only known once inflated.
    static func countLines(_ path: String) -> Int? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var count = 0
        var last: UInt8 = 0x0A
        var first = true
        while true {
            let read = Foundation.read(fd, buffer.baseAddress, buffer.count)
            if read <= 0 { break }
            if first {
                first = false
                if read >= 2, GzipInflater.isGzip(buffer[0], buffer[1]) { return nil }
            }
            var at = buffer.baseAddress!
            let end = at + read
            while at < end, let hit = memchr(at, 0x0A, end - at) {
                count += 1
                at = UnsafeMutableRawPointer(hit) + 1
            }
            last = buffer[read - 1]
        }
        return last == 0x0A ? count : count + 1
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
