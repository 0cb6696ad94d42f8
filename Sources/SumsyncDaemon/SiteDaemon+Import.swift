import Foundation
import Hummingbird
import Logging
import SumsyncControl
import SumsyncModel
import SumsyncSync

extension SiteDaemon {
    /// This site's role under the current config (its kind is fixed at start; see ``reload()``).
    var role: SiteRole { config.role(of: site)! }

    /// A top-level site with `[upstream] disconnected = true`: it syncs by import only.
    var isDisconnectedTop: Bool { role == .disconnectedTop }

    /// What a disconnected site says to a sync request that is not an import.
    var disconnectedNotice: String {
        "site \(site) is disconnected ([upstream] disconnected = true): it syncs by import only (`sumsyncctl import FILE`)."
    }

    /// `POST /v1/import?path=FILE&force=true|false`: import a signed bundle as one sync (trigger `import`)
    /// and answer NDJSON that follows it to its end, like `POST /v1/sync?wait=true`. The daemon reads the
    /// file itself, as the site's user. See docs/operations.md and docs/bundle-format.md.
    nonisolated func handleImportRequest(_ request: Request) async throws -> Response {
        let force = request.uri.queryParameters.get("force").map { $0 == "true" || $0 == "1" } ?? false
        guard let path = request.uri.queryParameters.get("path").map({ String($0) }), path.hasPrefix("/") else {
            throw HTTPError(.badRequest, message: "say which bundle with path=/ABSOLUTE/PATH")
        }
        let role = await self.role
        if let parent = role.parent {
            throw HTTPError(
                .conflict,
                message:
                    "site \(site) is a child site: it syncs from its parent \(parent), not by import; import at the top-level site"
            )
        }
        guard role == .disconnectedTop else {
            throw HTTPError(
                .conflict,
                message:
                    "site \(site) syncs from its upstream catalog; only a site with [upstream] disconnected = true imports bundles"
            )
        }
        let job = BundleImporter.Request(path: path, force: force)
        let coordinator = await self.coordinator
        let answer = await coordinator.requestExclusive(.import) { id, trigger, full, progress in
            await self.runSync(id: id, trigger: trigger, full: full, progress: progress) { config, logger in
                let outcome = await self.importer().run(
                    id: id, request: job, config: config, progress: progress, logger: logger)
                await self.importFinished(id: id, file: path, outcome: outcome)
                return outcome
            }
        }
        switch answer {
        case .started(let id):
            let logger = await self.logger
            logger.notice(
                "Import of \(path) requested\(force ? " (--force)" : ""); starting sync \(id).",
                metadata: ["sync.id": "\(id)", "sync.trigger": "import", "import.file": "\(path)"]
            )
            return await followSync(ControlProtocol.SyncEvent(event: "accepted", syncID: id, queued: false))
        case .busy(let running):
            throw HTTPError(.conflict, message: "sync \(running) is running; import again when it has finished")
        case nil:
            throw HTTPError(.serviceUnavailable, message: "the daemon is stopping; nothing was imported")
        }
    }

    func importer() -> BundleImporter {
        BundleImporter(store: store, site: site, stateDirectory: paths.stateDirectory, httpClient: httpClient)
    }

    /// The import's own journal entry, beside the sync's completed or failed one.
    func importFinished(id: String, file: String, outcome: SyncEngine.Outcome) {
        var metadata: Logger.Metadata = [
            "sync.id": "\(id)", "sync.trigger": "import", "import.file": "\(file)",
            "catalog.version": "\(outcome.catalogVersion)",
        ]
        if outcome.result == .succeeded {
            for (name, count) in outcome.counts.named { metadata["sync.\(name)"] = "\(count)" }
            logger.notice(
                "Imported bundle \(file) in sync \(id): catalog version \(outcome.catalogVersion).",
                metadata: metadata.with(.importCompleted)
            )
        } else {
            let error = outcome.error ?? "unknown error"
            metadata["sync.error"] = "\(error)"
            logger.error(
                "Could not import bundle \(file) (sync \(id)): \(error)", metadata: metadata.with(.importFailed))
        }
    }
}
