import Foundation

/// Checks sockets directly, for clear errors: before the daemon's listeners take them, and before
/// `sumsyncctl` sends a request (a socket nobody accepts on fails at once, not after a connect timeout).
package enum UnixSocketProbe {
    /// Whether something accepts connections on the Unix socket at `path`.
    package static func isListening(_ path: String) -> Bool { connectError(path) == nil }

    /// The errno of connecting to the Unix socket at `path` (`ECONNREFUSED`: nobody accepts; `EACCES`:
    /// not ours to use); nil when the connection was accepted.
    package static func connectError(_ path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return ENAMETOOLONG }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0 ? nil : errno
    }

    /// Tries to bind a TCP socket to `host:port` (with `SO_REUSEADDR`, as the server does); the errno
    /// when that fails, nil when the address is free.
    package static func bindError(host: String, port: Int) -> Int32? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else { return EADDRNOTAVAIL }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        return bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 ? nil : errno
    }
}
