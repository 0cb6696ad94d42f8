import Foundation
import Testing

/// The daemon's contract with the service manager and the admin: readiness, status, reload, stop, errors.
@Suite("sumsyncd lifecycle", .serialized)
struct DaemonLifecycleTests {
    @Test("READY=1 only once listening; STATUS=; SIGHUP reloads with MONOTONIC_USEC; SIGTERM stops cleanly")
    func notifyProtocol() async throws {
        let folder = TestEnvironment.scratch("notify")
        defer { try? FileManager.default.removeItem(at: folder) }
        let hierarchy = TestHierarchy(folder: folder, codes: [("CAS", nil)])
        let config = try hierarchy.write()
        let notify = try NotifySocket(folder: folder)
        let daemon = try DaemonProcess(
            config: config, site: "CAS", folder: folder, environment: ["NOTIFY_SOCKET": notify.path])
        defer { daemon.stop() }

        let ready = try notify.waitFor("READY=1")
        // At READY=1 both listeners must already accept connections.
        #expect(TestEnvironment.isListening(port: hierarchy.port("CAS")))
        #expect(
            FileManager.default.fileExists(atPath: daemon.runtimeDirectory.appendingPathComponent("control.sock").path))
        let status = ready.split(separator: "\n").first { $0.hasPrefix("STATUS=") }
        #expect(status == "STATUS=Idle. Catalog v0. No schedule.")
        #expect(!notify.received.dropLast().contains { $0.contains("READY=1") })

