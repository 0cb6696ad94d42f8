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

extension ResponseDownload {
    /// How a download's errors name what was fetched.
    struct Naming: Sendable {
        /// Before "answered HTTP …", "sent nothing …": `upstream https://…`.
        var subject: String
        /// After "cannot fetch": `the upstream catalog https://…`.
        var fetching: String
        /// After every message: `; nothing was applied`.
        var suffix: String = ""
    }

    enum Answer: Sendable {
        /// HTTP 304 to the validators sent.
        case notModified
        /// The body is in the file; the response's validators.
        case file(path: String, etag: String?, lastModified: String?)
    }

    /// The one HTTP download of upstream files: a GET (conditional with `etag`/`lastModified`,
    /// gzip-encoded when `acceptGzip`) streamed to `path`, with the stall watch and a length check. Any
    /// failure removes the partial file.
    static func fetch(
        _ url: String, to path: String, etag: String? = nil, lastModified: String? = nil, acceptGzip: Bool = false,
        httpClient: HTTPClient, idleTimeout: Duration, progress: SyncProgress, naming: Naming
    ) async throws(SyncError) -> Answer {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: SumsyncVersion.userAgent)
        if acceptGzip { request.headers.add(name: "Accept-Encoding", value: "gzip") }
        if let etag { request.headers.add(name: "If-None-Match", value: etag) }
        if let lastModified { request.headers.add(name: "If-Modified-Since", value: lastModified) }
        do {
            let response = try await httpClient.execute(request, timeout: .minutes(30))
            if response.status == .notModified { return .notModified }
            guard response.status == .ok else {
                throw SyncError(
                    "\(naming.subject) answered HTTP \(response.status.code) \(response.status.reasonPhrase)\(naming.suffix)"
                )
            }
            let total = response.headers.first(name: "Content-Length").flatMap(Int.init)
            let limit = idleTimeout
            progress.enter(.fetching, total: total)
            let received = try await write(
                response, to: path, progress: progress, idleTimeout: idleTimeout,
                stalled: {
                    SyncError(
                        "\(naming.subject) sent nothing for \(limit.components.seconds) s ([upstream] timeout)\(naming.suffix)"
                    )
                }
            )
            if let total, received != total {
                throw SyncError("\(naming.subject) sent \(received) of \(total) bytes; the download was cut short")
            }
            return .file(
                path: path, etag: response.headers.first(name: "ETag"),
                lastModified: response.headers.first(name: "Last-Modified"))
        } catch let error as SyncError {
            unlink(path)
            throw error
        } catch {
            unlink(path)
            throw SyncError("cannot fetch \(naming.fetching): \(CatalogFetcher.describe(error))\(naming.suffix)")
        }
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
