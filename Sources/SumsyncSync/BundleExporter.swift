import AsyncHTTPClient
import Foundation
import NIOCore
import SumsyncFormats
import SumsyncModel
import SumsyncStore

/// Makes signed export bundles (`sumsyncctl export`): from a site database, or straight from an upstream
/// catalog. Memory stays flat whatever the size: records stream from SQLite or the catalog reader through
/// gzip to the file. See docs/bundle-format.md.
public enum BundleExporter {
    /// A bundle of `store`'s updates: full, or with `since` the changes after that catalog version.
    ///
    /// Reads the database in one read transaction, so it works while the daemon runs (a consistent
    /// snapshot) or is stopped. `filter` is the exporting config's `[sync]` filter, recorded in the
    /// manifest; it must be the one the database was last synced with.
    public static func exportSite(
        store: SiteStore, site: SiteCode, since: Int?, filter: UpdateFilter, key: BundleSigningKey, output: String,
        now: Date = Date()
    ) throws(BundleError) -> BundleManifest {
        let state: SiteStore.State
        do {
            state = try store.state()
        } catch {
            throw BundleError(.cannotExport, "cannot read the site database \(store.path): \(error)")
        }
        if let fingerprint = state.filterFingerprint, fingerprint != filter.fingerprint {
            throw BundleError(
                .cannotExport,
                "site \(site)'s database was last synced with another filter than the config's [sync] (\(filter.readable)); sync it first, so that the bundle holds what its manifest says"
            )
        }
        if let since {
            guard since >= 0, since <= state.version else {
                throw BundleError(
                    .cannotExport,
                    "--since \(since): site \(site) is at catalog version \(state.version); give 0 … \(state.version)")
            }
        }
        let writer = try BundleWriter(output: output)
        let header: ChangeFeed.Header
        do {
            header = try ChangeFeed.write(store: store, site: site, since: since ?? 0) { try writer.writeLine($0) }
        } catch let error as BundleError {
            throw error
        } catch let error as ChangeFeed.TooOld {
            throw BundleError(
                .cannotExport,
                "site \(site) no longer keeps the changes since catalog version \(since ?? 0) (its change log starts after \(error.floor)); export a full bundle (without --since)"
            )
        } catch {
            throw BundleError(.cannotExport, "cannot read the site database \(store.path): \(error)")
        }
        let manifest = BundleManifest(
            kind: .site, site: site.rawValue, from: header.from, to: header.to, full: header.full, filter: filter,
            created: RFC3339.format(now), records: header.upserts, removals: header.removals
        )
        return try writer.finish(manifest, key: key)
    }

    /// A bundle of the updates in the upstream catalog at `url` (`file://`, `http://`, `https://`) that
    /// `filter` keeps; `site` is the exporting config's top-level site. Malformed lines fail the export
    /// unless `skipInvalid` (the config's `[upstream] skip-invalid`); an HTTP upstream that sends nothing
    /// for `idleTimeout` (the config's `[upstream] timeout`) fails it.
    public static func exportCatalog(
        url: String, site: SiteCode, filter: UpdateFilter, skipInvalid: Bool, key: BundleSigningKey, output: String,
        idleTimeout: Duration = .seconds(60), httpClient: HTTPClient = .shared, now: Date = Date()
    ) async throws(BundleError) -> BundleManifest {
        let source = try await fetchCatalog(url, beside: output, idleTimeout: idleTimeout, httpClient: httpClient)
        defer { source.remove() }
        let writer = try BundleWriter(output: output)
        var lines = 0
        var kept = 0
        var skipped = 0
        do {
            let reader = try CatalogLineReader(path: source.path)
            let refused = { (error: CatalogError) throws in
                guard skipInvalid else {
                    throw BundleError(
                        .cannotExport,
                        "malformed catalog \(url): \(error) (set [upstream] skip-invalid = true to skip bad lines)")
                }
                lines += 1
                skipped += 1
            }
            try reader.forEachLine(onInvalidLine: refused) { number, bytes in
                lines += 1
                let record: CatalogRecord
                do {
                    record = try CatalogRecordParser.parse(bytes, line: number)
                } catch {
                    guard skipInvalid else {
                        throw BundleError(
                            .cannotExport,
                            "malformed catalog \(url): \(error) (set [upstream] skip-invalid = true to skip bad lines)")
                    }
                    skipped += 1
                    return
                }
                guard
                    filter.keeps(
                        product: record.product, classification: record.classification, languages: record.languages)
                else { return }
                kept += 1
                try writer.writeLine(record.jsonLine())
            }
        } catch let error as BundleError {
            throw error
        } catch {
            throw BundleError(.cannotExport, "cannot read the catalog \(url): \(error)")
        }
        guard lines > 0 else { throw BundleError(.cannotExport, "the catalog \(url) is empty; nothing to export") }
        guard kept > 0 else {
            throw BundleError(
                .cannotExport,
                "the [sync] filter (\(filter.readable)) keeps none of the \(lines - skipped) updates in \(url); importing that would remove everything"
            )
        }
        let manifest = BundleManifest(
            kind: .catalog, site: site.rawValue, catalog: url, from: 0, to: 0, full: true, filter: filter,
            created: RFC3339.format(now), records: kept
        )
        return try writer.finish(manifest, key: key)
    }

    /// The catalog at `url` as a local file: where it lies for `file://`, else downloaded beside `output`
    /// by the one catalog downloader a sync uses too.
    private static func fetchCatalog(
        _ url: String, beside output: String, idleTimeout: Duration, httpClient: HTTPClient
    ) async throws(BundleError) -> UpstreamSnapshot {
        guard let scheme = URL(string: url)?.scheme?.lowercased(), ["file", "http", "https"].contains(scheme) else {
            throw BundleError(.cannotExport, "invalid catalog URL \(url): use file:///PATH, http:// or https://")
        }
        let folder = (output as NSString).deletingLastPathComponent
        let download = ((folder.isEmpty ? "." : folder) as NSString)
            .appendingPathComponent(".catalog-\(UUID().uuidString.prefix(8)).download")
        let source = CatalogUpstream(
            url: url, httpClient: httpClient, downloadPath: download, idleTimeout: idleTimeout)
        do throws(SyncError) {
            guard
                case .snapshot(let snapshot) = try await source.fetch(
                    since: UpstreamState(), full: true, progress: SyncProgress())
            else {
                throw SyncError("\(url) answered 304 Not Modified to an unconditional request")
            }
            return snapshot
        } catch {
            throw BundleError(.cannotExport, "cannot fetch the catalog \(url): \(error.message)")
        }
    }
}
