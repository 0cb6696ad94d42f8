import Foundation
import GRDB
import SumsyncFormats
import SumsyncModel

/// How a site trusts catalog versions, from its config (set at start and on reload): see docs/security.md.
public struct CatalogTrust: Sendable, Equatable {
    /// `[hierarchy] name`: signed into every root.
    public var hierarchy: String
    /// The raw Ed25519 public keys whose roots this site accepts from its parent (`[hierarchy]
    /// catalog-key`); empty: the hierarchy is unverified.
    public var catalogKeys: [Data]
    /// The raw Ed25519 seed this site signs its own roots with (the top-level site's
    /// `catalog-signing.key`); nil at every other site.
    public var signingKey: Data?

    public init(hierarchy: String, catalogKeys: [Data], signingKey: Data? = nil) {
        self.hierarchy = hierarchy
        self.catalogKeys = catalogKeys
        self.signingKey = signingKey
    }

    /// Whether the hierarchy verifies its catalogs at all.
    public var isVerified: Bool { !catalogKeys.isEmpty }
}

/// Applying a change stream gave a catalog its signed root does not vouch for (or the root itself is
/// not one to trust): the transaction rolls back.
public struct CatalogRefusal: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public var description: String { reason }
}

/// `sumsyncctl verify` and the scheduled self-check: the digest recomputed from every row against the
/// stored root.
public struct CatalogCheck: Sendable, Codable, Equatable {
    public var version: Int
    /// Rows counted.
    public var updates: Int
    /// The digest recomputed from every row.
    public var digest: String
    /// The digest the site's syncs kept.
    public var kept: String
    /// The stored root's fields (nil: none stored).
    public var rootVersion: Int?
    public var rootUpdates: Int?
    public var rootDigest: String?
    public var rootKey: String?
    /// What differs; empty when everything agrees.
    public var problems: [String]

    public var isValid: Bool { problems.isEmpty }

    enum CodingKeys: String, CodingKey {
        case version, updates, digest, kept, problems
        case rootVersion = "root_version"
        case rootUpdates = "root_updates"
        case rootDigest = "root_digest"
        case rootKey = "root_key"
    }
}

/// What status shows of a site's catalog trust.
public struct CatalogTrustState: Sendable, Equatable {
    /// ``CatalogDigest/text`` of the kept digest.
    public var digest: String
    /// 1 / 0 / nil as last recorded (nil: never checked, or an unverified hierarchy).
    public var verified: Bool?
    public var error: String?
    public var root: String?
}

extension SiteStore {
    /// Sets how this site trusts catalog versions (nil: as an unverified hierarchy).
    public func setCatalogTrust(_ trust: CatalogTrust?) { trustBox.withLock { $0 = trust } }

    /// How this site trusts catalog versions.
    public var catalogTrust: CatalogTrust? { trustBox.withLock { $0 } }

    /// Signs the root of the current version when this site signs its own and the stored root is missing
    /// or stale (a key configured since the last sync, a changed hierarchy name): at start and reload.
    public func sealCurrentVersion(now: Date = Date()) async throws {
        guard let trust = catalogTrust, trust.signingKey != nil else { return }
        try await pool.write { db in try CatalogState.seal(db, trust: trust, now: now) }
    }

    /// The digest, the last verification's outcome and the stored root.
    public func catalogTrustState() throws -> CatalogTrustState {
        try pool.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT catalog_digest, verified, verify_error, catalog_root FROM site_state WHERE id = 1")!
            let digest = (row[0] as Data?).flatMap { CatalogDigest(bytes: $0) } ?? CatalogDigest()
            let verified: Int? = row[1]
            return CatalogTrustState(
                digest: digest.text, verified: verified.map { $0 != 0 }, error: row[2], root: row[3])
        }
    }

    /// Records a failed check (a refused stream, a failed self-check), or a passed self-check.
    public func recordVerification(error: String?, now: Date = Date()) throws {
        try pool.write { db in
            try db.execute(
                sql: "UPDATE site_state SET verified = ?, verify_error = ?, verified_at = ? WHERE id = 1",
                arguments: [error == nil ? 1 : 0, error, RFC3339.format(now)])
        }
    }

    /// Recomputes the digest from every row (read-only: works beside a running daemon, or with it
    /// stopped) and compares it with the stored root and, with `keys`, the root's signature.
    public func checkCatalog(keys: [Data]) throws -> CatalogCheck {
        try pool.read { db in
            let state = try Row.fetchOne(
                db, sql: "SELECT catalog_version, update_count, catalog_root FROM site_state WHERE id = 1")!
            let version: Int = state[0]
            let recorded: Int = state[1]
            let root = CatalogRoot.decode(state[2])
            let counted = try Int.fetchOne(db, sql: "SELECT count(*) FROM updates") ?? 0
            let digest = try CatalogState.recompute(db).text
            let kept = try CatalogState.stored(db).text
            var problems: [String] = []
            if counted != recorded {
                problems.append(
                    "the database holds \(counted) updates and records \(recorded) (site_state.update_count)")
            }
            if let root {
                if !keys.isEmpty && !keys.contains(where: root.isSigned(by:)) {
                    problems.append(
                        "the stored root is not signed by the catalog key (it names key \(root.key), the config \(keys.map(CatalogRoot.keyID).joined(separator: ", ")))"
                    )
                }
                if root.version != version {
                    problems.append("the stored root is for catalog version \(root.version), the site is at \(version)")
                }
                if root.updates != counted {
                    problems.append("the root vouches for \(root.updates) updates, the database holds \(counted)")
                }
                if root.digest != digest {
                    problems.append(
                        kept == root.digest
                            ? "the updates digest to \(digest), the root vouches for \(root.digest): the database was changed outside sumsync (the digest its syncs kept still matches the root)"
                            : "the updates digest to \(digest), the root vouches for \(root.digest)")
                }
            } else {
                if !keys.isEmpty { problems.append("no signed root is stored for catalog version \(version)") }
                if kept != digest {
                    problems.append(
                        "the updates digest to \(digest), the digest kept by syncs is \(kept): the database was changed outside sumsync"
                    )
                }
            }
            return CatalogCheck(
                version: version, updates: counted, digest: digest, kept: kept, rootVersion: root?.version,
                rootUpdates: root?.updates, rootDigest: root?.digest, rootKey: root?.key, problems: problems)
        }
    }
}

