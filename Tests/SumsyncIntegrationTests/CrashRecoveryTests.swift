import Foundation
import Testing

@testable import SumsyncTestSupport

/// `kill -9` in the middle of applying: the database stays whole, nothing of the sync is applied, and the
/// sync runs again (the top-level site, by itself once restarted; a child, by catching up).
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
        #expect(try site.updates().map { $0["id"] as? String } == before.map { $0["id"] as? String })
        let restarted = try await site.start()
        // The interrupted sync is recorded as failed and, the daemon being the top-level site, runs again by
        // itself once ready (trigger retry): a restart loses no sync.
        try await waitUntil("the interrupted sync to run again", timeout: .seconds(120)) {
            try site.ctl(["ping", "--json"]).stdout.contains("\"catalog_version\":2")
        }
        let history = try site.history()
        let interrupted = history.first { ($0["error"] as? String)?.contains("interrupted") == true }
        #expect(interrupted?["result"] as? String == "failed")
        #expect(history.first?["trigger"] as? String == "retry")
        #expect(history.first?["result"] as? String == "succeeded")
        #expect(restarted.log.contains("were interrupted when the daemon last stopped"))
        #expect(restarted.log.contains("The sync the last stop interrupted runs again now."))
        #expect(try integrity(database) == "ok")
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
