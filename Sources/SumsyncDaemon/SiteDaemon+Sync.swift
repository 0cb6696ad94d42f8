import Foundation
import Logging
import SumsyncModel
import SumsyncSync
import SystemdKit

extension SiteDaemon {
    /// Makes the coordinator that runs this site's syncs: from the upstream catalog at the top.
    func makeCoordinator() -> SyncCoordinator {
        let engine = SyncEngine(store: store, site: site, stateDirectory: paths.stateDirectory, httpClient: httpClient)
        return SyncCoordinator(
            perform: { id, trigger, full, progress in
                await self.runSync(id: id, trigger: trigger, full: full, progress: progress) { config, logger in
                    if trigger == .purge, config.site(self.site)?.parent == nil {
                        return await engine.purge(id: id, config: config, logger: logger)
                    }
                    if let parentCode = config.site(self.site)?.parent, let parent = config.site(parentCode) {
                        return await self.syncFromParent(
                            id: id, trigger: trigger, parent: parent, full: full, progress: progress)
                    }
                    return await engine.syncFromCatalog(
                        id: id, trigger: trigger, config: config, full: full, progress: progress, logger: logger
                    )
                }
            },
            onFinished: { id, trigger, outcome in
                await self.syncFinished(id: id, trigger: trigger, outcome: outcome)
                await self.afterSync(outcome: outcome)
                await self.housekeep()
                self.store.checkpointSoon()
            }
        )
    }

    /// What every sync does around its own work: the started entry, progress reports, a logger carrying
    /// the sync's id and trigger, its duration, and the notifying-children phase after a success. `body`
    /// gets the config as it is now.
    nonisolated func runSync(
        id: String, trigger: SyncTrigger, full: Bool, progress: SyncProgress,
        _ body: @Sendable (HierarchyConfig, Logger) async -> SyncEngine.Outcome
    ) async -> SyncEngine.Outcome {
        let config = await self.config
        await self.syncStarted(id: id, trigger: trigger, full: full)
        let reporter = Task { await self.reportProgress(id: id, trigger: trigger, progress: progress) }
        defer { reporter.cancel() }
        var logger = await self.logger
        logger[metadataKey: "sync.id"] = "\(id)"
        logger[metadataKey: "sync.trigger"] = "\(trigger.rawValue)"
        let started = ContinuousClock.now
        var outcome = await body(config, logger)
        outcome.duration = ContinuousClock.now - started
        if outcome.result == .succeeded || outcome.result == .partial, !config.children(of: self.site).isEmpty {
            progress.enter(.notifyingChildren, total: config.children(of: self.site).count)
        }
        return outcome
    }

    /// The one entry point every sync trigger calls; logs whether the sync started or was queued.
    @discardableResult
    func requestSync(trigger: SyncTrigger, full: Bool = false, source: String) async -> SyncCoordinator.Answer? {
        var metadata: Logger.Metadata = ["sync.trigger": "\(trigger.rawValue)", "sync.source": "\(source)"]
        if isDisconnectedTop {
            logger.notice(
                "\(disconnectedNotice) Ignored the \(trigger.rawValue) sync request from \(source).", metadata: metadata
            )
            return nil
        }
        let answer = await coordinator.request(trigger, full: full)
        switch answer {
        case .started(let id):
            metadata["sync.id"] = "\(id)"
            logger.notice("Sync requested (\(trigger.rawValue), from \(source)); starting.", metadata: metadata)
        case .queued(let id, let running):
            metadata["sync.id"] = "\(id)"
            logger.notice(
                "Sync requested (\(trigger.rawValue), from \(source)) while sync \(running) runs; queued as one follow-up.",
                metadata: metadata
            )
        case nil:
            logger.notice(
                "Sync requested (\(trigger.rawValue), from \(source)) while stopping; ignored.", metadata: metadata)
        }
        return answer
    }

