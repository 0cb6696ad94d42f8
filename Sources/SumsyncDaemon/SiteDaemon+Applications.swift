import Foundation
import Hummingbird
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
    nonisolated func makeSiteApplication(onRunning: @escaping @Sendable () -> Void) -> some ApplicationProtocol {
        let router = Router(context: SiteRequestContext.self)
        router.get("/v1/health") { _, _ -> Response in
            let version = (try? self.store.catalogVersion()) ?? 0
            return try JSONResponse.make(["site": self.site.rawValue, "status": "ok", "catalog_version": "\(version)"])
        }
        let signed = router.group("/v1").add(
            middleware: SignatureMiddleware(
                current: { await self.signingState() },
                nonces: NonceCache(),
                refused: { reason, peer, site, path in
                    self.loggerAtStart.warning(
                        "Refused a site-to-site request from \(peer): \(reason)",
                        metadata: [
                            "peer.address": "\(peer)", "peer.site": "\(site ?? "none")", "request.path": "\(path)",
                            "refusal.reason": "\(reason)",
                        ].with(.requestRefused)
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
        return Application(
            router: router,
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
            try JSONResponse.make(StatusReport(sites: await self.statuses()))
        }
        router.post(RouterPath(ControlProtocol.importPath)) { request, _ -> Response in
            try await self.handleImportRequest(request)
        }
        return Application(
            router: router,
            configuration: .init(address: .unixDomainSocket(path: paths.controlSocket), serverName: nil),
            onServerRunning: { [path = paths.controlSocket] _ in
                chmod(path, 0o600)
                onRunning()
            },
            logger: loggerAtStart
        )
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
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { _ in onRunning() },
            logger: loggerAtStart
        )
    }
}
