import Foundation
import Hummingbird
import NIOCore
import SumsyncModel

/// The request context of the control socket: keeps the connection's channel, so the peer's uid can be
/// read with `SO_PEERCRED`.
package struct ControlRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    let channel: any Channel

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// The kernel's `struct ucred`, as `SO_PEERCRED` returns it.
package struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// Refuses control requests from any uid but the daemon's own and root's.
package struct PeerCredentialsMiddleware: RouterMiddleware {
    package typealias Context = ControlRequestContext
    let site: SiteCode

    package func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let provider = context.channel as? any SocketOptionProvider else {
            throw HTTPError(.forbidden, message: "cannot verify the caller's uid")
        }
        let credentials: PeerCredentials = try await provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)
        ).get()
        let own = getuid()
        guard credentials.uid == own || credentials.uid == 0 else {
            context.logger.warning(
                "Refused a control request from another user",
                metadata: ["peer.uid": "\(credentials.uid)", "peer.pid": "\(credentials.pid)"]
            )
            throw HTTPError(
                .forbidden,
                message:
                    "permission denied: uid \(credentials.uid) may not control sumsyncd for site \(site) (it runs as uid \(own)); run sumsyncctl as root or as that user"
            )
        }
        return try await next(request, context)
    }
}
