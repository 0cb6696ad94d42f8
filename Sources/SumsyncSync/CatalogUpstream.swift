import AsyncHTTPClient
import SumsyncModel

/// The NDJSON catalog (`[upstream] catalog`, docs/catalog-format.md) as an upstream source: a
/// `file://` catalog read where it lies, an `http(s)://` one downloaded with a conditional request.
package struct CatalogUpstream: UpstreamSource {
    package let name = "catalog"
    /// The catalog's URL.
    package var url: String
    let fetcher: CatalogFetcher

    /// A source for the catalog at `url`, downloaded to `downloadPath`; an upstream that sends nothing
    /// for `idleTimeout` fails.
    package init(url: String, httpClient: HTTPClient, downloadPath: String, idleTimeout: Duration) {
        self.url = url
        var fetcher = CatalogFetcher(httpClient: httpClient, downloadPath: downloadPath)
        fetcher.idleTimeout = idleTimeout
        self.fetcher = fetcher
    }

    package func fetch(since state: UpstreamState, full: Bool, progress: SyncProgress) async throws(SyncError)
        -> UpstreamFetch
    {
        switch try await fetcher.fetch(
            url, etag: state.etag, lastModified: state.lastModified, full: full, progress: progress)
        {
        case .unchanged:
            return .unchanged
        case .file(let path, let temporary, let etag, let lastModified):
            return .snapshot(
                UpstreamSnapshot(
                    path: path, temporary: temporary, name: url,
                    state: UpstreamState(etag: etag, lastModified: lastModified)))
        }
    }
}
