import Foundation
import Testing

/// A real top-level `sumsyncd` syncing from file and HTTP upstreams, driven as an admin would.
@Suite("top-level sync", .serialized)
struct TopLevelSyncTests {
    @Test("SIGUSR1 syncs a file upstream; updates and history show it")
    func fileUpstreamBySignal() async throws {
        let site = try TopSiteFixture(label: "file")
        try site.writeCatalog((1...50).map { catalogLine($0) })
        let daemon = try await site.start()
        daemon.signal(SIGUSR1)
        try await waitUntil("a succeeded sync in history") {
            (try site.history()).first?["result"] as? String == "succeeded"
        }
        let entry = try site.history()[0]
        #expect(entry["trigger"] as? String == "manual")
        #expect(
            entry["new"] as? Int == 50 && entry["catalog_version"] as? Int == 1 && entry["site"] as? String == "CAS")
        #expect(entry["error"] is NSNull)
        let updates = try site.updates()
        #expect(updates.count == 50)
        #expect(updates.first?["id"] as? String == "00000000-0000-4000-8000-000000000001")
        for key in [
            "id", "revision", "title", "product", "classification", "languages", "kb", "severity", "released",
            "superseded", "expired",
        ] {
            #expect(updates.first?[key] != nil, "updates --json lacks \(key)")
        }
        // STATUS / ping shows the new catalog version.
        let ping = try site.ctl(["ping", "--json"])
        #expect(ping.stdout.contains("\"catalog_version\":1"))
    }

    @Test("HTTP upstream with ETag: sync --wait, then a no-op costing one conditional request, then --full")
    func httpUpstreamWithETag() async throws {
        let upstream = try await UpstreamServer()
        defer { upstream.stop() }
        let site = try TopSiteFixture(label: "http", catalogURL: upstream.url)
        upstream.serve(Data(((1...20).map { catalogLine($0) }.joined(separator: "\n") + "\n").utf8), etag: "\"a\"")
        _ = try await site.start()

        var result = try site.ctl(["sync", "--wait"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("20 new"))
        result = try site.ctl(["sync", "--wait"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("upstream unchanged"))
        #expect(upstream.requests == 2 && upstream.conditionalRequests == 1)
        var history = try site.history()
        #expect(history.map { $0["result"] as? String } == ["no-op", "succeeded"])
        #expect(history[0]["catalog_version"] as? Int == 1)

        upstream.serve(
            Data(((1...20).map { catalogLine($0, revision: $0 == 3 ? 2 : 1) }.joined(separator: "\n") + "\n").utf8),
            etag: "\"b\"")
        result = try site.ctl(["sync", "--full", "--wait"])
        #expect(result.status == 0)
        #expect(upstream.requests == 3 && upstream.conditionalRequests == 1, "--full sends no validators")
        history = try site.history()
        #expect(history[0]["revised"] as? Int == 1 && history[0]["catalog_version"] as? Int == 2)
    }

    @Test("sync --wait exits 1 with the reason when the sync fails; nothing changes")
    func failedSyncExitsOne() async throws {
        let upstream = try await UpstreamServer()
        defer { upstream.stop() }
        let site = try TopSiteFixture(label: "http500", catalogURL: upstream.url)
        upstream.serve(Data(), etag: "\"x\"", mode: .status(500))
        _ = try await site.start()
        let result = try site.ctl(["sync", "--wait"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("HTTP 500"), "\(result.stderr)")
        #expect(try site.history().first?["result"] as? String == "failed")
        #expect(try site.updates().isEmpty)
    }

    @Test("updates and history read the database while the daemon is stopped")
    func readsWhileStopped() async throws {
        let site = try TopSiteFixture(label: "stopped")
        try site.writeCatalog((1...5).map { catalogLine($0) })
        let daemon = try await site.start()
        #expect(try site.ctl(["sync", "--wait"]).status == 0)
        daemon.stop()
        #expect(try site.updates().count == 5)
        #expect(try site.history().count == 1)
    }
}
