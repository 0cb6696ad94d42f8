import Foundation
import SumsyncModel

/// What a bundle holds, signed with Ed25519 by the exporter (docs/bundle-format.md). The payload's size
/// and SHA-256 are in it, so the one signature covers the payload too.
public struct BundleManifest: Codable, Sendable, Equatable {
    /// Where the records came from, which decides how an import applies them.
    public enum Kind: String, Codable, Sendable {
        /// A site database: the importing site mirrors the source site, versions included.
        case site
        /// An upstream catalog, filtered: the import is a catalog sync from that snapshot.
        case catalog
    }

    /// The format version this sumsync writes and reads.
    public static let currentFormat = 1

    /// The bundle format version (also on the file's first line).
    public var format = BundleManifest.currentFormat
    /// `site` or `catalog`.
    public var kind: Kind
    /// The exporting site's code (for a catalog bundle, the top-level site of the exporting config).
    public var site: String
    /// A catalog bundle's source URL; nil for a site bundle.
    public var catalog: String?
    /// The catalog version the payload starts from: 0 for a full bundle.
    public var from: Int
    /// The source site's catalog version the payload brings the importer to (0 for a catalog bundle,
    /// which has no version of its own).
    public var to: Int
    /// A full snapshot (the importer removes what it does not list) rather than a delta.
    public var full: Bool
    /// The `[sync]` filter the records were selected with.
    public var filter: UpdateFilter
    /// When the bundle was made, RFC 3339 UTC.
    public var created: String
    /// Update records in the payload.
    public var records: Int
    /// Removed ids in the payload (always 0 in a full bundle).
    public var removals: Int
    /// The payload's length in bytes (compressed, as stored in the file).
    public var payloadSize: Int
    /// Hex SHA-256 of the payload bytes as stored in the file.
    public var payloadSHA256: String
    /// The signing key's id (``BundlePublicKey/keyID``).
    public var keyID: String

    /// A manifest; the exporter fills in the payload's size and digest and the key id when it signs.
    public init(
        kind: Kind, site: String, catalog: String? = nil, from: Int, to: Int, full: Bool, filter: UpdateFilter,
        created: String, records: Int = 0, removals: Int = 0, payloadSize: Int = 0, payloadSHA256: String = "",
        keyID: String = ""
    ) {
        self.kind = kind
        self.site = site
        self.catalog = catalog
        self.from = from
        self.to = to
        self.full = full
        self.filter = filter
        self.created = created
        self.records = records
        self.removals = removals
        self.payloadSize = payloadSize
        self.payloadSHA256 = payloadSHA256
        self.keyID = keyID
    }

    enum CodingKeys: String, CodingKey {
        case format, kind, site, catalog, from, to, full, filter, created, records, removals
        case payloadSize = "payload_size"
        case payloadSHA256 = "payload_sha256"
        case keyID = "key_id"
    }

    /// One line of JSON, keys sorted: the exact bytes the signature covers.
    package func encoded() throws(BundleError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(self)
        } catch {
            throw BundleError(.cannotWrite, "cannot encode the manifest: \(error)")
        }
    }

    /// `full bundle of site CAS up to catalog version 42 (500000 updates)`, for messages.
    public var summary: String {
        switch kind {
        case .catalog:
            return "catalog bundle from \(catalog ?? "?") (\(records) updates)"
        case .site where full:
            return "full bundle of site \(site) at catalog version \(to) (\(records) updates)"
        case .site:
            return
                "delta bundle of site \(site) from catalog version \(from) to \(to) (\(records) updates, \(removals) removals)"
        }
    }
}

extension UpdateFilter {
    /// `products=Windows 11; classifications=all; languages=en, de`, for messages.
    package var readable: String {
        func list(_ values: [String]) -> String { values.isEmpty ? "all" : values.sorted().joined(separator: ", ") }
        return "products=\(list(products)); classifications=\(list(classifications)); languages=\(list(languages))"
    }
}
