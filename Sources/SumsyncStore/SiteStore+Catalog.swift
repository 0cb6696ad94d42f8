import Foundation
import GRDB
import Logging
import SumsyncFormats
import SumsyncModel

extension SiteStore {
    /// Applies the catalog file at `path` as one full snapshot of upstream, in one transaction: the second
    /// half of a top-level sync, also used to import a catalog bundle. `name` is how messages call it;
    /// `validators` (ETag, Last-Modified) are stored for the next conditional request. `full`: parse every
    /// line, even when the line index of the last catalog (kept in `indexCache`) could skip the known ones.
    /// All or nothing: any error leaves the site database as it was. `defaultSource` names the source of
    /// every record (an upstream catalog's lines, whatever they say); nil keeps each record's own (the merged
    /// snapshot of several sources); `allowEmpty`: an empty snapshot is fine (sources
    /// that offer nothing yet), not a broken upstream. `purgeCutoff`: updates expired before this epoch
    /// second are purged (``Purge``); nil purges nothing.
    package func applyCatalog(
        at path: String, name catalog: String, filter: UpdateFilter, expiryCutoff cutoff: Int64, skipInvalid: Bool,
        validators: (etag: String?, lastModified: String?), syncID: String, full: Bool, indexCache: CatalogIndexCache,
        progress: SyncProgress, logger: Logger, now: @Sendable () -> Date, defaultSource: String? = nil,
        allowEmpty: Bool = false, purgeCutoff: Int64? = nil
    ) async throws(SyncError) -> SyncOutcome {
        let (etag, lastModified) = validators
        var phases = PhaseTimes()
        let result: (outcome: SyncOutcome, index: CatalogIndex?, phases: PhaseTimes, firstSync: Bool)
        do {
            result = try await pool.write { db throws -> (SyncOutcome, CatalogIndex?, PhaseTimes, Bool) in
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
                let total = applier.previousLineCount ?? CatalogLineReader.countLines(path)
                progress.enter(.applying, total: total)
                if applier.usesLineIndex {
                    logger.debug(
                        "Known lines of the last catalog are skipped unparsed (line index of \(total ?? 0) lines).")
                }
                var succeeded = false
                if applier.isFirstSync {
                    // A bulk load: the digest is worked out from the final rows at the end instead.
                    try CatalogState.suspend(db)
                    // Random ids make every insert touch a random page of the id index; with SQLite's 2 MB
                    // cache those pages spill to the log and are read back again and again. 32 MB keeps
                    // the index's hot pages (a 500,000-update first sync: 14.2 s rather than 17.1 s, peak
                    // RSS 132 MB rather than 95 MB).
                    try SiteStore.setFirstSyncCache(db)
                } else {
                    try SiteStore.setLargeCache(true, db)
                }
                defer {
                    try? SiteStore.setLargeCache(false, db)
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
                    var record: CatalogRecord
                    switch parsed {
                    case .success(let parsed):
                        record = parsed
                        // An upstream catalog's lines: the configured source names them, and only the top's
                        // own merge writes digests.
                        if let defaultSource {
                            record.source = defaultSource
                            record.digest = nil
                        }
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
                guard lines > 0 || allowEmpty else {
                    throw SyncError("the upstream catalog \(catalog) is empty; nothing was applied")
                }
                progress.advance(to: lines)
                // The next line index is assembled on another thread meanwhile; its stamp, known only
                // once the version is, replaces this placeholder.
                let indexing = applier.nextIndexMaker().map { make in
                    BackgroundWork { make(CatalogIndex.Stamp(syncCounter: 0, catalogVersion: 0, filter: 0)) }
                }
                let counts = try applier.finish(
                    expiryCutoff: cutoff, purgeCutoff: purgeCutoff, now: Int64(now().timeIntervalSince1970))
                phases.mark("removals, purge, supersedence, expiry [\(applier.finishPhases.summary)]")
                if applier.isFirstSync {
                    try CatalogState.rebuild(db)
                    phases.mark("digest")
                }
                let newCategories = try Categories.record(
                    applier.offered, filter: filter, syncID: syncID, at: now(), db: db)
                let (version, _) = try ChangeLog.commit(
                    db, counts: counts, version: applier.isFirstSync && counts.new > 0 ? 1 : nil,
                    logged: !applier.isFirstSync)
                try CatalogState.seal(db, trust: catalogTrust, now: now())
                try db.execute(
                    sql: """
                        UPDATE site_state SET upstream_etag = ?, upstream_last_modified = ?, filter_fingerprint = ?
                        WHERE id = 1
                        """,
                    arguments: [etag, lastModified, filter.fingerprint]
                )
                var outcome = SyncOutcome(result: .succeeded, counts: counts, catalogVersion: version)
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
            await checkpointNow()
            phases.mark("checkpoint")
        }
        logger.debug("Sync \(syncID) phases: \(result.phases.summary); then \(phases.summary).")
        return result.outcome
    }
}
