import Foundation
import Logging
import SumsyncFormats
import SumsyncModel
import SumsyncStore

/// A top-level sync from several sources, or from any advisory source (docs/sources.md).
///
/// Each source is fetched on its own, into a kept copy of its records in `sources/` named by its content
/// key. A source that fails contributes its last kept copy, so its updates stay exactly as they were,
/// and the sync is `partial`. The copies are merged (``SourceMerge``) into one snapshot, applied in one
/// transaction as a catalog is; then the sources' states are stored and copies no longer named removed.
extension SyncEngine {
    var sourcesDirectory: String { (stateDirectory as NSString).appendingPathComponent("sources") }

    func runSources(
        id: String, config: HierarchyConfig, full requested: Bool, progress: SyncProgress, logger: Logger,
        now: @Sendable () -> Date
    ) async throws(SyncError) -> Outcome {
        let sources = config.upstream.sources
        let state = try readState()
        let filter = UpdateFilter(config.sync)
        let stored: [String: SourceState]
        do {
            try FileManager.default.createDirectory(atPath: sourcesDirectory, withIntermediateDirectories: true)
            stored = try store.sourceStates()
        } catch {
            throw SyncError("cannot read the sources' state: \(error)")
        }
        let filterChanged = state.filterFingerprint != nil && state.filterFingerprint != filter.fingerprint
        let full = requested || filterChanged
        let store = self.store
        let ledger = AdvisoryLedger { try store.advisoryLedger() }
        let context = SourceFetchContext(
            httpClient: httpClient, directory: sourcesDirectory, idleTimeout: config.upstream.timeout.duration,
            maxMetadataSize: config.upstream.maxMetadataSize, skipInvalid: config.upstream.skipInvalid, logger: logger,
            ledger: ledger)
        let checked = RFC3339.format(now())
        var states: [SourceState] = []
        var inputs: [SourceMerge.Input] = []
        var failures: [(name: String, error: String)] = []
        var anyChanged = false
        var skipped = 0
        progress.enter(.fetching)
        for source in sources {
            let previous = stored[source.name]
            // A source whose settings changed starts afresh.
            let same =
                previous.map {
                    $0.format == source.format.rawValue && $0.url == source.url && $0.product == source.product
                } ?? false
            let known = same ? previous : nil
            var next = SourceState(
                name: source.name, format: source.format.rawValue, url: source.url, product: source.product,
                etag: known?.etag, lastModified: known?.lastModified, contentKey: known?.contentKey,
                lastResult: nil, lastChecked: checked, lastChanged: known?.lastChanged, error: nil)
            do {
                let fetched = try await fetch(source, state: known, full: full, context: context, progress: progress)
                next.etag = fetched.etag
                next.lastModified = fetched.lastModified
                skipped += fetched.skipped
                switch fetched.content {
                case .unchanged:
                    next.lastResult = "unchanged"
                    inputs.append(.init(source: source, path: copyPath(source.name, key: next.contentKey)))
                case .changed(let path, let key, _):
                    next.lastResult = "succeeded"
                    if key != known?.contentKey {
                        next.lastChanged = checked
                        anyChanged = true
                    }
                    next.contentKey = key
                    inputs.append(.init(source: source, path: path))
                }
            } catch {
                if error.message == SyncError.cancelled.message { throw error }
                next.lastResult = "failed"
                next.error = error.message
                failures.append((source.name, error.message))
                logger.warning(
                    "Source \(source.name) failed: \(error.message)",
                    metadata: ["source.name": "\(source.name)", "source.error": "\(error.message)"])
                // Its last good copy stands in for it.
                if let key = known?.contentKey, FileManager.default.fileExists(atPath: copyPath(source.name, key: key))
                {
                    inputs.append(.init(source: source, path: copyPath(source.name, key: key)))
                } else {
                    next.contentKey = nil
                    let held = (try? store.updateCountsBySource()[source.name]) ?? 0
                    if held > 0 {
                        failures.append(
                            (
                                source.name,
                                "and its kept copy is missing, so its \(held) updates cannot be kept as they are"
                            ))
                        record(states: stored, configured: sources, fallback: states + [next], logger: logger)
                        throw SyncError(Self.describe(failures) + "; nothing was applied")
                    }
                }
            }
            states.append(next)
        }
        let sourcesChanged = Set(stored.keys) != Set(sources.map(\.name))
        if failures.count == sources.count {
            record(states: stored, configured: sources, fallback: states, logger: logger)
            throw SyncError(Self.describe(failures) + "; nothing was applied")
        }
        if !anyChanged && !full && !sourcesChanged && state.version > 0 {
            record(states: stored, configured: sources, fallback: states, logger: logger)
            guard failures.isEmpty else {
                var outcome = Outcome(result: .partial, catalogVersion: state.version)
                outcome.error = Self.describe(failures) + "; the other sources were unchanged"
                return outcome
            }
            return Outcome(result: .noOp, catalogVersion: state.version)
        }
        var combined = (sourcesDirectory as NSString).appendingPathComponent("snapshot.ndjson")
        defer { unlink((sourcesDirectory as NSString).appendingPathComponent("snapshot.ndjson")) }
        progress.enter(.applying)
        if inputs.count == 1 && inputs[0].source.format == .osv {
            // An osv source alone: its kept copy is the snapshot (the converter set revisions and digests).
            combined = inputs[0].path
        } else {
            let merge = SourceMerge(ledger: try ledger.entries(), filter: filter)
            let mergeInputs = inputs
            let path = combined
            _ = try await Offload.run { () throws(SyncError) in try merge.merge(mergeInputs, to: path) }
        }
        var outcome: Outcome
        do {
            outcome = try await store.applyCatalog(
                at: combined, name: "the merged sources", filter: filter,
                expiryCutoff: Self.expiryCutoff(now: now(), months: config.sync.expireSupersededAfterMonths),
                skipInvalid: false, validators: (nil, nil), syncID: id, full: full, indexCache: indexCache,
                progress: progress, logger: logger, now: now, allowEmpty: true,
                purgeCutoff: Self.purgeCutoff(now: now(), config: config))
        } catch {
            // Nothing applied: the stored keys stay, so the next sync fetches the changed sources again.
            for index in states.indices where states[index].lastResult != "failed" {
                states[index].contentKey = stored[states[index].name]?.contentKey
                states[index].etag = stored[states[index].name]?.etag
                states[index].lastModified = stored[states[index].name]?.lastModified
                states[index].lastChanged = stored[states[index].name]?.lastChanged
            }
            record(states: stored, configured: sources, fallback: states, logger: logger)
            removeUnnamedCopies(states: states.map { stored[$0.name] ?? $0 })
            throw error
        }
        outcome.skippedInvalid += skipped
        record(states: stored, configured: sources, fallback: states, logger: logger)
        removeUnnamedCopies(states: states)
        if !failures.isEmpty {
            outcome.result = .partial
            outcome.error =
                Self.describe(failures) + "; their updates were kept as they were, the other sources applied"
        }
        return outcome
    }

