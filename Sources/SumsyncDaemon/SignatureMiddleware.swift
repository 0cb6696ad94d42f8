import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOSSL
import SumsyncModel
import SumsyncSync
import SumsyncTLS

/// Refuses any site-to-site request that is not from the site it claims to be, signed for this site:
/// over TLS, a client certificate bound to another site than `X-Sumsync-Site` gets 403 (and, with
/// `require-tls`, so does a missing one); unsigned, wrongly signed, tampered, signed for another site,
/// stale (more than five minutes of skew), signed before this daemon started, or replayed requests get
/// 401, an oversized body 413, each logged at warning with the peer's address. The signature is checked
/// before the body is read; the body is then read up to the limit and must match its signed digest.
package struct SignatureMiddleware: RouterMiddleware {
    package typealias Context = SiteRequestContext

    /// The largest request body accepted (sync requests and status reports).
    static let maxBodySize = 1 << 20

    /// What a request is checked against; a reload that changes it applies at once.
    package struct Policy: Sendable {
        var signer: RequestSigner?
        var sites: Set<String>
        /// This site: requests must be signed for it.
        var receiver: String
        var requireTLS: Bool
    }

    let current: @Sendable () async -> Policy
    let nonces: NonceCache
    /// The daemon's start (Unix seconds): a request signed before it is refused, so that none accepted by
    /// an earlier run of the daemon is accepted again (seen nonces are kept in memory only).
    let startedAt: Int64
    let refused: @Sendable (_ reason: String, _ peer: String, _ site: String?, _ path: String) -> Void
    /// A TLS client certificate that names another site than the request claims.
    let impostor: @Sendable (_ peer: String, _ certificateSite: String, _ claimed: String, _ path: String) -> Void
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
        let policy = await current()
        if let refusal = await certificateRefusal(
            site: site, path: path, context: context, requireTLS: policy.requireTLS)
        {
            throw refusal
        }
        guard let sent = RequestSigner.signedTime(timestamp, now: Int64(now().timeIntervalSince1970)) else {
            throw refuse(
                .unauthorized,
                "stale request: its timestamp is more than \(RequestSigner.maxSkew) s from this site's clock (check NTP)"
            )
        }
        guard sent >= startedAt else {
            throw refuse(
                .unauthorized,
                "request signed before this site's daemon started: one accepted before a restart is not accepted again (the sender retries with a new signature; if its clock is behind, check NTP)"
            )
        }
        let knownSites = policy.sites
        guard let signer = policy.signer else {
            throw refuse(
                .unauthorized,
                "this site has no hierarchy key ([hierarchy] key-file); it accepts no site-to-site requests")
        }
        guard
            signer.isValid(
                signature: signature, method: request.method.rawValue, path: path, query: request.uri.query ?? "",
                timestamp: timestamp, nonce: nonce, site: site, receiver: policy.receiver, contentSHA256: digest
            )
        else {
            throw refuse(
                .unauthorized,
                "bad signature: the request was altered, signed for another site than \(policy.receiver), or signed with another hierarchy key"
            )
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

    /// Over TLS, the client certificate must be bound to the claimed site (403 otherwise); a request
    /// without one is refused too when every link must be TLS.
    private func certificateRefusal(site: String, path: String, context: Context, requireTLS: Bool) async -> HTTPError?
    {
        let peerCertificate: NIOSSLCertificate?
        do {
            peerCertificate = try await context.channel.nioSSL_peerCertificate().get()
        } catch {
            // No TLS handler: a plain-http listener (config allows it only without require-tls).
            return nil
        }
        guard let certificate = peerCertificate else {
            guard requireTLS else { return nil }
            let reason =
                "no client certificate: with require-tls every site presents its certificate (site.crt, or CODE.crt in tls-dir)"
            refused(reason, context.peer, site, path)
            return HTTPError(.forbidden, message: reason)
        }
        let bound = (try? certificate.toDERBytes()).flatMap(SiteIdentity.siteCode(derEncoded:))
        guard bound?.rawValue == site else {
            let holder = bound?.rawValue ?? "none"
            impostor(context.peer, holder, site, path)
            return HTTPError(
                .forbidden,
                message: "the client certificate is that of site \(holder), but the request claims to come from \(site)"
            )
        }
        return nil
    }
}
