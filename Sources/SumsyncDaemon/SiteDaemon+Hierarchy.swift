import Foundation
import Hummingbird
import Logging
import NIOCore
import SumsyncFormats
import SumsyncModel
import SumsyncStore
import SumsyncSync

extension SiteDaemon {
    /// `GET /v1/changes?since=V`, for children only.
    nonisolated func serveChanges(_ request: Request, context: SiteRequestContext) async throws -> Response {
        guard let caller = context.caller, await config.site(caller)?.parent == site else {
            throw HTTPError(.forbidden, message: "only child sites of \(site) may pull its changes")
        }
        guard let since = request.uri.queryParameters.get("since").flatMap(Int.init), since >= 0 else {
            throw HTTPError(.badRequest, message: "since must be a catalog version ≥ 0")
        }
        let feed: (header: ChangeFeed.Header, chunks: FileChunks, phases: String)
        var phases = PhaseTimes()
        do {
            let version = try store.catalogVersion()
            feed = try await feeds.stream(since: since, version: version, write: feedWriter(since: since))
        } catch let error as ChangeFeed.TooOld {
            throw HTTPError(
                .gone,
                message:
                    "catalog version \(since) is older than the retained change log (it starts after \(error.floor)); resync from since=0"
            )
        }
        phases.mark("ready")
        let header = feed.header
        context.logger.info(
            "Serving \(header.full ? "a full snapshot" : "changes since \(since)") to child \(caller): \(header.upserts) updates, \(header.removals) removals, to version \(header.to) (\(phases.summary); written: \(feed.phases)).",
            metadata: ["child.site": "\(caller)", "catalog.version": "\(header.to)"]
        )
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson"],
            body: ResponseBody(asyncSequence: ServedStream(feed.chunks))
        )
    }

    /// Writes this site's change stream for `since` to the path given (for ``ChangeFeedCache``).
    nonisolated func feedWriter(since: Int) -> @Sendable (String, inout PhaseTimes) throws -> ChangeFeed.Header {
        { [store, site] path, phases in
            try ChangeFeed.write(store: store, site: site, since: since, to: path, phases: &phases)
        }
    }

    /// `POST /v1/sync-requests`, from the parent only: queue a sync from the parent (trigger `parent`).
    nonisolated func receiveSyncRequest(_ request: Request, context: SiteRequestContext) async throws -> Response {
        let parent = await config.site(site)?.parent
        guard let caller = context.caller, caller == parent else {
            throw HTTPError(.forbidden, message: "only the parent site of \(site) may send it sync requests")
        }
        let body = try await request.body.collect(upTo: SignatureMiddleware.maxBodySize)
        let message = try JSONDecoder().decode(SyncRequestMessage.self, from: Data(buffer: body))
        guard await links.acceptRequest(message) else {
            return try JSONResponse.make(["accepted": "duplicate", "request_id": message.requestID], status: .accepted)
        }
        loggerAtStart.info(
            "Sync request received from parent \(caller) (catalog version \(message.catalogVersion)).",
            metadata: [
                "parent.site": "\(caller)", "catalog.version": "\(message.catalogVersion)",
                "request.id": "\(message.requestID)",
            ]
            .with(.syncRequestReceived)
        )
        let answer = await requestSync(trigger: .parent, source: "parent \(caller)")
        var reply = ["accepted": "yes", "request_id": message.requestID]
        switch answer {
        case .started(let id): reply["sync_id"] = id
        case .queued(let id, _):
            reply["sync_id"] = id
            reply["queued"] = "yes"
        case nil: reply["accepted"] = "stopping"
        }
        return try JSONResponse.make(reply, status: .accepted)
    }

    /// `POST /v1/status`, from children only: their status and their descendants'.
    nonisolated func receiveStatus(_ request: Request, context: SiteRequestContext) async throws -> Response {
        guard let caller = context.caller, await config.site(caller)?.parent == site else {
            throw HTTPError(.forbidden, message: "only child sites of \(site) may report status to it")
        }
        let body = try await request.body.collect(upTo: SignatureMiddleware.maxBodySize)
        let report = try JSONDecoder().decode(StatusReport.self, from: Data(buffer: body))
        try await links.record(report: report, from: caller)
        await relayStatus()
        return Response(status: .noContent)
    }

    /// This site's own status, from its history and database.
    func ownStatus() async -> SiteStatus {
        let me = siteConfig
        let version = (try? store.catalogVersion()) ?? 0
        let updates = (try? store.updateCount()) ?? 0
        let history = (try? store.history(limit: 50)) ?? []
        let lastFinished = history.first { $0.result != "running" }
        let lastSuccess = history.first { $0.result == "succeeded" || $0.result == "no-op" }
        let running = await coordinator.current
        let state: SiteStatus.State
        if running != nil {
            state = .synchronizing
        } else if let lastFinished {
            state = lastFinished.result == "failed" || lastFinished.result == "partial" ? .failed : .succeeded
        } else {
            state = version == 0 && updates == 0 ? .neverSynced : .succeeded
        }
        let trust = catalogTrustForStatus()
        var status = SiteStatus(
            site: site.rawValue, parent: me.parent?.rawValue, url: me.url, state: state, catalogVersion: version,
            updates: updates, lastSyncStarted: history.first?.started, lastSyncFinished: lastFinished?.finished,
            lastSuccess: lastSuccess?.finished,
            lastError: lastFinished?.result == "failed" || lastFinished?.result == "partial"
                ? lastFinished?.error : nil,
            link: .healthy, nextSync: nextSyncText(), reportedAt: RFC3339.format(Date()),
            certExpires: tls?.expires.map(RFC3339.format)
        )
        status.verified = trust.verified
        status.digest = trust.digest
        status.dbBytes = store.databaseBytes()
        status.expiredHeld = try? store.expiredHeld()
        if trust.verified == false {
            status.verifyError = trust.error
            // What came over the link from the parent did not verify: the link is marked.
            if me.parent != nil && trust.error != nil { status.link = .error }
        }
        return status
    }

    /// This site and its descendants.
    func statuses() async -> [SiteStatus] {
        await links.statuses(own: await ownStatus())
    }

    /// The plain-http links of the hierarchy, for `sumsyncctl status`.
    func insecureLinks() -> [InsecureLink] {
        config.insecureLinks.map { link in
            InsecureLink(
                parent: link.parent.code.rawValue, child: link.child.code.rawValue,
                urls: [link.parent, link.child].filter { !$0.usesTLS }.map(\.url), exposure: insecureExposure(link))
        }
    }

    /// Sends this site's and its descendants' status to the parent.
    func relayStatus() async {
        guard role.parent != nil else { return }
        await links.reportUp(await statuses())
    }
}

extension SiteDaemon {
    /// The next scheduled sync in RFC 3339, for the top-level site with a schedule.
    func nextSyncText() -> String? {
        nextScheduledRun.map { RFC3339.format($0) }
    }
}

extension SiteDaemon {
    /// What signed requests are checked against, from the current config (a reload may change the key,
    /// the tree or require-tls).
    func signingState() -> SignatureMiddleware.Policy {
        SignatureMiddleware.Policy(
            signer: config.hierarchy.key.map { RequestSigner(key: $0) }, sites: Set(config.sites.map(\.code.rawValue)),
            receiver: site.rawValue, requireTLS: config.hierarchy.requireTLS)
    }

    /// A client for requests to other sites, signed with the current key, presenting the current certificate.
    func siteClient() -> SiteClient {
        SiteClient(
            httpClient: httpClient,
            signer: config.hierarchy.key.map { RequestSigner(key: $0) } ?? RequestSigner(key: Data()),
            site: site, tls: clientTLS
        )
    }
}
