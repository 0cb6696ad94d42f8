import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SumsyncModel

/// Gets the upstream catalog to a local file: `file://` as it is, `http(s)://` downloaded (streamed to
/// the state folder) with `If-None-Match`/`If-Modified-Since`, so an unchanged upstream costs one request.
package struct CatalogFetcher {
    package enum Outcome {
        /// HTTP 304: upstream has not changed since the validators we sent.
        case unchanged
        /// The catalog is at `path`; `temporary` files are removed after the sync.
        case file(path: String, temporary: Bool, etag: String?, lastModified: String?)
    }

    let httpClient: HTTPClient
    /// Where a downloaded catalog goes (removed again after the sync, or when the download fails).
    let downloadPath: String
    /// How long the upstream may send nothing before the download fails.
    var idleTimeout: Duration = .seconds(60)

    func fetch(
        _ urlText: String, etag: String?, lastModified: String?, full: Bool, progress: SyncProgress
    ) async throws(SyncError) -> Outcome {
        guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased() else {
            throw SyncError("invalid catalog URL \(urlText)")
        }
        if scheme == "file" {
            let path = url.path
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw SyncError(
                    "cannot read the upstream catalog \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")"
                )
            }
            return .file(path: path, temporary: false, etag: nil, lastModified: nil)
        }
        return try await download(
            urlText, etag: full ? nil : etag, lastModified: full ? nil : lastModified, progress: progress)
    }

    private func download(_ url: String, etag: String?, lastModified: String?, progress: SyncProgress)
        async throws(SyncError)
        -> Outcome
    {
        let answer = try await ResponseDownload.fetch(
            url, to: downloadPath, etag: etag, lastModified: lastModified, acceptGzip: true, httpClient: httpClient,
            idleTimeout: idleTimeout, progress: progress,
            naming: .init(
                subject: "upstream \(url)", fetching: "the upstream catalog \(url)", suffix: "; nothing was applied"))
        switch answer {
        case .notModified: return .unchanged
        case .file(let path, let etag, let lastModified):
            return .file(path: path, temporary: true, etag: etag, lastModified: lastModified)
        }
    }

    /// What went wrong with a request, in words, matched by the error's type (NIO's `IOError` carries
    /// the errno of a failed connect; AsyncHTTPClient gives up on a silent host with `connectTimeout`).
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError, error == .connectTimeout { return "connection timed out" }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused"
            case ETIMEDOUT: return "connection timed out"
            case EHOSTUNREACH, ENETUNREACH: return "host unreachable"
            default: break
            }
        }
        if let tls = describeTLS(error) { return tls }
        return "\(error)"
    }

    /// A failed TLS handshake in words, with BoringSSL's reason last.
    static func describeTLS(_ error: any Error) -> String? {
        let text = "\(error)"
        if error is NIOSSLExtraError, text.contains("hostname") || text.contains("Hostname") {
            return
                "TLS handshake refused: the certificate presented does not name the host of the url (a man in the middle, or another site's certificate) (\(text))"
        }
        guard let ssl = error as? NIOSSLError, case .handshakeFailed(let reason) = ssl else { return nil }
        let detail = "\(reason)"
        if detail.contains("CERTIFICATE_VERIFY_FAILED") {
            return
                "TLS handshake refused: the certificate presented does not chain to the hierarchy CA ([hierarchy] ca-file), is expired or not yet valid, or does not name the host of the url (a man in the middle, or a wrong certificate) (\(detail))"
        }
        if detail.contains("WRONG_VERSION_NUMBER") {
            return "TLS handshake failed: the peer does not speak TLS on this port (is its url http://?) (\(detail))"
        }
        if detail.contains("CERTIFICATE") || detail.contains("ALERT") {
            return "TLS handshake refused by the peer: it did not accept this site's certificate (\(detail))"
        }
        return "TLS handshake failed (\(detail))"
    }
}
