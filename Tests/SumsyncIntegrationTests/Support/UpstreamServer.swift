import Foundation
import Hummingbird
import NIOCore
import Synchronization
import Testing

/// A real HTTP upstream on loopback for sync tests: serves a catalog with an ETag (answering 304 to a
/// matching `If-None-Match`), optionally gzip-encoded, or a chosen failure; counts requests and keeps their
/// `User-Agent`s.
final class UpstreamServer: Sendable {
    enum Mode: Sendable {
        case catalog
        case gzip
        case status(Int)
    }

    private struct State {
        var body = Data()
        var etag = "\"v1\""
        var mode = Mode.catalog
        var requests = 0
        var conditionalRequests = 0
        var userAgents: [String] = []
    }

    private final class Box: Sendable { let mutex = Mutex(State()) }
    private let box = Box()
    let port: Int
    private let task: Task<Void, any Error>

    init() async throws {
        let port = TestEnvironment.freePort()
        self.port = port
        let box = self.box
        let router = Router()
        router.get("/catalog.ndjson") { request, _ -> Response in
            let (body, etag, mode, notModified) = box.mutex.withLock { state in
                state.requests += 1
                state.userAgents.append(request.headers[.userAgent] ?? "")
                let sent = request.headers[.ifNoneMatch]
                if sent != nil { state.conditionalRequests += 1 }
                return (state.body, state.etag, state.mode, sent == state.etag)
            }
            switch mode {
            case .status(let code):
                return Response(
                    status: .init(code: code), body: ResponseBody(byteBuffer: ByteBuffer(string: "upstream trouble\n")))
            case .catalog, .gzip:
                if notModified { return Response(status: .notModified, headers: [.eTag: etag]) }
                var headers: HTTPFields = [.eTag: etag, .contentType: "application/x-ndjson"]
                if case .gzip = mode { headers[.contentEncoding] = "gzip" }
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
            }
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        task = Task { try await app.runService() }
        try await waitUntil("the upstream test server") { TestEnvironment.isListening(port: port) }
    }

    var url: String { "http://127.0.0.1:\(port)/catalog.ndjson" }

    func serve(_ body: Data, etag: String, mode: Mode = .catalog) {
        box.mutex.withLock {
            $0.body = body
            $0.etag = etag
            $0.mode = mode
        }
    }

    var requests: Int { box.mutex.withLock { $0.requests } }
    var conditionalRequests: Int { box.mutex.withLock { $0.conditionalRequests } }
    /// The `User-Agent` of each request, in order (empty when there was none).
    var userAgents: [String] { box.mutex.withLock { $0.userAgents } }

    func stop() { task.cancel() }
}
