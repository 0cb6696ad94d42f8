import Foundation
import Testing

/// Forged, altered, replayed, stale and oversized site-to-site requests are refused and change nothing.
@Suite("site-to-site authentication", .serialized)
struct SiteAuthenticationTests {
    @Test(
        "401 for unsigned, wrong-key, tampered, replayed and stale requests; 413 for an oversized body; 403 from a non-parent"
    )
    func refusals() async throws {
        let tree = try HierarchyFixture(label: "auth", codes: [("CAS", nil), ("PR1", "CAS"), ("SE1", "PR1")])
        try tree.writeCatalog((1...5).map { catalogLine($0) })
        // Only the child runs: the parent stays down, so nothing but our requests could make it sync.
        let child = try await tree.start("PR1")
        try await waitUntil("the child's failed catch-up") { (try tree.history("PR1")).count >= 1 }
        let port = tree.hierarchy.port("PR1")
        func parentSyncs() throws -> Int {
            try tree.history("PR1").filter { $0["trigger"] as? String == "parent" }.count
        }
        let path = "/v1/sync-requests"
        let body = SignedClient.syncRequest()
        let client = SignedClient()

        var answer = try await client.send(port: port, path: path, body: body, headers: nil)
        #expect(answer.status == 401 && answer.body.contains("unsigned request"))

        answer = try await SignedClient(key: Data("another-hierarchy-key".utf8)).send(
            port: port, path: path, body: body,
            headers: SignedClient(key: Data("another-hierarchy-key".utf8)).headers(path: path, body: body)
        )
        #expect(answer.status == 401 && answer.body.contains("bad signature"))

        let tampered = SignedClient.syncRequest("tampered")
        answer = try await client.send(
            port: port, path: path, body: tampered, headers: client.headers(path: path, body: body))
        #expect(answer.status == 401 && answer.body.contains("tampered"))

        answer = try await client.send(
            port: port, path: path, body: body,
            headers: client.headers(path: path, body: body, now: Date().addingTimeInterval(-600)))
        #expect(answer.status == 401 && answer.body.contains("stale"))

        var headers = client.headers(path: "/v1/sync-requests", query: "x=1", body: body)
        answer = try await client.send(port: port, path: path, body: body, headers: headers)
        #expect(answer.status == 401 && answer.body.contains("bad signature"), "the query is signed too")

        let big = Data(repeating: 0x20, count: 2 << 20)
        answer = try await client.send(
            port: port, path: path, body: big, headers: client.headers(path: path, body: big))
        #expect(answer.status == 413)

        let fromGrandchild = SignedClient(site: "SE1")
        answer = try await fromGrandchild.send(
            port: port, path: path, body: body, headers: fromGrandchild.headers(path: path, body: body))
        #expect(answer.status == 403)

        // (The child keeps retrying its own catch-up meanwhile; only a parent-triggered sync would be ours.)
        #expect(try parentSyncs() == 0, "no refused request may start a sync")

        // A correctly signed request from the parent is accepted once; its replay is refused.
        headers = client.headers(path: path, body: body)
        answer = try await client.send(port: port, path: path, body: body, headers: headers)
        #expect(answer.status == 202)
        answer = try await client.send(port: port, path: path, body: body, headers: headers)
        #expect(answer.status == 401 && answer.body.contains("replayed"))

        for reason in [
            "unsigned request", "bad signature", "tampered request", "stale request", "replayed request",
            "exceeds the limit",
        ] {
            #expect(
                child.log.contains("Refused a site-to-site request from 127.0.0.1") && child.log.contains(reason),
                "no log for \(reason)")
        }
    }

    @Test("50 sync requests in a burst to a child: at most one follow-up sync")
    func burstCoalesces() async throws {
        let tree = try HierarchyFixture(label: "burst", codes: [("CAS", nil), ("PR1", "CAS")])
        try tree.writeCatalog((1...20_000).map { catalogLine($0) })
        try await tree.start("CAS")
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        // The child starts and pulls the full snapshot (its catch-up); the burst lands while that runs.
        try await tree.start("PR1")
        let port = tree.hierarchy.port("PR1")
        let client = SignedClient()
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    let body = SignedClient.syncRequest()
                    return try await client.send(
                        port: port, path: "/v1/sync-requests", body: body,
                        headers: client.headers(path: "/v1/sync-requests", body: body)
                    ).status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0 == 202 })
        try await tree.waitForConvergence(version: 1)
        try await waitUntil("the child to be idle") {
            (try tree.history("PR1")).allSatisfy { $0["result"] as? String != "running" }
        }
        // Fifty requests, at most one sync running and one follow-up: when the catch-up is still running as
        // the burst lands (the usual case) that is one parent sync; when the catch-up ended first (a fast
        // first snapshot), one started at once and one follow-up. Never more.
        let syncs = try tree.history("PR1")
        let parent = syncs.filter { $0["trigger"] as? String == "parent" }.count
        #expect(parent >= 1 && parent <= 2, "\(syncs.map { $0["trigger"] ?? "" })")
        #expect(syncs.count <= 3 && syncs.count == parent + 1, "\(syncs.map { $0["trigger"] ?? "" })")
    }
}
