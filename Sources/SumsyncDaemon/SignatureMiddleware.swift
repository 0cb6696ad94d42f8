import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SumsyncModel
import SumsyncSync

/// Refuses any site-to-site request that is not signed with the hierarchy key: unsigned, wrongly
/// signed, tampered, stale (more than five minutes of skew) or replayed requests get 401, an oversized
/// body 413, each logged at warning with the peer's address. The signature is checked before the body
/// is read; the body is then read up to the limit and must match its signed digest.
package struct SignatureMiddleware: RouterMiddleware {
    package typealias Context = SiteRequestContext

    /// The largest request body accepted (sync requests and status reports).
    static let maxBodySize = 1 << 20

    /// The current hierarchy key's signer and site list: a reload that changes them applies at once.
    let current: @Sendable () async -> (signer: RequestSigner?, sites: Set<String>)
    let nonces: NonceCache
    let refused: @Sendable (_ reason: String, _ peer: String, _ site: String?, _ path: String) -> Void
    var now: @Sendable () -> Date = Date.init

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws
        -> Response
    {
        let path = request.uri.path
        let claimedSite = request.headers[values: HTTPField.Name(RequestSigner.Header.site)!].first
        func refuse(_ status: HTTPResponse.Status, _ reason: String) -> HTTPError {
            refused(reason, context.peer, claimedSite, path)
            return HTTPError(status, message: reason)
        }
        func header(_ name: String) -> String? {
            request.headers[values: HTTPField.Name(name)!].first
        }
        guard let site = claimedSite, let timestamp = header(RequestSigner.Header.timestamp),
            let nonce = header(RequestSigner.Header.nonce), let digest = header(RequestSigner.Header.contentSHA256),
            let signature = header(RequestSigner.Header.signature)
        else {
            throw refuse(.unauthorized, "unsigned request: site-to-site requests must be signed with the hierarchy key")
        }
        guard let sent = Int64(timestamp), abs(Int64(now().timeIntervalSince1970) - sent) <= RequestSigner.maxSkew
        else {
            throw refuse(
                .unauthorized,
                "stale request: its timestamp is more than \(RequestSigner.maxSkew) s from this site's clock (check NTP)"
            )
        }
        let (currentSigner, knownSites) = await current()
        guard let signer = currentSigner else {
            throw refuse(
                .unauthorized,
                "this site has no hierarchy key ([hierarchy] key-file); it accepts no site-to-site requests")
        }
        guard
            signer.isValid(
                signature: signature, method: request.method.rawValue, path: path, query: request.uri.query ?? "",
                timestamp: timestamp, nonce: nonce, site: site, contentSHA256: digest
            )
        else {
            throw refuse(.unauthorized, "bad signature: the request was altered or signed with another hierarchy key")
        }
        guard knownSites.contains(site) else {
            throw refuse(.unauthorized, "site \(site) is not in this hierarchy's config")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > Self.maxBodySize {
            throw refuse(.contentTooLarge, "request body of \(length) bytes exceeds the limit of \(Self.maxBodySize)")
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBodySize)
        } catch {
            throw refuse(.contentTooLarge, "request body exceeds the limit of \(Self.maxBodySize) bytes")
        }
        guard RequestSigner.digest(Data(buffer: body)) == digest else {
            throw refuse(.unauthorized, "tampered request: the body does not match its signed digest")
        }
        // Only a request that is otherwise valid uses up its nonce, so a forged copy cannot block the real one.
        guard nonces.insert(nonce, now: Int64(now().timeIntervalSince1970)) else {
            throw refuse(.unauthorized, "replayed request: this nonce was already used")
        }
        request.body = .init(buffer: body)
        var context = context
        context.caller = SiteCode(site)
        return try await next(request, context)
    }
}