    private func fetch(
        _ source: UpstreamSourceConfig, state: SourceState?, full: Bool, context: SourceFetchContext,
        progress: SyncProgress
    ) async throws(SyncError) -> SourceFetch {
        do throws(SyncError) {
            switch source.format {
            case .rpm:
                return try await RpmUpstream(config: source, context: context).fetch(
                    state: state, full: full, progress: progress)
            case .osv:
                return try await OSVUpstream(config: source, context: context).fetch(
                    state: state, full: full, progress: progress)
            case .catalog:
                return try await CatalogSourceCopy(config: source, context: context).fetch(
                    state: state, full: full, progress: progress)
            }
        } catch {
            throw SyncError("source \(source.name): \(error.message)")
        }
    }

    private func copyPath(_ name: String, key: String?) -> String {
        SourceCopy.path(directory: sourcesDirectory, source: name, contentKey: key ?? "none")
    }

    static func describe(_ failures: [(name: String, error: String)]) -> String {
        failures.map(\.error).joined(separator: "; ")
    }

    /// Stores the sources' states (a failure to do so costs only a download next time).
    private func record(
        states stored: [String: SourceState], configured: [UpstreamSourceConfig], fallback: [SourceState],
        logger: Logger
    ) {
        var all = fallback
        for source in configured where !all.contains(where: { $0.name == source.name }) {
            if let known = stored[source.name] { all.append(known) }
        }
        do {
            try store.recordSources(all)
        } catch {
            logger.error("Cannot store the sources' state: \(error)")
        }
    }

