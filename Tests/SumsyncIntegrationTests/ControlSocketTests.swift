import Foundation
import Testing

/// The control socket is private: mode 0600, and the daemon itself refuses peers of another uid.
@Suite("control socket", .serialized)
struct ControlSocketTests {
    @Test("mode 0600; a caller of another uid is refused even when it can open the socket")
    func refusesOtherUID() async throws {
        try #require(TestEnvironment.isRoot, "this test runs as root (CI does): it needs setpriv to switch uid")
        let folder = TestEnvironment.scratch("uid")
        defer { try? FileManager.default.removeItem(at: folder) }
        let hierarchy = TestHierarchy(folder: folder, codes: [("CAS", nil)])
        let config = try hierarchy.write()
        let daemon = try DaemonProcess(config: config, site: "CAS", folder: folder)
        defer { daemon.stop() }
        try await daemon.waitUntilReady()

        let socket = daemon.runtimeDirectory.appendingPathComponent("control.sock").path
        let attributes = try FileManager.default.attributesOfItem(atPath: socket)
        #expect((attributes[.posixPermissions] as? Int) == 0o600 || (attributes[.posixPermissions] as? Int) == 0o700)
        let runtimeMode =
            try FileManager.default.attributesOfItem(atPath: daemon.runtimeDirectory.path)[.posixPermissions] as? Int
        #expect(runtimeMode == 0o700)

        // uid 4242 keeps CAP_DAC_OVERRIDE, so file modes do not stop it: only the daemon's own check can.
        let ctl = try TestEnvironment.binary("sumsyncctl")
        let other = try CLI.exec(
            "/usr/bin/setpriv",
            [
                "--reuid=4242", "--regid=4242", "--clear-groups", "--inh-caps=+dac_override",
                "--ambient-caps=+dac_override", ctl, "ping",
            ] + daemon.ctlOptions
        )
        #expect(other.status == 1)
        #expect(
            other.stderr.contains("permission denied: uid 4242 may not control sumsyncd for site CAS"),
            "\(other.stderr)")
        try await waitUntil("the refusal in the log") {
            daemon.log.contains("Refused a control request from another user")
        }

        let own = try CLI.run(["ping"] + daemon.ctlOptions)
        #expect(own.status == 0)
    }
}