    func syncStarted(id: String, trigger: SyncTrigger, full: Bool) {
        stopVacuum()
        let version = (try? store.catalogVersion()) ?? 0
        logger.info(
            "Sync \(id) started (\(trigger.rawValue)\(full ? ", full" : "")).",
            metadata: ["sync.id": "\(id)", "sync.trigger": "\(trigger.rawValue)", "catalog.version": "\(version)"]
                .with(.syncStarted)
        )
        notifier.status("Synchronizing (\(trigger.rawValue)): fetching.")
    }

    /// Keeps `STATUS=` current every second and writes a progress entry at most every five.
    func reportProgress(id: String, trigger: SyncTrigger, progress: SyncProgress) async {
        var lastEntry = ContinuousClock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            guard !Task.isCancelled else { return }
            let snapshot = progress.snapshot
            notifier.status("Synchronizing (\(trigger.rawValue)): \(snapshot.line)")
            if ContinuousClock.now - lastEntry >= .seconds(5) {
                lastEntry = ContinuousClock.now
                var metadata: Logger.Metadata = [
                    "sync.id": "\(id)", "sync.trigger": "\(trigger.rawValue)",
                    "sync.phase": "\(snapshot.phase.rawValue)",
                    "sync.processed": "\(snapshot.processed)", "sync.rate": "\(Int(snapshot.rate))",
                ]
                if let total = snapshot.total { metadata["sync.total"] = "\(total)" }
                if let eta = snapshot.eta { metadata["sync.eta_seconds"] = "\(Int(eta))" }
                logger.info("Sync \(id): \(snapshot.line)", metadata: metadata.with(.syncProgress))
            }
        }
    }

    func syncFinished(id: String, trigger: SyncTrigger, outcome: SyncEngine.Outcome) {
        let counts = outcome.counts
        var metadata: Logger.Metadata = [
            "sync.id": "\(id)", "sync.trigger": "\(trigger.rawValue)", "sync.result": "\(outcome.result.rawValue)",
            "catalog.version": "\(outcome.catalogVersion)",
        ]
        switch outcome.result {
        case .succeeded:
            for (name, count) in counts.named { metadata["sync.\(name)"] = "\(count)" }
            if outcome.skippedInvalid > 0 { metadata["sync.skipped_invalid"] = "\(outcome.skippedInvalid)" }
            logger.notice(
                "Sync \(id) completed: \(counts.summary); catalog version \(outcome.catalogVersion).",
                metadata: metadata.with(.syncCompleted)
            )
            for category in outcome.newCategories {
                logger.notice(
                    "Upstream offers a new \(category.kind): \(category.name). Review [sync] \(category.kind == "product" ? "products" : "classifications") in the config.",
                    metadata: ["category.kind": "\(category.kind)", "category.name": "\(category.name)"].with(
                        .newCategory)
                )
            }
        case .partial:
            for (name, count) in counts.named { metadata["sync.\(name)"] = "\(count)" }
            metadata["sync.error"] = "\(outcome.error ?? "unknown")"
            logger.warning(
                "Sync \(id) partly applied: \(counts.summary); catalog version \(outcome.catalogVersion). \(outcome.error ?? "")",
                metadata: metadata.with(.syncPartial)
            )
            runFailureAlert(id: id, trigger: trigger, outcome: outcome)
        case .noOp:
            logger.info(
                "Sync \(id): upstream unchanged; nothing to do (catalog version \(outcome.catalogVersion)).",
                metadata: metadata.with(.syncNoOp)
            )
        case .failed, .running:
            metadata["sync.error"] = "\(outcome.error ?? "unknown")"
            logger.error(
                "Sync \(id) failed: \(outcome.error ?? "unknown error")",
                metadata: metadata.with(.syncFailed)
            )
            runFailureAlert(id: id, trigger: trigger, outcome: outcome)
        }
        lastOutcome = outcome
        metrics.syncFinished(trigger: trigger, outcome: outcome, duration: outcome.duration)
        notifier.status(statusLine())
    }

    /// `[alerts] on-failure`, after a failed or partial sync.
    private func runFailureAlert(id: String, trigger: SyncTrigger, outcome: SyncEngine.Outcome) {
        if let command = config.alerts.onFailure {
            let alert = AlertCommand(command: command, timeout: config.alerts.timeout.duration)
            let fields = [
                "SUMSYNC_SITE_CODE": site.rawValue, "SUMSYNC_SYNC_ID": id, "SUMSYNC_SYNC_TRIGGER": trigger.rawValue,
                "SUMSYNC_SYNC_RESULT": outcome.result.rawValue, "SUMSYNC_SYNC_ERROR": outcome.error ?? "",
                "SUMSYNC_CATALOG_VERSION": "\(outcome.catalogVersion)",
            ]
            let logger = self.logger
            Task.detached { await alert.run(environment: fields, logger: logger) }
        }
    }
}

