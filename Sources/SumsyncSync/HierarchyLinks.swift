import Foundation
import Logging
import NIOSSL
import SumsyncModel
import SumsyncStore

/// A site's side of the hierarchy: sync requests to its children (with retries and link state), the
/// status reports of its descendants, staleness, and reports up to its parent.
package actor HierarchyLinks {
    private let site: SiteCode
    private let store: SiteStore
    private var client: SiteClient
    private var config: HierarchyConfig
    private var logger: Logger
    private var links: [SiteCode: LinkState] = [:]
    private var deliveries: [SiteCode: Task<Void, Never>] = [:]
    private var reports: [String: SiteStatus] = [:]
    private var seenRequests: [String] = []
    private var relayTask: Task<Void, Never>?
    private var parentVersion: Int?
    private let onLinkChange: @Sendable (SiteCode, SiteStatus.Link) -> Void

    package init(
        site: SiteCode, store: SiteStore, client: SiteClient, config: HierarchyConfig, logger: Logger,
        onLinkChange: @escaping @Sendable (SiteCode, SiteStatus.Link) -> Void = { _, _ in }
    ) {
        self.onLinkChange = onLinkChange
        self.site = site
        self.store = store
        self.client = client
        self.config = config
        self.logger = logger
        self.reports = (try? Self.loadReports(store)) ?? [:]
    }

    /// A reloaded config: new tree, intervals, key and TLS material (for requests sent from now on).
    package func update(config: HierarchyConfig, tls: TLSConfiguration?) {
        self.config = config
        client = SiteClient(
            httpClient: client.httpClient,
            signer: config.hierarchy.key.map { RequestSigner(key: $0) } ?? RequestSigner(key: Data()), site: site,
            tls: tls
        )
    }

    var children: [SiteConfig] { config.children(of: site) }

    // MARK: Sync requests down

    /// Sends a sync request to every child concurrently; a child that cannot be reached is retried with
    /// exponential backoff capped at `retry-interval` until it answers or a newer request replaces it.
    package func notifyChildren(version: Int) {
        for child in children {
            deliveries[child.code]?.cancel()
            deliveries[child.code] = Task { await self.deliver(to: child, version: version) }
        }
    }

    private func deliver(to child: SiteConfig, version: Int) async {
        let message = SyncRequestMessage(
            origin: site.rawValue, catalogVersion: version, requestID: UUID().uuidString.lowercased())
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                _ = try await client.sendJSON(.POST, to: child, path: "/v1/sync-requests", body: message)
                linkSucceeded(child.code, version: version, attempt: attempt)
                return
            } catch {
                let delay = LinkState.backoff(attempt: attempt, cap: config.sync.retryInterval.duration)
                linkFailed(child.code, error: error.description, retryIn: delay)
                try? await Task.sleep(for: delay)
            }
        }
    }

    private func linkSucceeded(_ child: SiteCode, version: Int, attempt: Int) {
        let before = links[child, default: LinkState()].succeeded()
        onLinkChange(child, .healthy)
        let metadata: Logger.Metadata = ["child.site": "\(child)", "catalog.version": "\(version)"]
        logger.info(
            "Sync request sent to child site \(child) (catalog version \(version)).",
            metadata: metadata.with(.syncRequestSent))
        if before != .healthy {
            logger.notice(
                "Link to child site \(child) restored after \(attempt - 1) failed attempt(s).",
                metadata: metadata.with(.childLinkRestored))
        }
    }

    private func linkFailed(_ child: SiteCode, error: String, retryIn delay: Duration) {
        var state = links[child, default: LinkState()]
        let before = state.failed(error)
        links[child] = state
        onLinkChange(child, state.link)
        var metadata: Logger.Metadata = [
            "child.site": "\(child)", "link.state": "\(state.link.rawValue)", "link.failures": "\(state.failures)",
            "link.error": "\(error)", "link.retry_seconds": "\(delay.components.seconds)",
        ]
        metadata = metadata.with(.childLinkDegraded)
        if before != state.link {
            logger.warning(
                "Link to child site \(child) is \(state.link.rawValue): \(error). Retrying in \(delay.components.seconds) s.",
                metadata: metadata
            )
        } else {
            logger.info(
                "Child site \(child) still unreachable (\(state.failures) failures): \(error). Retrying in \(delay.components.seconds) s.",
                metadata: metadata)
        }
    }

    /// The link state of each child, for status.
    func link(of child: SiteCode) -> SiteStatus.Link { links[child]?.link ?? .healthy }

    // MARK: Sync requests in

    /// Remembers a parent's request id; false when it was seen before (the request is then not repeated).
    package func acceptRequest(_ message: SyncRequestMessage) -> Bool {
        parentVersion = max(parentVersion ?? 0, message.catalogVersion)
        guard !seenRequests.contains(message.requestID) else { return false }
        seenRequests.append(message.requestID)
        if seenRequests.count > 1_000 { seenRequests.removeFirst(seenRequests.count - 1_000) }
        return true
    }

    // MARK: Status up

    /// Stores the statuses a child reported for itself and its descendants (only sites below that child).
    package func record(report: StatusReport, from child: SiteCode) throws {
        let allowed = Set(config.subtree(of: child).map(\.code.rawValue))
        for status in report.sites where allowed.contains(status.site) {
            reports[status.site] = status
        }
        try Self.saveReports(reports, store)
    }

    /// This site and every descendant, with links and lag as this site sees them.
    package func statuses(own: SiteStatus, now: Date = Date()) -> [SiteStatus] {
        var result = [own]
        let descendants = config.subtree(of: site).dropFirst()
        let versions = [own.catalogVersion] + descendants.compactMap { reports[$0.code.rawValue]?.catalogVersion }
        let top = own.parent == nil ? own.catalogVersion : max(versions.max() ?? 0, parentVersion ?? 0)
        result[0].lag = max(0, top - own.catalogVersion)
        for descendant in descendants {
            var status =
                reports[descendant.code.rawValue]
                ?? SiteStatus(
                    site: descendant.code.rawValue, parent: descendant.parent?.rawValue, url: descendant.url,
                    state: .neverSynced, catalogVersion: 0, updates: 0, lastError: "no status reported yet"
                )
            status.parent = descendant.parent?.rawValue
            status.url = descendant.url
            if descendant.parent == site {
                // The worse of this site's view of the link and the child's own (a refused catalog).
                let seen = links[descendant.code]?.link ?? status.link
                status.link = status.link == .error ? .error : seen
                status.stale = links[descendant.code].map { $0.behindSince != nil && $0.staleReported } ?? false
            }
            status.lag = max(0, top - status.catalogVersion)
            result.append(status)
        }
        return result
    }

    /// Checks each child against this site's version; logs a child that stays behind past `stale-after`.
    package func checkStaleness(ownVersion: Int, now: Date = Date()) {
        let staleAfter = TimeInterval(config.sync.effectiveStaleAfter.seconds)
        for child in children {
            let childVersion = reports[child.code.rawValue]?.catalogVersion ?? 0
            var state = links[child.code, default: LinkState()]
            let stale = state.updateStaleness(behind: childVersion < ownVersion, now: now, staleAfter: staleAfter)
            if stale && !state.staleReported {
                state.staleReported = true
                logger.warning(
                    "Child site \(child.code) is stale: at catalog version \(childVersion), behind this site's \(ownVersion) for longer than \(config.sync.effectiveStaleAfter).",
                    metadata: [
                        "child.site": "\(child.code)", "child.catalog_version": "\(childVersion)",
                        "catalog.version": "\(ownVersion)", "stale_after_seconds": "\(Int(staleAfter))",
                    ].with(.staleChild)
                )
            }
            links[child.code] = state
        }
    }

    /// Sends this site's status and its descendants' to the parent (coalescing bursts into one report).
    package func reportUp(_ statuses: [SiteStatus]) {
        guard let parentCode = config.site(site)?.parent, let parent = config.site(parentCode) else { return }
        relayTask?.cancel()
        relayTask = Task {
            var attempt = 0
            while !Task.isCancelled {
                attempt += 1
                do {
                    _ = try await client.sendJSON(
                        .POST, to: parent, path: "/v1/status", body: StatusReport(sites: statuses))
                    return
                } catch {
                    if attempt == 1 {
                        logger.info("Cannot report status to parent \(parentCode) yet: \(error); retrying.")
                    }
                    try? await Task.sleep(
                        for: LinkState.backoff(attempt: attempt, cap: config.sync.retryInterval.duration))
                }
            }
        }
    }

    package func stop() {
        for delivery in deliveries.values { delivery.cancel() }
        relayTask?.cancel()
    }

    // MARK: Persistence

    private static func loadReports(_ store: SiteStore) throws -> [String: SiteStatus] {
        try store.siteReports()
    }

    private static func saveReports(_ reports: [String: SiteStatus], _ store: SiteStore) throws {
        try store.saveSiteReports(reports)
    }
}
