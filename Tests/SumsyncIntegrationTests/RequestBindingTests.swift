import Foundation
import Testing

/// Issue 14's findings with the shared key: a request signed for one site is refused by another, a
/// request accepted before a restart is refused after it, and idle connections cannot lock a site out.
@Suite("requests bound to receiver and time; bounded connections", .serialized)
struct RequestBindingTests {
    @Test("a request signed for PR1 is refused by PR2; one accepted by PR1 is refused again after PR1 restarts")
    func receiverAndRestart() async throws {
        let tree = try HierarchyFixture(label: "bind", codes: [("CAS", nil), ("PR1", "CAS"), ("PR2", "CAS")])
        try tree.writeCatalog((1...3).map { catalogLine($0) })
        let pr1 = try await tree.start("PR1")
        try await tree.start("PR2")
        let path = "/v1/sync-requests"
        let body = SignedClient.syncRequest()
        let client = SignedClient(site: "CAS", receiver: "PR1")
        let headers = client.headers(path: path, body: body)
        var answer = try await client.send(port: tree.hierarchy.port("PR2"), path: path, body: body, headers: headers)
        #expect(answer.status == 401 && answer.body.contains("signed for another site than PR2"), "\(answer.body)")
        answer = try await client.send(port: tree.hierarchy.port("PR1"), path: path, body: body, headers: headers)
        #expect(answer.status == 202, "\(answer.body)")

        try await Task.sleep(for: .milliseconds(1_100))
        pr1.stop()
        _ = try await pr1.waitForExit()
        let restarted = try await tree.start("PR1")
        answer = try await client.send(port: tree.hierarchy.port("PR1"), path: path, body: body, headers: headers)
        #expect(
            answer.status == 401 && answer.body.contains("signed before this site's daemon started"), "\(answer.body)")
        #expect(restarted.log.contains("Refused a site-to-site request from 127.0.0.1"))
        // A fresh signature is accepted.
        answer = try await client.send(
            port: tree.hierarchy.port("PR1"), path: path, body: body, headers: client.headers(path: path, body: body))
        #expect(answer.status == 202, "\(answer.body)")
    }

    @Test("1,100 idle connections to a daemon under `ulimit -n 1024`: /v1/health keeps answering")
    func idleConnections() async throws {
        let tree = try HierarchyFixture(label: "idle", codes: [("CAS", nil)])
        try tree.writeCatalog([catalogLine(1)])
        // The daemon inherits a soft limit of 1024 open files; the test itself needs more for its 1,100.
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        let saved = limit
        limit.rlim_cur = 1024
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        let daemon: DaemonProcess
        do {
            daemon = try await tree.start("CAS", wait: false)
        }
        limit.rlim_cur = max(saved.rlim_cur, 4096)
        if limit.rlim_max < limit.rlim_cur { limit.rlim_max = limit.rlim_cur }
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        defer {
            var restore = saved
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &restore)
        }
        try await daemon.waitUntilReady()
        let limits = try String(contentsOfFile: "/proc/\(daemon.pid)/limits", encoding: .utf8)
        #expect(
            limits.split(separator: "\n").contains { $0.hasPrefix("Max open files") && $0.contains(" 1024 ") },
            "\(limits)")
        let port = tree.hierarchy.port("CAS")
        var sockets: [Int32] = []
        defer { for socket in sockets { close(socket) } }
        for _ in 0..<1_100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { break }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            sockets.append(fd)
        }
        #expect(sockets.count == 1_100)
        try await Task.sleep(for: .seconds(2))
        var answered = 0
        for _ in 0..<3 {
            let probe = try CLI.exec(
                "/usr/bin/curl", ["-s", "--max-time", "3", "http://127.0.0.1:\(port)/v1/health"])
            if probe.stdout.contains(#""status":"ok""#) { answered += 1 }
        }
        #expect(answered == 3, "health answered \(answered) of 3 probes with 1,100 idle connections open")
        #expect(daemon.isRunning)
        #expect(daemon.log.contains("at its limit of 512 connections"), "\(daemon.log.suffix(2_000))")
    }
}