extension SiteDaemon {
    /// A child's sync: pull the parent's changes, recorded in history like any sync. `full`: pull the
    /// parent's full snapshot rather than the changes since this site's version.
    func syncFromParent(id: String, trigger: SyncTrigger, parent: SiteConfig, full: Bool, progress: SyncProgress) async
        -> SyncEngine.Outcome
    {
        var sync = ParentSync(store: store, client: siteClient(), parent: parent, stateDirectory: paths.stateDirectory)
        sync.logger = logger
        sync.idleTimeout = config.sync.pullStallTimeout.duration
        if !config.children(of: site).isEmpty { sync.relay = (feeds, site) }
        return await store.recordingHistory(id: id, site: site, trigger: trigger, logger: logger) {
            [sync] () throws(SyncError) in
            try await sync.run(id: id, full: full, progress: progress)
        }
    }

    /// After any sync: pass a changed catalog on to the children, report status up, and plan a retry
    /// after a failure.
    func afterSync(outcome: SyncEngine.Outcome) async {
        if outcome.result == .succeeded || outcome.result == .partial, outcome.catalogVersion != lastNotifiedVersion {
            let previous = lastNotifiedVersion
            lastNotifiedVersion = outcome.catalogVersion
            if !config.children(of: site).isEmpty {
                // Children at the version they were last told of ask for the changes since it: the
                // stream is on its way (or relayed from the parent's) before they ask.
                if let previous, previous > 0, previous < outcome.catalogVersion {
                    await feeds.prepare(
                        since: previous, version: outcome.catalogVersion, write: feedWriter(since: previous))
                }
                progressOfNotification()
                await links.notifyChildren(version: outcome.catalogVersion)
            }
        }
        await links.checkStaleness(ownVersion: outcome.catalogVersion)
        await relayStatus()
        scheduleRetry(after: outcome)
        // What the sync needed and freed goes back to the system (see ``Heap/release()``).
        Heap.release()
    }

    private func progressOfNotification() {
        let children = config.children(of: site).map(\.code.rawValue).joined(separator: ", ")
        logger.info("Sending sync requests to child site(s): \(children).")
    }

    /// After a failure, retry as the state machine's policy spaces it: every `retry-interval` at the top
    /// (as Configuration Manager does; the next scheduled run takes over when it comes first); from a
    /// child, with exponential backoff capped at `retry-interval`, so a returning parent is met quickly.
    func scheduleRetry(after outcome: SyncEngine.Outcome) {
        // A refused import would be refused again: an admin brings the next bundle.
        guard !isDisconnectedTop, scheduleState != nil else { return }
        let failed = outcome.result == .failed || outcome.result == .partial
        scheduleEvent { $0.syncFinished(succeeded: !failed, now: Date()) }
        guard failed, let state = scheduleState else { return }
        if state.retryPolicy == .every {
            logger.notice(
                "Will retry the sync in \(config.sync.retryInterval) unless the next scheduled run comes first.")
        } else {
            let seconds = Int(state.retryDelay)
            logger.notice("Will retry the sync in \(seconds) s.", metadata: ["retry.seconds": "\(seconds)"])
        }
    }
}
