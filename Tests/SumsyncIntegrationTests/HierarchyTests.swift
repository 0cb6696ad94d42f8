import Foundation
import Testing

/// Real `sumsyncd` processes in a tree on loopback: propagation, catch-up, coalescing and convergence.
@Suite("hierarchy", .serialized)
struct HierarchyTests {
    static let tree: [(String, String?)] = [
        ("CAS", nil), ("PR1", "CAS"), ("PR2", "CAS"), ("SE1", "PR1"), ("SE2", "PR2"),
    ]

    @Test("a 3-tier tree converges: same catalog version and identical updates everywhere")
    func threeTierTreeConverges() async throws {
        let tree = try HierarchyFixture(label: "tree", codes: Self.tree)
        try tree.writeCatalog((1...300).map { catalogLine($0) })
        try await tree.startAll()
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await tree.waitForConvergence(version: 1)
        let reference = try tree.updates("CAS")
        #expect(reference.split(separator: "\n").count == 300)
        for code in tree.codes.dropFirst() {
            #expect(try tree.updates(code) == reference, "\(code) differs from CAS")
        }

        // A delta: one revised, one removed, one new.
        try tree.writeCatalog((2...301).map { catalogLine($0, revision: $0 == 5 ? 2 : 1) })
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await tree.waitForConvergence(version: 2)
        let delta = try tree.updates("CAS")
        for code in tree.codes.dropFirst() { #expect(try tree.updates(code) == delta) }
        let leaf = try tree.history("SE2").first
        #expect(leaf?["trigger"] as? String == "parent" && leaf?["result"] as? String == "succeeded")
        #expect(leaf?["new"] as? Int == 1 && leaf?["revised"] as? Int == 1 && leaf?["removed"] as? Int == 1)

        // The top sees every site, all at version 2, nobody behind.
        try await waitUntil("status at the top to show every site at v2") {
            let status = try tree.ctl("CAS", ["status", "--json"])
            guard let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any],
                let sites = object["sites"] as? [[String: Any]]
            else { return false }
            return sites.count == 5 && sites.allSatisfy { $0["catalog_version"] as? Int == 2 && $0["lag"] as? Int == 0 }
        }
        let status = try tree.ctl("CAS", ["status", "--json"])
        let sites =
            (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as! [String: Any])["sites"]
            as! [[String: Any]]
        for key in [
            "site", "parent", "url", "state", "catalog_version", "updates", "last_sync_started", "last_sync_finished",
            "last_success", "last_error", "link", "lag", "next_sync",
        ] {
            #expect(sites.allSatisfy { $0.keys.contains(key) }, "status lacks \(key)")
        }
        #expect(sites.allSatisfy { $0["state"] as? String == "succeeded" && $0["link"] as? String == "healthy" })
        let table = try tree.ctl("CAS", ["status"])
        #expect(table.stdout.contains("SE2") && table.stdout.contains("SITE"))
    }

    @Test("a child down during a sync converges by itself when it starts again")
    func childCatchesUpAfterDowntime() async throws {
        let tree = try HierarchyFixture(
            label: "catchup", codes: [("CAS", nil), ("PR1", "CAS")], sync: "retry-interval = \"2s\"")
        try tree.writeCatalog((1...50).map { catalogLine($0) })
        try await tree.startAll()
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await tree.waitForConvergence(version: 1)
        tree.daemons["PR1"]!.stop()

        try tree.writeCatalog((1...60).map { catalogLine($0) })
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        #expect(try tree.version("PR1") == 1)
        try await tree.start("PR1")
        try await tree.waitForConvergence(version: 2)
        #expect(try tree.updates("PR1") == tree.updates("CAS"))
        // Its catch-up at start-up pulled the change (the parent's retried request may add a no-change sync).
        #expect(
            try tree.history("PR1").contains {
                $0["trigger"] as? String == "catch-up" && $0["result"] as? String == "succeeded"
            })
    }

    @Test("a child that starts while its parent is down retries and converges when the parent returns")
    func parentDownAtChildStart() async throws {
        let tree = try HierarchyFixture(
            label: "parentdown", codes: [("CAS", nil), ("PR1", "CAS")], sync: "retry-interval = \"2s\"")
        try tree.writeCatalog((1...40).map { catalogLine($0) })
        try await tree.start("CAS")
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        tree.daemons["CAS"]!.stop()

        let child = try await tree.start("PR1")
        try await waitUntil("the child's failed catch-up") {
            (try tree.history("PR1")).first?["result"] as? String == "failed"
        }
        let failure = try tree.history("PR1").first!
        #expect((failure["error"] as? String)?.contains("cannot reach parent site CAS") == true)
        try await tree.start("CAS")
        try await tree.waitForConvergence(version: 1, timeout: .seconds(20))
        #expect(child.log.contains("Will retry the sync"))
        #expect(try tree.history("PR1").first?["trigger"] as? String == "retry")
    }
}
