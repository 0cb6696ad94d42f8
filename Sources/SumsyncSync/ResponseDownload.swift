import AsyncHTTPClient
import Foundation
import NIOCore
import SumsyncModel
import Synchronization

/// Streams an HTTP response body to a private file with bounded memory, reporting progress, honouring
/// a stop request, and failing when the peer sends nothing for `idleTimeout` (a stalled connection).
package enum ResponseDownload {
    /// Writes the body to `path` (replacing it, mode 0600); returns the bytes received.
    /// - Parameter stalled: the error for a peer that went quiet.
    static func write(
        _ response: HTTPClientResponse, to path: String, progress: SyncProgress, idleTimeout: Duration,
        stalled: @escaping @Sendable () -> SyncError
    ) async throws -> Int {
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SyncError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let activity = Activity()
        return try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask {
                var received = 0
                for try await chunk in response.body {
                    if progress.isStopRequested { throw SyncError.cancelled }
                    try chunk.withUnsafeReadableBytes { buffer in
                        var offset = 0
                        while offset < buffer.count {
                            let written = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                            if written < 0 {
                                throw SyncError("cannot write \(path): \(String(cString: strerror(errno)))")
                            }
                            offset += written
                        }
                    }
                    received += chunk.readableBytes
                    activity.touch()
                    progress.advance(to: received)
                }
                return received
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: .milliseconds(250))
                    if activity.idle > idleTimeout { throw stalled() }
                }
            }
            defer { group.cancelAll() }
            return try await group.next() ?? 0
        } ?? 0
    }
}

/// When bytes last arrived, shared between a download and its stall watch.
private final class Activity: Sendable {
    private let last = Atomic<Int64>(Activity.now())

    func touch() { last.store(Self.now(), ordering: .relaxed) }

    var idle: Duration { .nanoseconds(Self.now() - last.load(ordering: .relaxed)) }

    private static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
