import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import SumsyncFormats
import SumsyncModel

/// Signed site-to-site requests from this site to its parent or children.
package struct SiteClient: Sendable {
    let httpClient: HTTPClient
    let signer: RequestSigner
    let site: SiteCode
    /// The TLS configuration for `https://` sites: the hierarchy CA and this site's certificate. Nil when
    /// no site uses https.
    let tls: TLSConfiguration?

    struct Failure: Error, CustomStringConvertible {
        let description: String
        /// The HTTP status, when the peer answered.
        var status: Int?
    }

    /// Sends a request signed for `receiver` to its `url`; returns the response for the caller to read.
    func send(
        _ method: HTTPMethod, to receiver: SiteConfig, path: String, query: String = "", body: Data = Data(),
        timeout: TimeAmount = .seconds(30)
    ) async throws(Failure) -> HTTPClientResponse {
        let base = receiver.url
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        var request = HTTPClientRequest(url: trimmed + path + (query.isEmpty ? "" : "?" + query))
        request.method = method
        request.headers.add(name: "User-Agent", value: SumsyncVersion.userAgent)
        if receiver.usesTLS {
            guard let tls else {
                throw Failure(description: "cannot reach \(trimmed): https needs [hierarchy] ca-file")
            }
            request.tlsConfiguration = tls
        }
        for (name, value) in signer.headers(
            method: method.rawValue, path: path, query: query, site: site, receiver: receiver.code, body: body)
        {
            request.headers.add(name: name, value: value)
        }
        if !body.isEmpty {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        do {
            return try await httpClient.execute(request, timeout: timeout)
        } catch {
            throw Failure(description: "cannot reach \(trimmed): \(CatalogFetcher.describe(error))")
        }
    }

    /// Sends a signed JSON request and expects a 2xx answer; returns its body.
    func sendJSON(_ method: HTTPMethod, to receiver: SiteConfig, path: String, body: some Encodable)
        async throws(Failure) -> Data
    {
        let base = receiver.url
        let data: Data
        do {
            data = try JSONEncoder().encode(body)
        } catch {
            throw Failure(description: "cannot encode the request: \(error)")
        }
        let response = try await send(method, to: receiver, path: path, body: data)
        let answer: Data
        do {
            answer = Data(buffer: try await response.body.collect(upTo: 1 << 20))
        } catch {
            throw Failure(description: "lost the answer from \(base): \(error)", status: Int(response.status.code))
        }
        guard (200..<300).contains(response.status.code) else {
            throw Failure(
                description: "\(base) answered HTTP \(response.status.code): \(ErrorBody.message(answer))",
                status: Int(response.status.code)
            )
        }
        return answer
    }

    package init(httpClient: HTTPClient, signer: RequestSigner, site: SiteCode, tls: TLSConfiguration?) {
        self.httpClient = httpClient
        self.signer = signer
        self.site = site
        self.tls = tls
    }
}
