import Hummingbird
import Logging
import NIOCore
import SumsyncModel

/// The request context of the site-to-site listener: the peer's address, and the site that signed the
/// request once ``SignatureMiddleware`` has verified it.
public struct SiteRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer, for refusal logs.
    public let peer: String
    /// The verified sending site.
    public var caller: SiteCode?
    /// The connection, for the TLS peer's certificate.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
        self.peer = Self.peerText(source.channel.remoteAddress)
    }

    /// Signed bodies are small control messages; changes flow in responses, not requests.
    public var maxUploadSize: Int { SignatureMiddleware.maxBodySize }

    /// A TCP peer as logs show it: `IP:PORT`, `[IPv6]:PORT`, or `unknown`.
    static func peerText(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress else { return "unknown" }
        return address.protocol == .inet6 ? "[\(ip)]:\(address.port ?? 0)" : "\(ip):\(address.port ?? 0)"
    }
}
