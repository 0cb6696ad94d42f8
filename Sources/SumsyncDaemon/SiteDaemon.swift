import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import SumsyncConfig
import SumsyncControl
import SumsyncFormats
import SumsyncModel
import SumsyncSchedule
import SumsyncStore
import SumsyncSync
import SumsyncTLS
import SystemdKit
import UnixSignals

/// One site's `sumsyncd`: config, site database, the site-to-site listener, the control socket, signals
/// and the service manager protocol, wired together.
public actor SiteDaemon {
    /// The site this daemon serves.
    public nonisolated let site: SiteCode
    let options: DaemonOptions
    let paths: SitePaths
    let store: SiteStore
    let notifier: Notifier
    let loader: ConfigLoader
    var logger: Logger
    var config: HierarchyConfig
    /// The config and logger as they were at start, for the listeners, which are made once.
    nonisolated let siteConfigAtStart: SiteConfig
    nonisolated let configAtStart: HierarchyConfig
    nonisolated let loggerAtStart: Logger
    let startedAt = ContinuousClock.now
    /// The start in Unix seconds: requests signed before it are refused (see ``SignatureMiddleware``).
    nonisolated let startedAtWall = Int64(Date().timeIntervalSince1970)
    /// This server's certificate, key and the hierarchy CA, when any site uses https.
    var tls: SiteTLS?
    /// The client side of ``tls``, made once per load.
    var clientTLS: TLSConfiguration?
    /// The listener's TLS context, swapped on reload.
    var serverTLS: ServerTLSContext?
    /// When a certificate expiry warning was last logged (once a day).
    var lastExpiryWarning: Date?
    let httpClient: HTTPClient
    /// Runs this site's syncs one at a time; made on first use, so that it exists before any route or
    /// signal can ask for it.
    lazy var coordinator: SyncCoordinator = makeCoordinator()
    var lastOutcome: SyncEngine.Outcome?
    /// When the schedule fires next (top-level site with a schedule).
    var nextScheduledRun: Date?
    var lastNotifiedVersion: Int?
    var backgroundTasks: [Task<Void, Never>] = []
    var scheduleState: ScheduleStateMachine?
    /// Prometheus metrics, served on `metrics-listen` when set.
    nonisolated let metrics = SiteMetrics()
    var timer: WallClockTimer?
    /// The `[sync] verify-schedule` loop.
    var verifyTask: Task<Void, Never>?
    /// Waiting for quiet, then giving free pages back (``planVacuum()``).
    var vacuumTask: Task<Void, Never>?
    /// A vacuum gave pages back but its checkpoint has not run yet (a sync came first).
    var vacuumLogPending = false
    /// Sync requests to children, status from and to the rest of the hierarchy.
    let links: HierarchyLinks
    /// Change streams written for the children, shared between them.
    nonisolated let feeds: ChangeFeedCache

    /// Loads and validates the config, makes the folders and opens the site database.
    ///
    /// Every failure here is one clear line for the admin; nothing is listening yet.
    public init(options: DaemonOptions, logger: Logger, notifier: Notifier, loader: ConfigLoader = ConfigLoader())
        throws(DaemonError)
    {
        let config: HierarchyConfig
        do {
            config = try loader.load(path: options.configPath)
        } catch {
            throw DaemonError(errno: EINVAL, "invalid config: \(error.description)")
        }
        guard let code = SiteCode(options.site) else {
            throw DaemonError(errno: EINVAL, "invalid site code '\(options.site)': use 3 characters of A–Z and 0–9")
        }
        guard config.site(code) != nil else {
            let known = config.sites.map(\.code.rawValue).joined(separator: ", ")
            throw DaemonError(errno: ENOENT, "site \(code) is not in \(options.configPath) (it lists \(known))")
        }
        let paths = SitePaths(
            site: code, stateDirectory: options.stateDirectory, runtimeDirectory: options.runtimeDirectory)
        do {
            try paths.createDirectories()
        } catch {
            throw DaemonError(
                errno: EACCES,
                "cannot create \(paths.stateDirectory) or \(paths.runtimeDirectory): \(ConfigLoader.reason(error))")
        }
        do {
            self.store = try SiteStore(path: paths.database)
        } catch {
            throw DaemonError(errno: EIO, error.message)
        }
        var logger = logger
        logger[metadataKey: "site.code"] = "\(code)"
        self.site = code
        self.options = options
        self.paths = paths
        self.notifier = notifier
        self.loader = loader
        self.logger = logger
        self.config = config
        self.siteConfigAtStart = config.site(code)!
        self.configAtStart = config
        self.loggerAtStart = logger
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.timeout.connect = .seconds(10)
        httpConfiguration.decompression = .disabled
        // A refused connection or TLS handshake fails the request at once, with its reason; the sync and
        // the links retry on their own schedule. (Retried inside the client, a parent with a bad
        // certificate would hold a sync until the request's deadline.)
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        self.httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        self.feeds = ChangeFeedCache(folder: paths.stateDirectory)
        let signer = config.hierarchy.key.map { RequestSigner(key: $0) }
        let metrics = self.metrics
        self.links = HierarchyLinks(
            site: code, store: store,
            client: SiteClient(
                httpClient: httpClient, signer: signer ?? RequestSigner(key: Data()), site: code, tls: nil),
            config: config, logger: logger, onLinkChange: { child, link in metrics.link(child: child, state: link) }
        )
    }

    var siteConfig: SiteConfig { config.site(site)! }

    /// Serves until SIGTERM or SIGINT; returns after a clean stop, throws when a listener cannot start.
    public func run() async throws(DaemonError) {
        // The HTTP client must be shut down before it goes, whichever way the daemon ends.
        do {
            try await serve()
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try? await httpClient.shutdown()
        logger.info("Stopped.")
    }

    private func serve() async throws(DaemonError) {
        logVacuumConversion()
        if let interrupted = try? store.recoverInterruptedSyncs(at: Date()), interrupted > 0 {
            logger.warning(
                "\(interrupted) sync(s) were interrupted when the daemon last stopped; recorded as failed, nothing of them was applied."
            )
        }
        // Ignored first, so a signal that arrives before the loop below takes it is queued in the
        // sequence rather than killing the process.
        let trapped: [UnixSignal] = [.sighup, .sigusr1, .sigterm, .sigint]
        for unixSignal in trapped { signal(unixSignal.rawValue, SIG_IGN) }
        let signals = await UnixSignalsSequence(trapping: trapped)
        try removeStaleControlSocket()
        try checkSiteAddress()
        try await configureCatalogTrust()
        try await loadTLS()
        let (readiness, readyContinuation) = AsyncStream<Void>.makeStream()
        let siteApp = makeSiteApplication(tls: serverTLS) { readyContinuation.yield() }
        let controlApp = makeControlApplication { readyContinuation.yield() }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: siteApp), .init(service: controlApp),
        ]
        if let metricsApp = try makeMetricsApplication(onRunning: { readyContinuation.yield() }) {
            services.append(.init(service: metricsApp))
        }
        let listeners = services.count
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                tasks.addTask {
                    var pending = listeners
                    for await _ in readiness {
                        pending -= 1
                        if pending == 0 { break }
                    }
                    guard !Task.isCancelled else { return }
                    await self.becameReady()
                    for await unixSignal in signals {
                        await self.handle(signal: unixSignal.rawValue, group: group)
                    }
                }
                // The service group ends first: after a graceful shutdown, or with a listener's error.
                try await tasks.next()
                tasks.cancelAll()
                try await tasks.waitForAll()
            }
        } catch {
            throw describeListenerError(error)
        }
    }

    func becameReady() {
        let site = siteConfig
        logger.info(
            "Ready: site \(site.code) listening on \(site.url), control socket \(paths.controlSocket).",
            metadata: [
                "catalog.version": "\((try? store.catalogVersion()) ?? 0)",
                "hierarchy.key-file": "\(config.hierarchy.keyFile ?? "none")",
                "tls.certificate": "\(tls?.certificateFile ?? "none")",
                "config.file": "\(options.configPath)",
            ].with(.daemonReady)
        )
        notifier.ready(status: statusLine())
        startBackgroundWork()
    }

    /// What runs once the daemon is ready: a child's catch-up from its parent, and the staleness watch.
    func startBackgroundWork() {
        lastNotifiedVersion = try? store.catalogVersion()
        startSchedule()
        startSelfCheck()
        planVacuum()
        if let parent = role.parent {
            logger.notice(
                "Catching up with parent \(parent) at start-up.",
                metadata: ["sync.trigger": "catch-up", "parent.site": "\(parent)"].with(.catchUpRun)
            )
            backgroundTasks.append(Task { await self.requestSync(trigger: .catchUp, source: "start-up") })
        } else if role == .top, (try? store.lastSyncWasInterrupted()) == true {
            // When the last stop interrupted a sync (SIGTERM rolled it back, or the process died), it runs again,
            // so a restart (a package upgrade, `systemctl restart`) loses no sync. A child's catch-up above does
            // the same for it; a disconnected site's import needs its file again.
            logger.notice("The sync the last stop interrupted runs again now.", metadata: ["sync.trigger": "retry"])
            backgroundTasks.append(Task { await self.requestSync(trigger: .retry, source: "start-up") })
        }
        backgroundTasks.append(
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(30))
                    await self.links.checkStaleness(ownVersion: (try? self.store.catalogVersion()) ?? 0)
                    self.checkCertificateExpiry()
                }
            }
        )
    }

    func handle(signal number: Int32, group: ServiceGroup) async {
        switch number {
        case SIGUSR1:
            await requestSync(trigger: .manual, source: "SIGUSR1")
        case SIGHUP:
            await reload()
        case SIGTERM, SIGINT:
            logger.info("Stopping on \(number == SIGTERM ? "SIGTERM" : "SIGINT").", metadata: [:].with(.daemonStopping))
            notifier.stopping(status: "Stopping.")
            if await coordinator.current != nil {
                logger.notice("Stopping the running sync; it is rolled back and nothing of it is applied.")
            }
            await coordinator.stop()
            timer?.cancel()
            verifyTask?.cancel()
            for task in backgroundTasks { task.cancel() }
            await links.stop()
            await group.triggerGracefulShutdown()
        default:
            break
        }
    }

    /// The one-line summary shown by `systemctl status` and `sumsyncctl ping`.
    func statusLine() -> String {
        let version = (try? store.catalogVersion()) ?? 0
        var line = "Idle. Catalog v\(version)."
        if let last = lastOutcome, last.result == .failed {
            line += " Last sync failed: \(last.error ?? "unknown error")."
        } else if let last = lastOutcome, last.result == .partial {
            line += " Last sync partial: \(last.error ?? "unknown error")."
        }
        switch role {
        case .child(let parent): return line + " Syncs from parent \(parent)."
        case .disconnectedTop: return line + " Disconnected: syncs by import only."
        case .top: break
        }
        if let next = nextScheduledRun {
            return line + " Next sync \(RFC3339.format(next))."
        }
        return line + (config.sync.schedule == nil ? " No schedule." : " Schedule has no next run.")
    }

    func ping() async -> ControlProtocol.Ping {
        let uptime = ContinuousClock.now - startedAt
        let running = await coordinator.current
        var status = statusLine()
        if let running { status = "Synchronizing (\(running.trigger.rawValue)): \(running.progress.snapshot.line)" }
        return ControlProtocol.Ping(
            site: site.rawValue, pid: getpid(), uptimeSeconds: Int(uptime.components.seconds),
            state: running == nil ? "idle" : "synchronizing", catalogVersion: (try? store.catalogVersion()) ?? 0,
            nextSync: nextSyncText(), status: status
        )
    }

    /// A socket file left by a daemon that died is removed; one that answers means another daemon runs.
    func removeStaleControlSocket() throws(DaemonError) {
        let path = paths.controlSocket
        guard FileManager.default.fileExists(atPath: path) else { return }
        if UnixSocketProbe.isListening(path) {
            throw DaemonError(
                errno: EADDRINUSE,
                "another sumsyncd already serves site \(site) (its control socket \(path) answers); stop it first"
            )
        }
        unlink(path)
    }

    /// Binds the site's address once before the real listener does, so a busy port is one clear line
    /// before anything starts, rather than an error from deep in the server.
    func checkSiteAddress() throws(DaemonError) {
        let site = siteConfig
        if let code = UnixSocketProbe.bindError(host: site.host, port: site.port) {
            throw listenError(code: code)
        }
    }

    nonisolated func listenError(code: Int32) -> DaemonError {
        let site = siteConfigAtStart
        if code == EADDRINUSE {
            return DaemonError(
                errno: code,
                "cannot listen on \(site.url) for site \(site.code): address already in use; is another sumsyncd or program using port \(site.port)? (`ss -ltnp 'sport = :\(site.port)'`)"
            )
        }
        return DaemonError(
            errno: code, "cannot listen on \(site.url) for site \(site.code): \(String(cString: strerror(code)))")
    }

    nonisolated func describeListenerError(_ error: any Error) -> DaemonError {
        if let error = error as? DaemonError { return error }
        if let io = error as? IOError { return listenError(code: io.errnoCode) }
        return DaemonError(errno: EIO, "listener failed: \(error)")
    }
}
