import Foundation
import Logging
import SumsyncConfig
import SumsyncFormats
import SumsyncModel
import SumsyncSchedule
import SumsyncStore

extension SiteDaemon {
    /// How this site trusts catalog versions under `config`: the catalog key every site checks roots with,
    /// and at the top-level site (connected or not) the signing key it signs them with. docs/security.md.
    nonisolated static func catalogTrust(config: HierarchyConfig, role: SiteRole) throws(DaemonError) -> CatalogTrust {
        let settings = config.hierarchy
        var trust = CatalogTrust(hierarchy: settings.name, catalogKeys: settings.catalogKey.map { [$0] } ?? [])
        guard role.parent == nil, let catalogKey = settings.catalogKey else { return trust }
        guard let path = settings.catalogSigningKeyFile else {
            throw DaemonError(
                errno: EINVAL,
                "the hierarchy verifies catalogs ([hierarchy] catalog-key), so the top-level site signs them: pass the private key as the credential catalog-signing.key (LoadCredential=catalog-signing.key:/etc/sumsync/catalog.key) or set [hierarchy] catalog-signing-key; make one with `sumsyncctl keygen --output catalog.key`"
            )
        }
        let seed: Data
        do {
            seed = try KeyArmor.read(path, kind: .privateKey, what: "catalog signing key")
        } catch {
            throw DaemonError(errno: EINVAL, "cannot read the catalog signing key: \(error.message)")
        }
        guard let publicKey = CatalogRoot.publicKey(ofSeed: seed) else {
            throw DaemonError(errno: EINVAL, "\(path) holds no valid Ed25519 private key")
        }
        guard publicKey == catalogKey else {
            throw DaemonError(
                errno: EINVAL,
                "the catalog signing key \(path) (key \(CatalogRoot.keyID(publicKey))) is not the private half of [hierarchy] catalog-key \(settings.catalogKeyFile ?? "") (key \(CatalogRoot.keyID(catalogKey))): children would refuse every root"
            )
        }
        trust.signingKey = seed
        return trust
    }

    /// Sets the store's trust from the current config and, at the top-level site, signs the current
    /// version's root if it has none yet (a key configured since the last sync).
    func configureCatalogTrust() async throws(DaemonError) {
        let trust = try Self.catalogTrust(config: config, role: role)
        store.setCatalogTrust(trust)
        do {
            try await store.sealCurrentVersion()
        } catch {
            throw DaemonError(errno: EIO, "cannot sign the root of the current catalog version: \(error)")
        }
        if !trust.isVerified {
            logger.info(
                "Catalogs are unverified in this hierarchy: no [hierarchy] catalog-key (docs/security.md).")
        }
    }

    /// `verified` for status: nil in an unverified hierarchy; else whether the last check passed.
    func catalogTrustForStatus() -> (verified: Bool?, digest: String?, error: String?) {
        guard let state = try? store.catalogTrustState() else { return (nil, nil, nil) }
        guard config.hierarchy.catalogKey != nil else { return (nil, state.digest, nil) }
        return (state.verified ?? false, state.digest, state.error)
    }

    // MARK: The scheduled self-check

    /// Starts (or, after a reload, restarts) the `[sync] verify-schedule` loop.
    func startSelfCheck() {
        verifyTask?.cancel()
        guard let text = config.sync.verifySchedule, let schedule = try? Schedule.parse(text) else {
            verifyTask = nil
            return
        }
        verifyTask = Task {
            while !Task.isCancelled {
                guard let next = schedule.nextElapse(after: Date(), localZone: .current) else { return }
                // Re-planned every hour at most, so a wall clock that jumps or sleeps is caught up with.
                let wait = min(max(next.timeIntervalSinceNow, 0), 3_600)
                try? await Task.sleep(for: .milliseconds(Int64(wait * 1_000)))
                if Task.isCancelled { return }
                if Date() >= next { await self.runSelfCheck(trigger: "schedule") }
            }
        }
    }

    /// Recomputes the digest from every row and checks it against the stored root; a mismatch is logged
    /// at `err`, shown in status and alerted like a failed sync. Returns the check.
    @discardableResult
    func runSelfCheck(trigger: String) async -> CatalogCheck? {
        let keys = config.hierarchy.catalogKey.map { [$0] } ?? []
        let store = self.store
        let check: CatalogCheck
        do {
            check = try await Task.detached(priority: .background) { try store.checkCatalog(keys: keys) }.value
        } catch {
            logger.error("The catalog self-check could not read the site database: \(error)")
            return nil
        }
        let metadata: Logger.Metadata = [
            "catalog.version": "\(check.version)", "catalog.updates": "\(check.updates)",
            "catalog.digest": "\(check.digest)", "verify.trigger": "\(trigger)",
        ]
        if check.isValid {
            logger.info(
                "Catalog self-check passed: \(check.updates) updates at version \(check.version), digest \(check.digest).",
                metadata: metadata)
            if !keys.isEmpty { try? store.recordVerification(error: nil) }
        } else {
            let problems = check.problems.joined(separator: "; ")
            var failed = metadata
            failed["verify.error"] = "\(problems)"
            logger.error(
                "Catalog self-check failed at version \(check.version): \(problems)",
                metadata: failed.with(.catalogCheckFailed))
            try? store.recordVerification(error: "self-check: \(problems)")
            if let command = config.alerts.onFailure {
                let alert = AlertCommand(command: command, timeout: config.alerts.timeout.duration)
                let fields = [
                    "SUMSYNC_SITE_CODE": site.rawValue, "SUMSYNC_SYNC_ID": "", "SUMSYNC_SYNC_TRIGGER": "verify",
                    "SUMSYNC_SYNC_RESULT": "failed", "SUMSYNC_SYNC_ERROR": "catalog self-check: \(problems)",
                    "SUMSYNC_CATALOG_VERSION": "\(check.version)",
                ]
                let logger = self.logger
                Task.detached { await alert.run(environment: fields, logger: logger) }
            }
            await relayStatus()
        }
        return check
    }
}
