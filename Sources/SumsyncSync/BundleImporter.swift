import AsyncHTTPClient
import Foundation
import Logging
import SumsyncFormats
import SumsyncModel
import SumsyncStore

/// Imports one bundle as one sync (trigger `import`) of a disconnected top-level site: reads the file,
/// verifies it (``BundleVerifier``), copies the payload into the state folder while checking its digest,
/// and applies that copy in one write transaction, with the same history row and all-or-nothing
/// guarantee as any sync. A refused bundle changes nothing but the history row.
package struct BundleImporter {
    let store: SiteStore
    let site: SiteCode
    let stateDirectory: String
    let httpClient: HTTPClient

    /// What the caller asked for.
    package struct Request: Sendable {
        /// The bundle file; the daemon reads it as the site's user.
        var path: String
        /// Accept a bundle made with a different filter.
        var force: Bool

        package init(path: String, force: Bool) {
            self.path = path
            self.force = force
        }
    }

    /// Runs the import; never throws: a refusal is a failed outcome, recorded in history.
    package func run(
        id: String, request: Request, config: HierarchyConfig, progress: SyncProgress, logger: Logger,
        now: @Sendable () -> Date = Date.init
    ) async -> SyncEngine.Outcome {
        await store.recordingHistory(id: id, site: site, trigger: .import, logger: logger, now: now) {
            () throws(SyncError) in
            try await apply(id: id, request: request, config: config, progress: progress, logger: logger, now: now)
        }
    }

    private func apply(
        id: String, request: Request, config: HierarchyConfig, progress: SyncProgress, logger: Logger,
        now: @Sendable () -> Date
    ) async throws(SyncError) -> SyncEngine.Outcome {
        let path = request.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SyncError("\(Self.unreadable(path, errno: errno)); nothing was applied") }
        defer { close(fd) }
        let accepted: BundleVerifier.Accepted
        let payload = (stateDirectory as NSString).appendingPathComponent("import.payload")
        defer { unlink(payload) }
        do {
            let header = try BundleHeader.read(from: fd, path: path)
            let keys = try config.upstream.trustedKeys.map { path throws(BundleError) in
                try BundlePublicKey(contentsOf: path)
            }
            let verifier = BundleVerifier(trustedKeys: keys, filter: UpdateFilter(config.sync), force: request.force)
            accepted = try verifier.verify(header, currentVersion: try readVersion())
            progress.enter(.fetching, total: accepted.manifest.payloadSize)
            let copied = try BundlePayload.copy(from: fd, offset: header.payloadOffset, to: payload) { size in
                if progress.isStopRequested { throw SyncError.cancelled }
                progress.advance(to: size)
            }
            try verifier.verifyPayload(size: copied.size, sha256: copied.sha256, manifest: accepted.manifest)
        } catch let error as BundleError {
            throw SyncError("refused the bundle \(path): \(error.message); nothing was applied")
        } catch let error as SyncError {
            throw error
        } catch {
            throw SyncError("cannot import the bundle \(path): \(error); nothing was applied")
        }
        let manifest = accepted.manifest
        logger.info(
            "Bundle \(path) verified: \(manifest.summary), signed by trusted key \(accepted.key.keyID) (\(accepted.key.path)), made \(manifest.created).",
            metadata: ["import.file": "\(path)"]
        )
        if accepted.forcedFilter {
            logger.warning(
                "Importing \(path) made with another filter (\(manifest.filter.readable)) than this site's [sync] (\(UpdateFilter(config.sync).readable)), as --force asked."
            )
        }
        switch manifest.kind {
        case .site:
            return try await applySiteBundle(
                payload: payload, manifest: manifest, name: path, rootKeys: Self.rootKeys(config), progress: progress)
        case .catalog:
            let engine = SyncEngine(store: store, site: site, stateDirectory: stateDirectory, httpClient: httpClient)
            let outcome = try await engine.apply(
                catalogAt: payload, name: "bundle \(path)", config: config, etag: nil, lastModified: nil, syncID: id,
                progress: progress, logger: logger, now: now, source: "catalog"
            )
            // The daemon's next sync finds this catalog's line index in the file.
            await engine.flushIndex()
            return outcome
        }
    }

    /// A site bundle is a change stream, applied as a child applies its parent's: the site mirrors the
    /// source, and its catalog version becomes the bundle's `to`.
    private func applySiteBundle(
        payload: String, manifest: BundleManifest, name: String, rootKeys: [Data], progress: SyncProgress
    ) async throws(SyncError) -> SyncEngine.Outcome {
        var applier = ChangeApplier(path: payload, source: "bundle \(name)")
        // The exporter's signed root, when the bundle carries one, verifies with one of trusted-keys (its
        // catalog key listed there); a disconnected top-level site then signs the version with its own.
        applier.rootKeys = rootKeys
        applier.expectedHeader = ChangeFeed.Header(
            site: manifest.site, from: manifest.from, to: manifest.to, full: manifest.full, upserts: manifest.records,
            removals: manifest.removals
        )
        let verifier = BundleVerifier(trustedKeys: [], filter: manifest.filter)
        let applied: (ChangeCounts, Int)
        do {
            // Checked again inside the transaction: the version the delta applies to is this one.
            let result = try await store.apply(applier, progress: progress) { current in
                try verifier.checkRange(manifest, currentVersion: current)
            }
            applied = (result.counts, result.version)
        } catch let error as SyncError {
            throw error
        } catch let refusal as CatalogRefusal {
            throw SyncError(
                "refused the bundle \(name): its catalog does not verify: \(refusal.reason); nothing was applied")
        } catch let error as BundleError {
            throw SyncError("refused the bundle \(name): \(error.message); nothing was applied")
        } catch let error as CatalogError {
            throw SyncError("malformed payload in the bundle \(name): \(error.description); nothing was applied")
        } catch {
            throw SyncError("the site database refused the bundle \(name): \(error); nothing was applied")
        }
        return SyncEngine.Outcome(result: .succeeded, counts: applied.0, catalogVersion: applied.1)
    }

    /// The raw keys of `[upstream] trusted-keys` that read (the bundle's own signature was checked with
    /// them already).
    private static func rootKeys(_ config: HierarchyConfig) -> [Data] {
        config.upstream.trustedKeys.compactMap { path in (try? BundlePublicKey(contentsOf: path))?.raw }
    }

    /// Why the daemon cannot open `path`, with what usually causes it under systemd.
    static func unreadable(_ path: String, errno code: Int32) -> String {
        var text = "cannot read the bundle \(path): \(String(cString: strerror(code)))"
        let hidden = ["/tmp/", "/var/tmp/", "/home/", "/root/", "/run/user/"].first { path.hasPrefix($0) }
        if code == ENOENT, let hidden {
            text +=
                " (under systemd sumsyncd has its own \(hidden) or none at all: PrivateTmp=, ProtectHome=; put the bundle elsewhere, e.g. /srv/sumsync/, readable by all)"
        } else if code == EACCES || code == EPERM {
            text +=
                " (sumsyncd reads it as the site's user, uid \(getuid()): make the file and its folders readable by that user, e.g. chmod 0644)"
        }
        return text
    }

    private func readVersion() throws -> Int {
        do {
            return try store.catalogVersion()
        } catch {
            throw SyncError("cannot read the site database: \(error)")
        }
    }

    package init(store: SiteStore, site: SiteCode, stateDirectory: String, httpClient: HTTPClient) {
        self.store = store
        self.site = site
        self.stateDirectory = stateDirectory
        self.httpClient = httpClient
    }
}
