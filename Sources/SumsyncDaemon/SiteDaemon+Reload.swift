import Foundation
import Logging
import SumsyncConfig
import SumsyncModel
import SumsyncStore

extension SiteDaemon {
    /// Reads the config again and swaps it in; a broken one keeps the current config running.
    func reload() async {
        notifier.reloading(status: "Reloading configuration.")
        do throws(ConfigError) {
            let fresh = try loader.load(path: options.configPath)
            guard let mine = fresh.site(site) else {
                throw ConfigError(issues: [
                    ConfigIssue(file: options.configPath, keyPath: "site", message: "site \(site) is no longer listed")
                ])
            }
            if let before = config.role(of: site), let after = fresh.role(of: site), !before.isSameKind(as: after) {
                throw ConfigError(issues: [
                    ConfigIssue(
                        file: options.configPath, keyPath: "site",
                        message:
                            "site \(site) would change from \(before) to \(after); a running daemon keeps its role: restart it to apply (systemctl restart sumsyncd@\(site))"
                    )
                ])
            }
            if mine.url != siteConfig.url {
                logger.warning(
                    "The new config moves site \(site) to \(mine.url); the listener stays on \(siteConfig.url) until the daemon restarts."
                )
            }
            let trust: CatalogTrust
            do {
                trust = try Self.catalogTrust(config: fresh, role: fresh.role(of: site) ?? role)
            } catch {
                throw ConfigError(issues: [
                    ConfigIssue(file: options.configPath, keyPath: "hierarchy.catalog-key", message: error.message)
                ])
            }
            config = fresh
            store.setCatalogTrust(trust)
            do {
                try await store.sealCurrentVersion()
                // Streams written before may lack the root a reload just made the children require.
                await feeds.clear()
            } catch {
                logger.error("Cannot sign the root of the current catalog version: \(error)")
            }
            startSelfCheck()
            await reloadTLS()
            await links.update(config: fresh, tls: clientTLS)
            rescheduleAfterReload()
            logger.notice(
                "Configuration reloaded from \(options.configPath).",
                metadata: ["config.file": "\(options.configPath)"].with(.configReloaded)
            )
        } catch {
            logger.error(
                "Configuration rejected, still running on the previous one: \(error.summary)",
                metadata: ["config.file": "\(options.configPath)", "config.errors": "\(error.description)"]
                    .with(.configRejected)
            )
        }
        notifier.ready(status: statusLine())
    }
}
