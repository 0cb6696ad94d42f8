import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import SumsyncFormats
import SumsyncModel

/// Talks to a running `sumsyncd` over its control socket (HTTP over a Unix socket).
public struct ControlClient: Sendable {
    /// The daemon's control socket.
    public let socketPath: String
    /// The site, for messages.
    public let site: String

    public init(socketPath: String, site: String) {
        self.socketPath = socketPath
        self.site = site
    }

    /// Why a control request failed, in one line.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The request URL of `path` on the control socket; a missing socket means no daemon runs.
    private func url(for path: String) throws(Failure) -> URL {
        guard FileManager.default.fileExists(atPath: socketPath) else {
            throw Failure(
                description:
                    "no sumsyncd is running for site \(site): no control socket at \(socketPath) (start it with `systemctl start sumsyncd@\(site)`)"
            )
        }
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else {
            throw Failure(description: "invalid control socket path \(socketPath)")
        }
        if let code = UnixSocketProbe.connectError(socketPath) {
            throw failure(IOError(errnoCode: code, reason: "connect"))
        }
        return url
    }

    /// Why a request to the socket failed, matched by the error's type: NIO's `IOError` carries the
    /// errno of the failed connect; AsyncHTTPClient gives up on a socket nobody accepts on with
    /// `connectTimeout`.
    private func failure(_ error: any Error) -> Failure {
        let errno = (error as? IOError)?.errnoCode
        if errno == ECONNREFUSED || (error as? HTTPClientError) == .connectTimeout {
            return Failure(
                description:
                    "no sumsyncd answers for site \(site) on \(socketPath) (connection refused); is it running? `systemctl status sumsyncd@\(site)`"
            )
        }
        if errno == EACCES || errno == EPERM {
            return Failure(
                description: "permission denied on \(socketPath); run sumsyncctl as root or as the daemon's user")
        }
        return Failure(description: "cannot reach sumsyncd for site \(site) on \(socketPath): \(error)")
    }

    /// Sends one request and returns the status and body.
    public func send(method: HTTPMethod = .GET, path: String, timeout: TimeAmount = .seconds(10)) async throws(Failure)
        -> (status: Int, body: Data)
    {
        let url = try url(for: path)
        do {
            var request = HTTPClientRequest(url: url.absoluteString)
            request.method = method
            request.headers.add(name: "User-Agent", value: SumsyncVersion.userAgent)
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 64 << 20)
            return (Int(response.status.code), Data(buffer: body))
        } catch {
            throw failure(error)
        }
    }
}

extension ControlClient {
    /// Sends one request and calls `body` with each line of the answer as it arrives; a non-2xx answer
    /// throws its error message.
    public func stream(method: HTTPMethod, path: String, _ body: (Data) throws -> Void) async throws(Failure) {
        let url = try url(for: path)
        do {
            var request = HTTPClientRequest(url: url.absoluteString)
            request.method = method
            request.headers.add(name: "User-Agent", value: SumsyncVersion.userAgent)
            let response = try await HTTPClient.shared.execute(request, timeout: .hours(24))
            if response.status.code >= 300 {
                let data = try await response.body.collect(upTo: 1 << 20)
                throw Failure(description: ErrorBody.message(Data(buffer: data)))
            }
            var pending = Data()
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = pending[pending.startIndex..<newline]
                    pending.removeSubrange(pending.startIndex...newline)
                    if !line.isEmpty { try body(Data(line)) }
                }
            }
            if !pending.isEmpty { try body(pending) }
        } catch let error as Failure {
            throw error
        } catch {
            throw Failure(description: "lost the connection to sumsyncd for site \(site): \(error)")
        }
    }
}
