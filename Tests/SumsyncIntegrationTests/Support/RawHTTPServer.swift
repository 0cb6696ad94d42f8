import Foundation

/// A deliberately broken HTTP server on loopback: answers every request with `response` bytes, then
/// closes the connection, or holds it open for `hold` seconds (a stalled upstream). For failures a
/// well-behaved framework cannot produce, like a body cut short.
final class RawHTTPServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let thread: Thread

    init(response: Data, hold: TimeInterval = 0) throws {
        port = TestEnvironment.freePort()
        listener = try TestEnvironment.listen(port: port)
        let fd = listener
        thread = Thread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                var buffer = [UInt8](repeating: 0, count: 65_536)
                _ = recv(client, &buffer, buffer.count, 0)
                response.withUnsafeBytes { _ = send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if hold > 0 { Thread.sleep(forTimeInterval: hold) }
                close(client)
            }
        }
        thread.start()
    }

    var url: String { "http://127.0.0.1:\(port)/catalog.ndjson" }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