        daemon.signal(SIGHUP)
        let reloading = try notify.waitFor("RELOADING=1")
        let monotonic = reloading.split(separator: "\n").first { $0.hasPrefix("MONOTONIC_USEC=") }
        let usec = monotonic.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) }
        #expect(usec != nil && usec! > 0, "RELOADING=1 must carry MONOTONIC_USEC: \(reloading)")
        _ = try notify.waitFor("READY=1")

        daemon.signal(SIGTERM)
        _ = try notify.waitFor("STOPPING=1")
        let status2 = try await daemon.waitForExit(timeout: .seconds(10))
        #expect(status2 == 0, "exit status after SIGTERM; log:\n\(daemon.log)")
    }

    @Test("a broken config on SIGHUP keeps the daemon running on the old one, logged at error")
    func reloadWithBrokenConfig() async throws {
        let folder = TestEnvironment.scratch("reload")
        defer { try? FileManager.default.removeItem(at: folder) }
        let hierarchy = TestHierarchy(folder: folder, codes: [("CAS", nil)])
        let config = try hierarchy.write()
        let notify = try NotifySocket(folder: folder)
        let daemon = try DaemonProcess(
            config: config, site: "CAS", folder: folder, environment: ["NOTIFY_SOCKET": notify.path])
        defer { daemon.stop() }
        _ = try notify.waitFor("READY=1")

        try "[sync]\nretry-interval = \"soon\"\n[[site]]\ncode = \"CAS\"\nurl = \"http://127.0.0.1:1\"\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        _ = try notify.waitFor("RELOADING=1")
        _ = try notify.waitFor("READY=1")
        try await waitUntil("the rejection in the log") { daemon.log.contains("Configuration rejected") }
        #expect(daemon.log.contains("error [CAS] Configuration rejected"))
        #expect(daemon.log.contains("sync.retry-interval: 'soon' is not a time span"))
        #expect(daemon.isRunning)
        // Still serving on the old config's port.
        #expect(TestEnvironment.isListening(port: hierarchy.port("CAS")))
        let ping = try CLI.run(["ping"] + daemon.ctlOptions)
        #expect(ping.status == 0, "\(ping.stderr)")
    }

    @Test("a reload that would make the running top-level site a child is refused: restart needed, logged")
    func reloadThatChangesTheRoleIsRefused() async throws {
        let folder = TestEnvironment.scratch("reload-role")
        defer { try? FileManager.default.removeItem(at: folder) }
        var hierarchy = TestHierarchy(folder: folder, codes: [("CAS", nil)])
        let config = try hierarchy.write()
        let notify = try NotifySocket(folder: folder)
        let daemon = try DaemonProcess(
            config: config, site: "CAS", folder: folder, environment: ["NOTIFY_SOCKET": notify.path])
        defer { daemon.stop() }
        _ = try notify.waitFor("READY=1")

        // A new top-level site above CAS: valid as a file, but CAS would turn from the top into a child.
        hierarchy.sites.insert(TestHierarchy.Site(code: "NEW", parent: nil, port: TestEnvironment.freePort()), at: 0)
        hierarchy.sites[1].parent = "NEW"
        _ = try hierarchy.write()
        daemon.signal(SIGHUP)
        _ = try notify.waitFor("RELOADING=1")
        try await waitUntil("the rejection in the log") { daemon.log.contains("Configuration rejected") }
        #expect(daemon.log.contains("site CAS would change from the top-level site to a child of NEW"))
        #expect(daemon.log.contains("restart it to apply"))
        #expect(daemon.isRunning)
        let status = try CLI.run(["status", "--json"] + daemon.ctlOptions)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(!status.stdout.contains("\"NEW\""), "still the top-level site of the old config: \(status.stdout)")
    }

    @Test("a config error at start: one clear line, STATUS= and ERRNO=, exit 78")
    func configErrorAtStart() async throws {
        let folder = TestEnvironment.scratch("badstart")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("hierarchy.toml").path
        try "[[site]]\ncode = \"CAS\"\nurl = \"http://127.0.0.1:8531\"\nparnet = \"X\"\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        let notify = try NotifySocket(folder: folder)
        let daemon = try DaemonProcess(
            config: config, site: "CAS", folder: folder, environment: ["NOTIFY_SOCKET": notify.path])
        defer { daemon.stop() }
        let status = try await daemon.waitForExit()
        #expect(status == 78)
        #expect(daemon.log.contains("site[1].parnet: unknown key"))
        let message = try notify.waitFor("ERRNO=")
        #expect(message.contains("STATUS=Failed: invalid config"))
    }

    @Test("a site the config does not list, and a port in use: one clear line, non-zero exit")
    func unknownSiteAndPortInUse() async throws {
        let folder = TestEnvironment.scratch("ports")
        defer { try? FileManager.default.removeItem(at: folder) }
        let hierarchy = TestHierarchy(folder: folder, codes: [("CAS", nil), ("PR1", "CAS")])
        let config = try hierarchy.write()

        let unknown = try DaemonProcess(config: config, site: "XYZ", folder: folder)
        #expect(try await unknown.waitForExit() == 78)
        #expect(unknown.log.contains("site XYZ is not in \(config) (it lists CAS, PR1)"))

        // Something else holds PR1's port.
        let blocker = try TestEnvironment.listen(port: hierarchy.port("PR1"))
        defer { close(blocker) }
        let blocked = try DaemonProcess(config: config, site: "PR1", folder: folder)
        #expect(try await blocked.waitForExit() == 1)
        #expect(
            blocked.log.contains(
                "cannot listen on http://127.0.0.1:\(hierarchy.port("PR1")) for site PR1: address already in use"))

        // A second daemon for the same site is refused before it touches anything.
        let first = try DaemonProcess(config: config, site: "CAS", folder: folder)
        defer { first.stop() }
        try await first.waitUntilReady()
        let second = try DaemonProcess(config: config, site: "CAS", folder: folder)
        #expect(try await second.waitForExit() == 1)
        #expect(second.log.contains("another sumsyncd already serves site CAS"))
        #expect(first.isRunning)
    }

    @Test("sumsyncctl ping without a daemon: exit 1 with a clear message")
    func pingWithoutDaemon() throws {
        let folder = TestEnvironment.scratch("noping")
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try CLI.run(["ping", "--site", "CAS", "--runtime-dir", folder.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no sumsyncd is running for site CAS"))
    }

    @Test("sumsyncctl ping at a stale control socket nobody accepts on: exit 1, 'connection refused'")
    func pingAtAStaleSocket() throws {
        let folder = TestEnvironment.scratch("staleping")
        defer { try? FileManager.default.removeItem(at: folder) }
        // A socket file that was bound and never listened on, as a killed daemon can leave one.
        let path = folder.appendingPathComponent("control.sock").path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8.prefix(raw.count - 1)) + [0])
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        #expect(bound == 0)
        let result = try CLI.run(["ping", "--site", "CAS", "--runtime-dir", folder.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no sumsyncd answers for site CAS"), "\(result.stderr)")
        #expect(result.stderr.contains("(connection refused)"), "\(result.stderr)")
    }
}
