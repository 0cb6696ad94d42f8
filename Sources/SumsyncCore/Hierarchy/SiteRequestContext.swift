import Hummingbird
import Logging
import NIOCore

/// The request context of the site-to-site listener: the peer's address, and the site that signed the
/// request once ``SignatureMiddleware`` has verified it.
public struct SiteRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer, for refusal logs.
    public let peer: String
    /// The verified sending site.
    public var caller: SiteCode?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peer = source.channel.remoteAddress.map { "\($0)" } ?? "unknown"
    }

    /// Signed bodies are small control messages; changes flow in responses, not requests.
    public var maxUploadSize: Int { SignatureMiddleware.maxBodySize }
}
