import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

@testable import SumsyncModel
@testable import SumsyncSync

/// Sends site-to-site requests from a test, signed (or deliberately mis-signed) like a site would.
struct SignedClient {
    static let key = Data("0123456789abcdef0123456789abcdef".utf8)

    var key = SignedClient.key
    var site: SiteCode = "CAS"
    /// The site the requests are signed for.
    var receiver: SiteCode = "PR1"
    /// For https sites: the CA to trust and the certificate to present.
    var tls: TLSConfiguration?

    struct Answer {
        var status: Int
        var body: String
    }

    /// Signs `body` for `path` and returns the headers, for tests that alter them.
    func headers(method: String = "POST", path: String, query: String = "", body: Data, now: Date = Date()) -> [(
        String, String
    )] {
        RequestSigner(key: key).headers(
            method: method, path: path, query: query, site: site, receiver: receiver, body: body, now: now)
    }

    func send(
        port: Int, method: HTTPMethod = .POST, path: String, query: String = "", body: Data,
        headers: [(String, String)]?
    )
        async throws -> Answer
    {
        let scheme = tls == nil ? "http" : "https"
        var request = HTTPClientRequest(
            url: "\(scheme)://127.0.0.1:\(port)\(path)\(query.isEmpty ? "" : "?" + query)")
        request.method = method
        request.tlsConfiguration = tls
        for (name, value) in headers ?? [] { request.headers.add(name: name, value: value) }
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let data = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), body: String(buffer: data))
    }

    static func syncRequest(_ id: String = UUID().uuidString) -> Data {
        Data(#"{"origin":"CAS","catalog_version":1,"request_id":"\#(id)"}"#.utf8)
    }
}
