import Foundation
import Testing

/// Two hierarchies for export/import tests: a connected one (`CAS`, syncing a file upstream) that exports,
/// and a disconnected one (`TOP` with child `BR1`) that imports, with a signing key trusted by `TOP`.
final class BundleFixture: @unchecked Sendable {
    let source: HierarchyFixture
    let target: HierarchyFixture
    let folder: URL

    init(label: String) throws {
        source = try HierarchyFixture(label: "\(label)-src", codes: [("CAS", nil)])
        target = try HierarchyFixture(label: "\(label)-dst", codes: [("TOP", nil), ("BR1", "TOP")])
        folder = TestEnvironment.scratch("\(label)-bundles")
        let keygen = try CLI.run(["keygen", "--output", key])
        guard keygen.status == 0 else { throw TestFailure("keygen: \(keygen.stderr)") }
        target.hierarchy.upstream = "disconnected = true\ntrusted-keys = [\"\(key).pub\"]"
        try target.hierarchy.write()
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    /// The signing key (its public half is `key.pub`).
    var key: String { folder.appendingPathComponent("export.key").path }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// `sumsyncctl export` at the source site into `name`; extra arguments as given.
    @discardableResult
    func export(_ name: String, _ extra: [String] = [], signingKey: String? = nil) throws -> String {
        let result = try source.ctl(
            "CAS", ["export", "--output", path(name), "--signing-key", signingKey ?? key] + extra)
        guard result.status == 0 else { throw TestFailure("export \(name): \(result.stderr)") }
        return path(name)
    }

    /// `sumsyncctl import` at the disconnected top site.
    func importBundle(_ path: String, _ extra: [String] = []) throws -> CLI.Result {
        try target.ctl("TOP", ["import", path] + extra)
    }

    /// The source syncs `lines` as its upstream catalog.
    func syncSource(_ lines: [String]) throws {
        try source.writeCatalog(lines)
        let result = try source.ctl("CAS", ["sync", "--wait"])
        guard result.status == 0 else { throw TestFailure("source sync: \(result.stderr)") }
    }

    /// A copy of `name` changed by `change`, written as `copy`.
    func altered(_ name: String, as copy: String, _ change: (inout Data) -> Void) throws -> String {
        var data = try Data(contentsOf: URL(fileURLWithPath: path(name)))
        change(&data)
        try data.write(to: URL(fileURLWithPath: path(copy)))
        return path(copy)
    }
}
