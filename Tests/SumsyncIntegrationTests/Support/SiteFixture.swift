import Foundation

/// One top-level site with its own config, catalog and daemon, for sync tests.
final class TopSiteFixture: @unchecked Sendable {
    let folder: URL
    var hierarchy: TestHierarchy
    var daemon: DaemonProcess?

    init(label: String, catalogURL: String? = nil, sync: String = "") throws {
        folder = TestEnvironment.scratch(label)
        hierarchy = TestHierarchy(folder: folder, codes: [("CAS", nil)])
        hierarchy.upstream =
            "catalog = \"\(catalogURL ?? "file://" + folder.appendingPathComponent("catalog.ndjson").path)\""
        hierarchy.sync = sync
        try hierarchy.write()
    }

    var catalogPath: URL { folder.appendingPathComponent("catalog.ndjson") }

    func writeCatalog(_ lines: [String]) throws {
        try (lines.joined(separator: "\n") + "\n").write(to: catalogPath, atomically: true, encoding: .utf8)
    }

    func start(environment: [String: String] = [:]) async throws -> DaemonProcess {
        let daemon = try DaemonProcess(
            config: hierarchy.configPath, site: "CAS", folder: folder, environment: environment)
        self.daemon = daemon
        try await daemon.waitUntilReady()
        return daemon
    }

    /// `sumsyncctl ARGS` pointed at this site.
    func ctl(_ arguments: [String]) throws -> CLI.Result {
        try CLI.run(
            arguments + [
                "--config", hierarchy.configPath, "--site", "CAS", "--state-dir",
                folder.appendingPathComponent("state-CAS").path, "--runtime-dir",
                folder.appendingPathComponent("run-CAS").path,
            ])
    }

    /// `history --json`, newest first.
    func history() throws -> [[String: Any]] {
        try jsonLines(ctl(["history", "--json", "--limit", "100"]))
    }

    /// `updates --json --include-expired`.
    func updates() throws -> [[String: Any]] {
        try jsonLines(ctl(["updates", "--json", "--include-expired"]))
    }

    func jsonLines(_ result: CLI.Result) throws -> [[String: Any]] {
        guard result.status == 0 else { throw TestFailure("sumsyncctl failed: \(result.stderr)") }
        return result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    deinit {
        daemon?.stop()
        try? FileManager.default.removeItem(at: folder)
    }
}

/// A catalog line for update number `n`.
func catalogLine(_ n: Int, revision: Int = 1, product: String = "Windows 11", expired: Bool = false) -> String {
    let id = String(format: "00000000-0000-4000-8000-%012x", n)
    return """
        {"id":"\(id)","revision":\(revision),"title":"Update \(n)","product":"\(product)","classification":"Security Updates","languages":["all"],"released":"2026-01-01T00:00:00Z","expired":\(expired)}
        """
}