extension CatalogState {
    /// The top-level site's seal after a sync (inside its transaction): a root for the current version
    /// unless the stored one already vouches for it.
    static func seal(_ db: Database, trust: CatalogTrust?, now: Date) throws {
        guard let trust, let signingKey = trust.signingKey else {
            try db.execute(sql: "UPDATE site_state SET verified = NULL, verify_error = NULL WHERE id = 1")
            return
        }
        let (version, updates, digest, stored) = try current(db)
        if let stored, stored.version == version, stored.updates == updates, stored.digest == digest,
            stored.hierarchy == trust.hierarchy, trust.catalogKeys.contains(where: stored.isSigned(by:))
        {
            return
        }
        guard
            let root = CatalogRoot.signed(
                hierarchy: trust.hierarchy, version: version, updates: updates, digest: digest, signedAt: now,
                signingKey: signingKey)
        else { throw CatalogRefusal(reason: "the catalog signing key cannot sign") }
        try store(root, db, now: now)
    }

    /// A child's (or an importing site's) check inside the apply's transaction, after the change log's
    /// commit: the stream's root must be signed by one of `keys`, name the version the site is now at, and
    /// vouch for exactly the updates and digest it now holds. `required`: a stream without a root is
    /// refused (a verified hierarchy's parent); otherwise it is taken as it is. A site that signs its own
    /// roots (a disconnected top-level site importing) then signs the version itself.
    static func check(
        _ db: Database, root: CatalogRoot?, keys: [Data], required: Bool, trust: CatalogTrust?, now: Date
    ) throws {
        let (version, updates, digest, _) = try current(db)
        if let root, !keys.isEmpty {
            guard keys.contains(where: root.isSigned(by:)) else {
                throw CatalogRefusal(
                    reason:
                        "its root is signed by key \(root.key), which is not a catalog key this site trusts (\(keys.map(CatalogRoot.keyID).joined(separator: ", ")))"
                )
            }
            guard root.version == version else {
                throw CatalogRefusal(
                    reason: "its root is for catalog version \(root.version), and the stream ends at version \(version)"
                )
            }
            guard root.updates == updates else {
                throw CatalogRefusal(
                    reason: "its root vouches for \(root.updates) updates, and applying it leaves \(updates)")
            }
            guard root.digest == digest else {
                throw CatalogRefusal(
                    reason:
                        "applying it leaves a catalog with digest \(digest), and its root vouches for \(root.digest)")
            }
            try store(root, db, now: now)
        } else if required {
            throw CatalogRefusal(reason: "it carries no signed catalog root")
        } else {
            // Unverified: the root (if any, for this version) is kept to be passed on as it came.
            try db.execute(
                sql: "UPDATE site_state SET catalog_root = ?, verified = NULL, verify_error = NULL WHERE id = 1",
                arguments: [root?.version == version ? root?.json : nil])
        }
        if trust?.signingKey != nil { try seal(db, trust: trust, now: now) }
    }

    private static func current(_ db: Database) throws -> (Int, Int, String, CatalogRoot?) {
        let row = try Row.fetchOne(
            db, sql: "SELECT catalog_version, update_count, catalog_root FROM site_state WHERE id = 1")!
        return (row[0], row[1], try stored(db).text, CatalogRoot.decode(row[2]))
    }

    private static func store(_ root: CatalogRoot, _ db: Database, now: Date) throws {
        try db.execute(
            sql:
                "UPDATE site_state SET catalog_root = ?, verified = 1, verify_error = NULL, verified_at = ? WHERE id = 1",
            arguments: [root.json, RFC3339.format(now)])
    }
}
