import Foundation
import Logging

extension SiteDaemon {
    /// Makes the coordinator that runs this site's syncs: from the upstream catalog at the top.
    func makeCoordinator() -> SyncCoordinator {
        let engine = SyncEngine(store: store, site: site, stateDirectory: paths.stateDirectory, httpClient: httpClient)
        return SyncCoordinator(
            perform: { id, trigger, full, progress in
                let config = await self.config
                await self.syncStarted(id: id, trigger: trigger, full: full)
                let reporter = Task { await self.reportProgress(id: id, trigger: trigger, progress: progress) }
                defer { reporter.cancel() }
                var logger = await self.logger
                logger[metadataKey: "sync.id"] = "\(id)"
                logger[metadataKey: "sync.trigger"] = "\(trigger.rawValue)"
                if config.site(self.site)?.parent != nil {
                    return SyncEngine.Outcome(
                        result: .failed, catalogVersion: (try? self.store.catalogVersion()) ?? 0,
                        error: "site \(self.site) is a child site: it syncs from its parent, not from the upstream catalog"
                    )
                }
                return await engine.syncFromCatalog(
                    id: id, trigger: trigger, config: config, full: full, progress: progress, logger: logger
                )
            },
            onFinished: { id, trigger, outcome in
                await self.syncFinished(id: id, trigger: trigger, outcome: outcome)
            }
        )
    }

    /// The one entry point every sync trigger calls; logs whether the sync started or was queued.
    @discardableResult
    func requestSync(trigger: SyncTrigger, full: Bool = false, source: String) async -> SyncCoordinator.Answer? {
        let answer = await coordinator.request(trigger, full: full)
        var metadata: Logger.Metadata = ["sync.trigger": "\(trigger.rawValue)", "sync.source": "\(source)"]
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
            logger.notice("Sync requested (\(trigger.rawValue), from \(source)) while stopping; ignored.", metadata: metadata)
        }
        return answer
    }

    func syncStarted(id: String, trigger: SyncTrigger, full: Bool) {
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
                    "sync.id": "\(id)", "sync.trigger": "\(trigger.rawValue)", "sync.phase": "\(snapshot.phase.rawValue)",
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
            for (key, value) in [
                ("new", counts.new), ("revised", counts.revised), ("expired", counts.expired),
                ("superseded", counts.superseded), ("removed", counts.removed), ("unchanged", counts.unchanged),
            ] {
                metadata["sync.\(key)"] = "\(value)"
            }
            if outcome.skippedInvalid > 0 { metadata["sync.skipped_invalid"] = "\(outcome.skippedInvalid)" }
            logger.notice(
                "Sync \(id) completed: \(counts.new) new, \(counts.revised) revised, \(counts.expired) expired, \(counts.superseded) superseded, \(counts.removed) removed, \(counts.unchanged) unchanged; catalog version \(outcome.catalogVersion).",
                metadata: metadata.with(.syncCompleted)
            )
            for category in outcome.newCategories {
                logger.notice(
                    "Upstream offers a new \(category.kind): \(category.name). Review [sync] \(category.kind == "product" ? "products" : "classifications") in the config.",
                    metadata: ["category.kind": "\(category.kind)", "category.name": "\(category.name)"].with(.newCategory)
                )
            }
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
        }
        lastOutcome = outcome
        notifier.status(statusLine())
    }
}
