import Foundation
import Testing

@testable import SumsyncTestSupport

/// `kill -9` in the middle of applying: the database stays whole, nothing of the sync is applied, and the
/// next sync succeeds.
@Suite("crash recovery", .serialized)
struct CrashRecoveryTests {
    func integrity(_ database: String) throws -> String {
        try CLI.exec("/usr/bin/sqlite3", [database, "PRAGMA integrity_check"]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    func waitForApplying(_ ctl: () throws -> CLI.Result) async throws {
        try await waitUntil("the sync to be applying", timeout: .seconds(60)) {
            let ping = try ctl()
            return ping.stdout.contains("applying: processed") && !ping.stdout.contains("processed 0 ")
        }
    }

    @Test("top-level site killed mid-sync")
    func topSiteKilledMidSync() async throws {
        let site = try TopSiteFixture(label: "kill9")
        try site.writeCatalog((1...10).map { catalogLine($0) })
        let daemon = try await site.start()
        #expect(try site.ctl(["sync", "--wait"]).status == 0)
        let before = try site.updates()

        try CatalogGenerator(seed: 7, count: 80_000).write(to: site.catalogPath.path)
        #expect(try site.ctl(["sync"]).status == 0)
        try await waitForApplying { try site.ctl(["ping", "--json"]) }
        kill(daemon.pid, SIGKILL)
        _ = try await daemon.waitForExit()

        let database = site.folder.appendingPathComponent("state-CAS/site.sqlite").path
        #expect(try integrity(database) == "ok")
        let restarted = try await site.start()
        #expect(try site.updates().map { $0["id"] as? String } == before.map { $0["id"] as? String })
        #expect(try site.ctl(["ping", "--json"]).stdout.contains("\"catalog_version\":1"))
        let interrupted = try site.history().first
        #expect(interrupted?["result"] as? String == "failed")
        #expect((interrupted?["error"] as? String)?.contains("interrupted") == true)
        #expect(restarted.log.contains("were interrupted when the daemon last stopped"))

        let next = try site.ctl(["sync", "--wait"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(try site.ctl(["ping", "--json"]).stdout.contains("\"catalog_version\":2"))
    }

    @Test("child killed while applying its parent's changes converges after restart")
    func childKilledWhileApplying() async throws {
        let tree = try HierarchyFixture(
            label: "kill9child", codes: [("CAS", nil), ("PR1", "CAS")], sync: "retry-interval = \"2s\"")
        try CatalogGenerator(seed: 11, count: 80_000).write(to: tree.catalogPath.path)
        try await tree.start("CAS")
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        let child = try await tree.start("PR1")
        try await waitForApplying { try tree.ctl("PR1", ["ping", "--json"]) }
        kill(child.pid, SIGKILL)
        _ = try await child.waitForExit()
        let database = tree.folder.appendingPathComponent("state-PR1/site.sqlite").path
        #expect(try integrity(database) == "ok")
        #expect(try tree.version("PR1") == 0)
        try await tree.start("PR1")
        try await tree.waitForConvergence(version: 1, timeout: .seconds(120))
        #expect(try integrity(database) == "ok")
        #expect(try tree.updates("PR1") == tree.updates("CAS"))
    }
}
