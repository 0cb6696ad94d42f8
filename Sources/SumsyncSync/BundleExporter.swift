import AsyncHTTPClient
import Foundation
import GRDB
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
        let state: (version: Int, floor: Int, fingerprint: String?)
        do {
            state = try store.pool.read { db in
                let row = try Row.fetchOne(db, sql: "SELECT * FROM site_state WHERE id = 1")!
                return (row["catalog_version"], row["change_log_floor"], row["filter_fingerprint"])
            }
        } catch {
            throw BundleError(.cannotExport, "cannot read the site database \(store.path): \(error)")
        }
        if let fingerprint = state.fingerprint, fingerprint != filter.fingerprint {
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
        let source = try await CatalogSource.open(
            url, downloadBeside: output, idleTimeout: idleTimeout, httpClient: httpClient
        )
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
}

/// An upstream catalog as a local file: a `file://` path as it is, an `http(s)://` one downloaded.
package struct CatalogSource {
    let path: String
    let temporary: Bool

    static func open(
        _ url: String, downloadBeside output: String, idleTimeout: Duration, httpClient: HTTPClient
    ) async throws(BundleError) -> CatalogSource {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased() else {
            throw BundleError(.cannotExport, "invalid catalog URL \(url): use file:///PATH, http:// or https://")
        }
        switch scheme {
        case "file":
            return CatalogSource(path: parsed.path, temporary: false)
        case "http", "https":
            let folder = (output as NSString).deletingLastPathComponent
            let path = ((folder.isEmpty ? "." : folder) as NSString)
                .appendingPathComponent(".catalog-\(UUID().uuidString.prefix(8)).download")
            do {
                try await download(url, to: path, idleTimeout: idleTimeout, httpClient: httpClient)
            } catch {
                unlink(path)
                throw error
            }
            return CatalogSource(path: path, temporary: true)
        default:
            throw BundleError(.cannotExport, "invalid catalog URL \(url): use file:///PATH, http:// or https://")
        }
    }

    private static func download(
        _ url: String, to path: String, idleTimeout: Duration, httpClient: HTTPClient
    ) async throws(BundleError) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "sumsync")
        request.headers.add(name: "Accept-Encoding", value: "gzip")
        do {
            let response = try await httpClient.execute(request, timeout: .minutes(30))
            guard response.status == .ok else {
                throw BundleError(
                    .cannotExport, "\(url) answered HTTP \(response.status.code) \(response.status.reasonPhrase)")
            }
            let expected = response.headers.first(name: "Content-Length").flatMap(Int.init)
            let received = try await ResponseDownload.write(
                response, to: path, progress: SyncProgress(), idleTimeout: idleTimeout,
                stalled: { SyncError("\(url) sent nothing for \(idleTimeout.components.seconds) s") }
            )
            if let expected, received != expected {
                throw BundleError(
                    .cannotExport, "\(url) sent \(received) of \(expected) bytes; the download was cut short")
            }
        } catch let error as BundleError {
            throw error
        } catch let error as SyncError {
            throw BundleError(.cannotExport, "cannot fetch the catalog \(url): \(error.message)")
        } catch {
            throw BundleError(.cannotExport, "cannot fetch the catalog \(url): \(CatalogFetcher.describe(error))")
        }
    }

    func remove() {
        if temporary { unlink(path) }
    }
}
