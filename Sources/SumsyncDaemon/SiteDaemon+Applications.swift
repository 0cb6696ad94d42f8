import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import SumsyncConfig
import SumsyncControl
import SumsyncModel
import SumsyncSync

extension SiteDaemon {
    /// The site-to-site listener on the site's `url` (see docs/protocol.md). Every route but
    /// `/v1/health` needs a request signed with the hierarchy key.
    nonisolated func makeSiteApplication(tls: ServerTLSContext?, onRunning: @escaping @Sendable () -> Void)
        -> some ApplicationProtocol
    {
        let router = Router(context: SiteRequestContext.self)
        router.get("/v1/health") { _, _ -> Response in
            let version = (try? self.store.catalogVersion()) ?? 0
            return try JSONResponse.make(["site": self.site.rawValue, "status": "ok", "catalog_version": "\(version)"])
        }
        let signed = router.group("/v1").add(
            middleware: SignatureMiddleware(
                current: { await self.signingState() },
                nonces: NonceCache(),
                startedAt: startedAtWall,
                refused: { reason, peer, site, path in
                    self.loggerAtStart.warning(
                        "Refused a site-to-site request from \(peer): \(reason)",
                        metadata: [
                            "peer.address": "\(peer)", "peer.site": "\(site ?? "none")", "request.path": "\(path)",
                            "refusal.reason": "\(reason)",
                        ].with(.requestRefused)
                    )
                },
                impostor: { peer, holder, claimed, path in
                    self.loggerAtStart.warning(
                        "Refused a site-to-site request from \(peer): it claims to come from site \(claimed), but its TLS certificate is that of site \(holder) (403).",
                        metadata: [
                            "peer.address": "\(peer)", "peer.site": "\(claimed)", "peer.certificate-site": "\(holder)",
                            "request.path": "\(path)",
                        ].with(.certificateMismatch)
                    )
                }
            )
        )
        signed.get("changes") { request, context -> Response in
            try await self.serveChanges(request, context: context)
        }
        signed.post("sync-requests") { request, context -> Response in
            try await self.receiveSyncRequest(request, context: context)
        }
        signed.post("status") { request, context -> Response in
            try await self.receiveStatus(request, context: context)
        }
        signed.get("status") { _, _ -> Response in
            try JSONResponse.make(StatusReport(sites: await self.statuses()))
        }
        let site = siteConfigAtStart
        let logger = loggerAtStart
        let budget = LogBudget(perMinute: 30)
        return Application(
            router: router,
            server: listener(name: "site", tls: tls) { peer, reason in
                guard let suppressed = budget.take() else { return }
                let note = suppressed > 0 ? " (\(suppressed) more refused in the last minute were not logged)" : ""
                logger.warning(
                    "Refused a TLS connection from \(peer): \(reason)\(note)",
                    metadata: ["peer.address": "\(peer)", "refusal.reason": "\(reason)"].with(.tlsHandshakeRefused)
                )
            },
            configuration: .init(address: .hostname(site.host, port: site.port), serverName: nil),
            onServerRunning: { _ in onRunning() },
            logger: loggerAtStart
        )
    }

    /// The control socket for `sumsyncctl`, mode 0600 (the daemon's umask), refusing other users.
    nonisolated func makeControlApplication(onRunning: @escaping @Sendable () -> Void) -> some ApplicationProtocol {
        let router = Router(context: ControlRequestContext.self)
        router.add(middleware: PeerCredentialsMiddleware(site: site))
        router.get(RouterPath(ControlProtocol.pingPath)) { _, _ -> Response in
            try JSONResponse.make(await self.ping())
        }
        router.post(RouterPath(ControlProtocol.syncPath)) { request, _ -> Response in
            try await self.handleSyncRequest(request)
        }
        router.get(RouterPath(ControlProtocol.statusPath)) { _, _ -> Response in
            try JSONResponse.make(StatusReport(sites: await self.statuses(), insecureLinks: await self.insecureLinks()))
        }
        router.post(RouterPath(ControlProtocol.purgePath)) { request, _ -> Response in
            try await self.handlePurgeRequest(request)
        }
        router.post(RouterPath(ControlProtocol.importPath)) { request, _ -> Response in
            try await self.handleImportRequest(request)
        }
        return Application(
            router: router,
            server: listener(name: "control", tls: nil),
            configuration: .init(address: .unixDomainSocket(path: paths.controlSocket), serverName: nil),
            onServerRunning: { [path = paths.controlSocket] _ in
                chmod(path, 0o600)
                onRunning()
            },
            logger: loggerAtStart
        )
    }
}

extension SiteDaemon {
    /// A listener's server: the header and idle timeouts and the connection cap of `[hierarchy]`, and TLS
    /// when given.
    nonisolated func listener(
        name: String, tls: ServerTLSContext?,
        onTLSRefusal: (@Sendable (_ peer: String, _ reason: String) -> Void)? = nil
    ) -> HTTPServerBuilder {
        let settings = configAtStart.hierarchy
        // The control socket and the metrics listener serve one admin and one scraper: a small share.
        let configured = name == "site" ? settings.maxConnections : min(64, settings.maxConnections)
        let tracker = ConnectionTracker(
            name: name, limit: Self.connectionLimit(configured: configured), logger: loggerAtStart)
        return .site(
            tls: tls, tracker: tracker, headerTimeout: TimeAmount.seconds(settings.headerTimeout.seconds),
            idleTimeout: TimeAmount.seconds(settings.idleTimeout.seconds), onTLSRefusal: onTLSRefusal)
    }
}

/// JSON bodies for both listeners.
package enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        var data = try encoder.encode(value)
        data.append(0x0A)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

extension SiteDaemon {
    /// `GET /metrics` in the Prometheus text format on the site's `metrics-listen`, when it has one.
    nonisolated func makeMetricsApplication(onRunning: @escaping @Sendable () -> Void) throws(DaemonError) -> (
        any Service
    )? {
        guard let listen = siteConfigAtStart.metricsListen, let address = ConfigValidation.parseHostPort(listen) else {
            return nil
        }
        if let code = UnixSocketProbe.bindError(host: address.host, port: address.port) {
            throw DaemonError(
                errno: code,
                "cannot listen on \(listen) for metrics (metrics-listen of site \(site)): \(String(cString: strerror(code)))"
            )
        }
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            self.metrics.refresh(store: self.store)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: self.metrics.exposition()))
            )
        }
        return Application(
            router: router,
            server: listener(name: "metrics", tls: nil),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { _ in onRunning() },
            logger: loggerAtStart
        )
    }
}
