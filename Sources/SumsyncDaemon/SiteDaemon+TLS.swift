import Foundation
import Logging
import NIOSSL
import SumsyncFormats
import SumsyncModel
import SumsyncTLS

extension SiteDaemon {
    /// Loads and checks this server's certificate, key and the hierarchy CA before anything listens; a
    /// problem is one line for the admin and the daemon does not start (exit 78).
    func loadTLS() async throws(DaemonError) {
        warnAboutInsecureLinks()
        let loaded: SiteTLS?
        do {
            loaded = try await SiteTLS.load(settings: config.hierarchy, site: siteConfig)
        } catch {
            throw DaemonError(errno: EINVAL, "TLS: \(error.description)")
        }
        try install(loaded)
        await links.update(config: config, tls: clientTLS)
        checkCertificateExpiry()
    }

    /// Swaps in new TLS material; the listener's next connections and the next requests to other sites
    /// use it, connections and syncs in progress keep theirs.
    func install(_ loaded: SiteTLS?) throws(DaemonError) {
        // The listener is TLS when the site's url is https; on http, a certificate only serves as a client's.
        if siteConfigAtStart.usesTLS, let configuration = loaded?.serverConfiguration() {
            let context: NIOSSLContext
            do {
                context = try NIOSSLContext(configuration: configuration)
            } catch {
                throw DaemonError(
                    errno: EINVAL, "TLS: cannot use \(loaded?.certificateFile ?? "the certificate"): \(error)")
            }
            if let serverTLS {
                serverTLS.replace(with: context)
            } else {
                serverTLS = ServerTLSContext(context)
            }
        }
        tls = loaded
        clientTLS = loaded?.clientConfiguration()
        if let expires = loaded?.expires { metrics.certificate(site: site, expires: expires) }
    }

    /// On reload: new certificate files and CA bundle; a failure keeps the ones in use.
    func reloadTLS() async {
        if siteConfig.usesTLS != siteConfigAtStart.usesTLS {
            logger.warning(
                "The new config changes site \(site) between http and https; the listener keeps \(siteConfigAtStart.url) until the daemon restarts."
            )
        }
        do {
            let loaded = try await SiteTLS.load(settings: config.hierarchy, site: siteConfigAtStart)
            if siteConfigAtStart.usesTLS, loaded?.serverConfiguration() == nil {
                throw DaemonError(errno: EINVAL, "TLS: the new config gives site \(site) no certificate")
            }
            try install(loaded)
            if let loaded, let file = loaded.certificateFile {
                logger.notice(
                    "TLS reloaded: \(file) (expires \(loaded.expires.map(RFC3339.format) ?? "?")) and the CA bundle \(loaded.caFile); new connections use them.",
                    metadata: ["tls.certificate": "\(file)", "tls.ca-file": "\(loaded.caFile)"]
                )
            }
            checkCertificateExpiry(force: true)
        } catch let error as TLSSetupError {
            tlsReloadFailed(error.description)
        } catch let error as DaemonError {
            tlsReloadFailed(error.message)
        } catch {
            tlsReloadFailed("\(error)")
        }
        warnAboutInsecureLinks()
    }

    private func tlsReloadFailed(_ reason: String) {
        logger.error(
            "TLS reload refused, still using the previous certificate and CA bundle: \(reason)",
            metadata: ["tls.error": "\(reason)"].with(.tlsReloadFailed)
        )
    }

    /// With `require-tls = false`, each plain-http link is a warning at start and on reload.
    func warnAboutInsecureLinks() {
        guard !config.hierarchy.requireTLS else { return }
        for link in config.insecureLinks where link.parent.code == site || link.child.code == site {
            logger.warning(
                "Link \(link.parent.code) → \(link.child.code) is plain http (\(insecureExposure(link))); set both urls to https:// and require-tls = true.",
                metadata: [
                    "link.parent": "\(link.parent.code)", "link.child": "\(link.child.code)",
                    "link.url": "\(link.parent.usesTLS ? link.child.url : link.parent.url)",
                ].with(.insecureLink)
            )
        }
    }

    /// What an http link exposes, for the journal and `status`.
    nonisolated func insecureExposure(_ link: (parent: SiteConfig, child: SiteConfig)) -> String {
        let plain = [link.parent, link.child].filter { !$0.usesTLS }.map { "\($0.code) at \($0.url)" }
        return
            "\(plain.joined(separator: " and ")) unencrypted: anyone on the path can read the catalog, and alter or forge what the sites answer; only the HMAC signature authenticates requests"
    }

    /// Logs a warning once a day while this site's certificate expires within 14 days (or has expired).
    func checkCertificateExpiry(force: Bool = false, now: Date = Date()) {
        guard let expires = tls?.expires, let file = tls?.certificateFile,
            expires.timeIntervalSince(now) < SiteTLS.expiryWarning
        else { return }
        if !force, let last = lastExpiryWarning, now.timeIntervalSince(last) < 86_400 { return }
        lastExpiryWarning = now
        let days = Int(expires.timeIntervalSince(now) / 86_400)
        // Credentials are copied when the unit starts; files in tls-dir are read again on reload.
        let apply =
            config.hierarchy.tlsCredentialsDirectory == nil
            ? "`systemctl reload sumsyncd@\(site)`"
            : "`systemctl restart sumsyncd@\(site)` (credentials are read at start)"
        logger.warning(
            expires < now
                ? "The certificate of site \(site), \(file), expired on \(RFC3339.format(expires)); peers refuse it. Issue a new one and run \(apply)."
                : "The certificate of site \(site), \(file), expires on \(RFC3339.format(expires)) (in \(days) days); issue a new one and run \(apply).",
            metadata: ["tls.certificate": "\(file)", "tls.expires": "\(RFC3339.format(expires))"].with(
                .certificateExpiring)
        )
    }

    /// Connections per listener: `max-connections`, but never more than half the open-file limit, so the
    /// daemon always has descriptors left for its database, its children and new connections.
    nonisolated static func connectionLimit(configured: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return configured }
        let soft = limit.rlim_cur == rlim_t.max ? UInt64(configured * 2) : UInt64(limit.rlim_cur)
        return max(16, min(configured, Int(soft / 2)))
    }
}
