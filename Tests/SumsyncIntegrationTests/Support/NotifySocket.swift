import Foundation

/// A test-owned `NOTIFY_SOCKET`: an `AF_UNIX` datagram socket bound in a scratch folder.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private(set) var received: [String] = []

    init(folder: URL) throws {
        path = folder.appendingPathComponent("notify.sock").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw TestFailure("cannot bind notify socket: \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// The next datagram, or nil after `timeout`.
    func next(timeout: Duration = .seconds(15)) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(
            timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&poller, 1, milliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        let message = String(decoding: buffer[0..<count], as: UTF8.self)
        received.append(message)
        return message
    }

    /// Reads datagrams until one contains `assignment` (e.g. `READY=1`); returns it.
    func waitFor(_ assignment: String, timeout: Duration = .seconds(15)) throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let message = next(timeout: deadline - ContinuousClock.now),
                message.split(separator: "\n").contains(where: { $0 == assignment || $0.hasPrefix(assignment) })
            {
                return message
            }
        }
        throw TestFailure("no \(assignment) on the notify socket within \(timeout); got \(received)")
    }
}
