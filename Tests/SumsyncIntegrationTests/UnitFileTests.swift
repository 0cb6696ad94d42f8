import Foundation
import Testing

/// `systemd/sumsyncd@.service` as systemd's own tools judge it.
@Suite("unit file")
struct UnitFileTests {
    static let unit = TestEnvironment.repoRoot.appendingPathComponent("systemd/sumsyncd@.service")

    /// The unit as installed, with its binaries pointing at this build, named as an instance.
    func instance() throws -> URL {
        let folder = TestEnvironment.scratch("unit")
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
            .replacingOccurrences(of: "/usr/bin/", with: TestEnvironment.binDirectory.path + "/")
        let url = folder.appendingPathComponent("sumsyncd@CAS.service")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test("systemd-analyze verify prints nothing")
    func verify() throws {
        _ = try TestEnvironment.binary("sumsyncd")
        let url = try instance()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let result = try CLI.exec("/usr/bin/systemd-analyze", ["verify", url.path])
        #expect(result.stdout.isEmpty && result.stderr.isEmpty, "verify said: \(result.stdout)\(result.stderr)")
    }

    @Test("offline security exposure is at most 1.5")
    func security() throws {
        let url = try instance()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let result = try CLI.exec("/usr/bin/systemd-analyze", ["security", "--offline=true", "--no-pager", url.path])
        let line = result.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") }
        let figure = line.flatMap { text -> Double? in
            let afterColon = text.split(separator: ":").last ?? ""
            return Double(afterColon.split(separator: " ").first ?? "")
        }
        try #require(figure != nil, "no exposure figure in: \(result.stdout)\(result.stderr)")
        #expect(figure! <= 1.5, "exposure \(figure!)")
    }

    @Test("the unit keeps the pinned settings")
    func pinnedSettings() throws {
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
        for line in [
            "Type=notify", "ExecStart=/usr/bin/sumsyncd --config /etc/sumsync/hierarchy.toml --site %i",
            "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure", "StateDirectory=sumsync/%i",
            "RuntimeDirectory=sumsync/%i", "LoadCredential=hierarchy.key:/etc/sumsync/hierarchy.key",
        ] {
            #expect(text.split(separator: "\n").contains { $0 == line }, "missing \(line)")
        }
        #expect(text.contains("WatchdogSec="))
    }
}
