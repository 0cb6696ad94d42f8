import Foundation
import SumsyncFormats
import SumsyncModel

/// Decides whether a bundle may be imported into a site. Pure: the caller reads the file, the trusted
/// keys and the site's catalog version; this only compares. The checks, in order (docs/bundle-format.md):
/// the signature against each trusted key, then what the signed manifest promises against the site
/// (filter, version range), and after the payload was read, its size and SHA-256.
public struct BundleVerifier: Sendable {
    /// `[upstream] trusted-keys`, read.
    public var trustedKeys: [BundlePublicKey]
    /// The importing site's `[sync]` filter.
    public var filter: UpdateFilter
    /// `--force`: accept a bundle made with a different filter.
    public var force: Bool

    public init(trustedKeys: [BundlePublicKey], filter: UpdateFilter, force: Bool = false) {
        self.trustedKeys = trustedKeys
        self.filter = filter
        self.force = force
    }

    /// What a verified header gave.
    public struct Accepted: Sendable {
        public var manifest: BundleManifest
        /// The trusted key whose signature verified.
        public var key: BundlePublicKey
        /// The bundle's filter differs from the site's and `force` let it through.
        public var forcedFilter: Bool
    }

    /// The signature, then the manifest against a site at `currentVersion`.
    public func verify(_ header: BundleHeader, currentVersion: Int) throws(BundleError) -> Accepted {
        let key = try signer(of: header)
        let manifest = try header.manifest()
        try checkSanity(manifest)
        let forced = try checkFilter(manifest)
        try checkRange(manifest, currentVersion: currentVersion)
        return Accepted(manifest: manifest, key: key, forcedFilter: forced)
    }

    /// The trusted key that signed the manifest, or why none did.
    func signer(of header: BundleHeader) throws(BundleError) -> BundlePublicKey {
        guard !trustedKeys.isEmpty else {
            throw BundleError(
                .untrustedKey,
                "this site trusts no bundle signer: [upstream] trusted-keys is empty; list the exporter's public key (NAME.pub from `sumsyncctl keygen`)"
            )
        }
        if let key = trustedKeys.first(where: { $0.verifies(header.signature, of: header.manifestBytes) }) {
            return key
        }
        let trusted = trustedKeys.map { "\($0.keyID) (\($0.path))" }.joined(separator: ", ")
        guard let claimed = header.claimedKeyID else {
            throw BundleError(
                .badSignature,
                "bad signature: the bundle verifies with none of the trusted keys (\(trusted)); it was altered or damaged after it was signed"
            )
        }
        if let key = trustedKeys.first(where: { $0.keyID == claimed }) {
            throw BundleError(
                .badSignature,
                "bad signature: the bundle names trusted key \(claimed) (\(key.path)) but its signature does not verify; it was altered or damaged after it was signed"
            )
        }
        throw BundleError(
            .untrustedKey,
            "the bundle is signed by key \(claimed), which is not in this site's [upstream] trusted-keys (\(trusted))"
        )
    }

    /// A manifest that is signed yet contradicts itself was made by something other than sumsync.
    func checkSanity(_ manifest: BundleManifest) throws(BundleError) {
        let valid =
            manifest.records >= 0 && manifest.removals >= 0 && manifest.payloadSize > 0
            && manifest.payloadSHA256.count == 64 && manifest.from >= 0 && manifest.to >= manifest.from
            && (!manifest.full || (manifest.from == 0 && manifest.removals == 0))
            && (manifest.kind == .site || manifest.full)
        guard valid else {
            throw BundleError(
                .invalidManifest,
                "the bundle's manifest contradicts itself (\(manifest.summary)); it was not made by sumsyncctl export")
        }
    }

    /// Returns whether `force` let a different filter through.
    func checkFilter(_ manifest: BundleManifest) throws(BundleError) -> Bool {
        guard manifest.filter != filter else { return false }
        guard force else {
            throw BundleError(
                .filterMismatch,
                "the bundle was made with a different filter (\(manifest.filter.readable)) than this site's [sync] (\(filter.readable)); export it again with this site's filter, or import with --force to take it as it is"
            )
        }
        return true
    }

    /// A delta must start exactly at the site's catalog version; a full bundle always fits.
    public func checkRange(_ manifest: BundleManifest, currentVersion: Int) throws(BundleError) {
        guard manifest.kind == .site, !manifest.full, manifest.from != currentVersion else { return }
        throw BundleError(
            .versionGap,
            "version gap: the bundle holds the changes from catalog version \(manifest.from) to \(manifest.to), but this site is at version \(currentVersion); export a delta with --since \(currentVersion), or a full bundle"
        )
    }

    /// The payload as read from the file against what the signed manifest promises.
    public func verifyPayload(size: Int, sha256: String, manifest: BundleManifest) throws(BundleError) {
        if size < manifest.payloadSize {
            throw BundleError(
                .truncated,
                "the bundle is truncated: its payload has \(size) of the \(manifest.payloadSize) bytes the manifest promises"
            )
        }
        if size > manifest.payloadSize {
            throw BundleError(
                .tamperedPayload,
                "tampered payload: the bundle has \(size - manifest.payloadSize) bytes more than the manifest promises; it was altered after it was signed"
            )
        }
        guard sha256 == manifest.payloadSHA256 else {
            throw BundleError(
                .tamperedPayload,
                "tampered payload: its SHA-256 (\(sha256.prefix(16))…) differs from the signed manifest's (\(manifest.payloadSHA256.prefix(16))…); it was altered or damaged after it was signed"
            )
        }
    }
}