    /// Removes kept copies and downloads no stored state names.
    private func removeUnnamedCopies(states: [SourceState]) {
        var keep = Set(states.compactMap { state in state.contentKey.map { copyPath(state.name, key: $0) } })
        keep.formUnion(keep.map { OSVEntryIndex.path(ofCopy: $0) })
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: sourcesDirectory) else { return }
        for name in names
        where name.hasSuffix(".ndjson") || name.hasSuffix(".partial") || name.hasSuffix(".download")
            || name.hasSuffix(".entries")
        {
            let path = (sourcesDirectory as NSString).appendingPathComponent(name)
            if !keep.contains(path) { unlink(path) }
        }
    }
}

/// A catalog source among several: the NDJSON catalog validated line by line into its kept copy, each
/// record marked with the source's name.
struct CatalogSourceCopy {
    let config: UpstreamSourceConfig
    let context: SourceFetchContext

    func fetch(state: SourceState?, full: Bool, progress: SyncProgress) async throws(SyncError) -> SourceFetch {
        var fetcher = CatalogFetcher(
            httpClient: context.httpClient,
            downloadPath: (context.directory as NSString).appendingPathComponent("\(config.name).download"))
        fetcher.idleTimeout = context.idleTimeout
        let known =
            !full
            && state?.contentKey.map {
                FileManager.default.fileExists(
                    atPath: SourceCopy.path(directory: context.directory, source: config.name, contentKey: $0))
            } == true
        let answer = try await fetcher.fetch(
            config.url, etag: known ? state?.etag : nil, lastModified: known ? state?.lastModified : nil, full: !known,
            progress: progress)
        guard case .file(let path, let temporary, let etag, let lastModified) = answer else {
            return SourceFetch(content: .unchanged, etag: state?.etag, lastModified: state?.lastModified)
        }
        defer { if temporary { unlink(path) } }
        let key: String
        do {
            key = "sha256:" + (try FileDigest.hex(of: path, algorithm: "sha256"))
        } catch {
            throw SyncError("\(error)")
        }
        if known && key == state?.contentKey {
            return SourceFetch(content: .unchanged, etag: etag, lastModified: lastModified)
        }
        let copy = SourceCopy.path(directory: context.directory, source: config.name, contentKey: key)
        let (count, skipped) = try await Offload.run { () throws(SyncError) in
            try validate(path, into: copy)
        }
        // As with a lone catalog: an empty one is a broken upstream, not one that withdrew everything.
        guard count > 0 else {
            unlink(copy)
            throw SyncError("the catalog \(config.url) is empty; nothing of this source was applied")
        }
        return SourceFetch(
            content: .changed(path: copy, contentKey: key, records: count), etag: etag, lastModified: lastModified,
            skipped: skipped)
    }

    /// Parses every line of the catalog at `path` and writes it, marked with the source's name, to `copy`
    /// (through a `.partial` file, renamed once whole); returns the lines written and skipped.
    private func validate(_ path: String, into copy: String) throws(SyncError) -> (Int, Int) {
        let partial = copy + ".partial"
        defer { unlink(partial) }
        let writer = try LineFileWriter(path: partial)
        var count = 0
        var skipped = 0
        let take = { (number: Int, bytes: UnsafeRawBufferPointer) throws in
            var record: CatalogRecord
            do {
                record = try CatalogRecordParser.parse(bytes, line: number)
            } catch {
                guard context.skipInvalid else { throw error }
                skipped += 1
                if skipped <= 20 {
                    context.logger.warning(
                        "Source \(config.name): skipped an invalid catalog line: \(error)",
                        metadata: ["source.name": "\(config.name)"])
                }
                return
            }
            record.source = config.name
            record.digest = nil
            try writer.write(record.jsonLine())
            count += 1
        }
        do {
            try CatalogLineReader(path: path).forEachLine(
                onInvalidLine: { error in
                    guard context.skipInvalid else { throw error }
                    skipped += 1
                }, take)
            try writer.close()
        } catch let error as SyncError {
            throw error
        } catch {
            throw SyncError(
                "malformed catalog \(config.url): \(error); nothing of this source was applied (set [upstream] skip-invalid = true to skip bad lines)"
            )
        }
        guard rename(partial, copy) == 0 else {
            throw SyncError("cannot write \(copy): \(String(cString: strerror(errno)))")
        }
        return (count, skipped)
    }
}
