import Foundation
import Testing

/// A hierarchy of real `sumsyncd` processes on loopback, one state folder each.
final class HierarchyFixture: @unchecked Sendable {
    let folder: URL
    var hierarchy: TestHierarchy
    var daemons: [String: DaemonProcess] = [:]

    /// `codes`: (site, parent) pairs, top first.
    /// `tls`: every site on https, with a CA and site certificates made by `sumsyncctl pki`.
    init(
        label: String, codes: [(String, String?)], sync: String = "retry-interval = \"20s\"", tls: Bool = false
    ) throws {
        folder = TestEnvironment.scratch(label)
        hierarchy = TestHierarchy(folder: folder, codes: codes)
        hierarchy.upstream = "catalog = \"file://\(folder.appendingPathComponent("catalog.ndjson").path)\""
        hierarchy.sync = sync
        hierarchy.tls = tls
        if tls {
            try TestPKI.makeAuthority(in: folder.appendingPathComponent("pki"))
            for (code, _) in codes {
                try TestPKI.issue(
                    code, ca: folder.appendingPathComponent("pki"), into: folder.appendingPathComponent("tls"))
            }
        }
        try hierarchy.write()
    }

    var pki: URL { folder.appendingPathComponent("pki") }
    var tlsFolder: URL { folder.appendingPathComponent("tls") }

    var catalogPath: URL { folder.appendingPathComponent("catalog.ndjson") }
    var codes: [String] { hierarchy.sites.map(\.code) }

    func writeCatalog(_ lines: [String]) throws {
        try (lines.joined(separator: "\n") + "\n").write(to: catalogPath, atomically: true, encoding: .utf8)
    }

    @discardableResult
    func start(_ code: String, wait: Bool = true, environment: [String: String] = [:]) async throws -> DaemonProcess {
        let daemon = try DaemonProcess(
            config: hierarchy.configPath, site: code, folder: folder, environment: environment)
        daemons[code] = daemon
        if wait { try await daemon.waitUntilReady() }
        return daemon
    }

    func startAll() async throws {
        for code in codes { try await start(code, wait: false) }
        for code in codes { try await daemons[code]!.waitUntilReady() }
    }

    func ctl(_ code: String, _ arguments: [String]) throws -> CLI.Result {
        try CLI.run(
            arguments + [
                "--config", hierarchy.configPath, "--site", code,
                "--state-dir", folder.appendingPathComponent("state-\(code)").path,
                "--runtime-dir", folder.appendingPathComponent("run-\(code)").path,
            ]
        )
    }

    /// The site's catalog version, read from its database (works while it is stopped).
    func version(_ code: String) throws -> Int {
        let result = try ctl(code, ["history", "--json", "--limit", "1"])
        guard let line = result.stdout.split(separator: "\n").first,
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { return 0 }
        return object["catalog_version"] as? Int ?? 0
    }

    /// `updates --json --include-expired`, as text, for comparing sites.
    func updates(_ code: String) throws -> String {
        let result = try ctl(code, ["updates", "--json", "--include-expired"])
        guard result.status == 0 else { throw TestFailure("updates at \(code): \(result.stderr)") }
        return result.stdout
    }

    func history(_ code: String) throws -> [[String: Any]] {
        try ctl(code, ["history", "--json", "--limit", "200"]).stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Waits until every site in `codes` is at `version`.
    func waitForConvergence(_ codes: [String]? = nil, version: Int, timeout: Duration = .seconds(30)) async throws {
        try await waitUntil(
            "sites \((codes ?? self.codes).joined(separator: ",")) at catalog version \(version)", timeout: timeout
        ) {
            try (codes ?? self.codes).allSatisfy { try self.version($0) == version }
        }
    }

    deinit {
        for daemon in daemons.values { daemon.stop() }
        try? FileManager.default.removeItem(at: folder)
    }
}
