import AsyncHTTPClient
import Foundation
import Logging
import SumsyncFormats
import SumsyncModel
import SumsyncStore

/// A child site's sync: pull `changes?since=<its version>` from its parent and apply them in one
/// transaction, with the same all-or-nothing guarantees as the top-level sync. Afterwards the child's
/// catalog version is its parent's.
package struct ParentSync {
    let store: SiteStore
    let client: SiteClient
    let parent: SiteConfig
    let stateDirectory: String
    /// How long the parent may send nothing while the changes stream in before the pull fails
    /// (`[sync] pull-stall-timeout`).
    package var idleTimeout: Duration = .seconds(60)
    /// Where the phase timings go (at debug).
    package var logger: Logger = Logger(label: "sumsync.parent-sync")
    /// Keeps the applied stream as this site's own stream for its children (see
    /// ``ChangeFeedCache/adopt(_:since:site:)``); nil: the download is deleted.
    package var relay: (cache: ChangeFeedCache, site: SiteCode)?

    /// `full`: pull the full snapshot (`since=0`) whatever this site's version.
    ///
    /// A stream whose signed root does not vouch for what applying it leaves (``CatalogRefusal``) is rolled
    /// back, logged at `err` naming the parent, and the full snapshot is pulled instead; if that is
    /// refused too, the site stays at its last verified version and records why (status shows it).
    package func run(id: String, full: Bool = false, progress: SyncProgress) async throws(SyncError)
        -> SyncEngine.Outcome
    {
        var retryingFull = false
        while true {
            do {
                return try await pull(id: id, full: full, retryingFull: retryingFull, progress: progress)
            } catch let refusal as CatalogRefusal {
                let version = (try? store.catalogVersion()) ?? 0
                let snapshot = full || retryingFull
                logRefusal(refusal, version: version, full: snapshot)
                if snapshot { return try refused(refusal, version: version) }
                retryingFull = true
            } catch let error as SyncError {
                throw error
            } catch {
                throw SyncError("\(error)")
            }
        }
    }

    /// `full`: the refused stream was a full snapshot (nothing else to try).
    private func logRefusal(_ refusal: CatalogRefusal, version: Int, full: Bool) {
        logger.error(
            "Refused the \(full ? "full snapshot" : "changes") from parent \(parent.code): \(refusal.reason); nothing was applied\(full ? "" : ", pulling the full snapshot instead").",
            metadata: [
                "parent.site": "\(parent.code)", "catalog.version": "\(version)", "refusal.reason": "\(refusal.reason)",
                "stream.full": "\(full)",
            ].with(.catalogRefused)
        )
    }

    private func refused(_ refusal: CatalogRefusal, version: Int) throws(SyncError) -> SyncEngine.Outcome {
        let message =
            "the catalog from parent \(parent.code) does not verify: \(refusal.reason); nothing was applied, this site stays at catalog version \(version), the last verified"
        try? store.recordVerification(error: message)
        throw SyncError(message)
    }

    /// One pull. `retryingFull`: the full snapshot after a refused delta (it may not roll the site back,
    /// unlike `sync --full`).
    private func pull(id: String, full: Bool, retryingFull: Bool, progress: SyncProgress) async throws
        -> SyncEngine.Outcome
    {
        let version = (try? store.catalogVersion()) ?? 0
        progress.enter(.fetching)
        let path = (stateDirectory as NSString).appendingPathComponent("changes.download")
        defer { unlink(path) }
        var since = full || retryingFull ? 0 : version
        var phases = PhaseTimes()
        var response = try await fetch(since: since)
        if response.status.code == 410 {
            // Behind the parent's retained change log: take the full snapshot instead.
            since = 0
            response = try await fetch(since: 0)
        }
        guard response.status == .ok else {
            let body = (try? await response.body.collect(upTo: 1 << 16)).map { Data(buffer: $0) } ?? Data()
            throw SyncError("parent \(parent.code) answered HTTP \(response.status.code): \(ErrorBody.message(body))")
        }
        phases.mark("request")
        try await download(response, to: path, progress: progress)
        phases.mark("download")
        var apply = ChangeApplier(path: path, source: "parent \(parent.code)")
        apply.accepts = { [parent, since, logger] header, current in
            if let refusal = Self.refusal(
                of: header, from: parent.code, since: since, currentVersion: current, askedForFull: full)
            {
                logger.error(
                    "Refused the change stream from parent \(parent.code): \(refusal); nothing was applied.",
                    metadata: [
                        "parent.site": "\(parent.code)", "stream.site": "\(header.site)",
                        "stream.from": "\(header.from)", "stream.to": "\(header.to)", "sync.since": "\(since)",
                        "catalog.version": "\(current)", "refusal.reason": "\(refusal)",
                    ].with(.changeStreamRefused)
                )
                throw SyncError("refused the change stream from parent \(parent.code): \(refusal); nothing was applied")
            }
        }
        let counts: ChangeCounts
        let newVersion: Int
        var appliedPhases = PhaseTimes()
        do {
            (counts, newVersion, appliedPhases) = try await store.apply(apply, progress: progress)
        } catch let refusal as CatalogRefusal {
            throw refusal
        } catch let error as SyncError {
            throw error
        } catch let error as CatalogError {
            throw SyncError(
                "malformed change stream from parent \(parent.code): \(error.description); nothing was applied")
        } catch {
            throw SyncError(
                "the site database refused the changes from parent \(parent.code): \(error); nothing was applied")
        }
        phases.mark("apply")
        if let relay, await relay.cache.adopt(path, since: since, site: relay.site) {
            phases.mark("relay")
        }
        if version == 0 && since == 0 && counts.new == counts.held {
            // A bulk load (the first snapshot into this site): its log is as large as the database.
            await store.checkpointNow()
            phases.mark("checkpoint")
        }
        logger.debug(
            "Sync \(id) from parent \(parent.code) since \(since): \(phases.summary) [\(appliedPhases.summary)].")
        return SyncEngine.Outcome(result: .succeeded, counts: counts, catalogVersion: newVersion)
    }

    /// Why a child refuses a change stream whatever its records say, or nil to take it: the header must
    /// name the parent, start where the child asked (`since`; 0, a full snapshot, when it asked for one or
    /// the parent answered 410), and not end below the child's own version — unless the admin asked for
    /// the full snapshot (`sync --full`), which mirrors the parent whatever it holds (a parent restored
    /// from a backup). Checked with or without TLS: whoever answers on the parent's address cannot roll
    /// a child back or pass off another site's stream.
    package static func refusal(
        of header: ChangeFeed.Header, from parent: SiteCode, since: Int, currentVersion: Int,
        askedForFull: Bool = false
    ) -> String? {
        if header.site != parent.rawValue {
            return "it names site \(header.site), not the parent \(parent)"
        }
        if since == 0 {
            guard header.full, header.from == 0 else {
                return "a full snapshot was asked for, and it holds the changes from version \(header.from)"
            }
        } else if header.full || header.from != since {
            return header.full
                ? "the changes since version \(since) were asked for, and it is a full snapshot"
                : "the changes since version \(since) were asked for, and it holds those since \(header.from)"
        }
        if header.to < currentVersion && !askedForFull {
            return
                "it ends at version \(header.to), below this site's version \(currentVersion) (`sumsyncctl sync --full` at this site mirrors the parent whatever it holds)"
        }
        return nil
    }

    private func fetch(since: Int) async throws(SyncError) -> HTTPClientResponse {
        do {
            return try await client.send(
                .GET, to: parent, path: "/v1/changes", query: "since=\(since)", timeout: .minutes(30))
        } catch {
            throw SyncError("cannot reach parent site \(parent.code) at \(parent.url): \(error.description)")
        }
    }

    private func download(_ response: HTTPClientResponse, to path: String, progress: SyncProgress)
        async throws(SyncError)
    {
        do {
            _ = try await ResponseDownload.write(
                response, to: path, progress: progress, idleTimeout: idleTimeout,
                stalled: { [parent, idleTimeout] in
                    SyncError(
                        "parent \(parent.code) sent nothing for \(idleTimeout.components.seconds) s while sending changes; nothing was applied"
                    )
                }
            )
        } catch let error as SyncError {
            throw error
        } catch {
            throw SyncError(
                "lost the connection to parent \(parent.code) while receiving changes: \(error); nothing was applied")
        }
    }

    package init(
        store: SiteStore, client: SiteClient, parent: SiteConfig, stateDirectory: String,
        idleTimeout: Duration = .seconds(60), logger: Logger = Logger(label: ""),
        relay: (cache: ChangeFeedCache, site: SiteCode)? = nil
    ) {
        self.store = store
        self.client = client
        self.parent = parent
        self.stateDirectory = stateDirectory
        self.idleTimeout = idleTimeout
        self.logger = logger
        self.relay = relay
    }
}
