import Foundation
import Testing

/// OSV feeds made by `scripts/osv-feed.py` (Python's `zipfile` and `json`) as the top site's upstream,
/// checked field by field against the script's reader of the mapping table: over HTTP and `file://`, a
/// zip and a folder; change kinds across syncs; the ecosystem filter; an rpm and an osv source in one
/// top site mirrored by a child; bad feeds failing their own source only.
@Suite("osv sources", .serialized)
struct OSVSourceTests {
    static func source(name: String, url: String, extra: String = "") -> String {
        """
        [[upstream.source]]
        name = "\(name)"
        format = "osv"
        url = "\(url)"
        \(extra)
        """
    }

    /// Every field the mapping table sets, for every update, equal to the oracle's.
    static func expectEqualsOracle(_ updates: [[String: Any]], _ oracle: [[String: Any]]) {
        #expect(updates.count == oracle.count, "\(updates.count) updates, the oracle has \(oracle.count)")
        var byID: [String: [String: Any]] = [:]
        for update in updates { byID[update["id"] as? String ?? ""] = update }
        let fields = [
            "product", "advisory", "source", "title", "description", "classification", "severity", "released",
            "revised", "expired", "cves", "url", "packages",
        ]
        for expected in oracle {
            let id = expected["id"] as? String ?? ""
            guard let update = byID[id] else {
                Issue.record("\(expected["advisory"] ?? "") \(expected["product"] ?? ""): missing (\(id))")
                continue
            }
            for field in fields {
                let ours = update[field] as? NSObject
                let theirs = expected[field] as? NSObject
                #expect(
                    ours == theirs,
                    "\(expected["advisory"] ?? "") \(field): \(ours ?? "nil" as NSString) vs \(theirs ?? "nil" as NSString)"
                )
            }
        }
    }

    @Test(arguments: ["http", "file-zip", "folder"])
    func updatesEqualTheOracleAcrossChanges(transport: String) async throws {
        let site = try TopSiteFixture(label: "osv-\(transport)")
        let records = site.folder.appendingPathComponent("records")
        let www = site.folder.appendingPathComponent("www")
        let zip = www.appendingPathComponent("Debian/all.zip")
        try FileManager.default.createDirectory(at: zip.deletingLastPathComponent(), withIntermediateDirectories: true)
        try OSVFeed.run(["testset", records.path])
        try OSVFeed.run(["zip", records.path, zip.path])
        let server = try await RepositoryServer(root: www)
        defer { server.stop() }
        let url =
            switch transport {
            case "http": "http://127.0.0.1:\(server.port)/Debian/all.zip"
            case "file-zip": "file://\(zip.path)"
            default: "file://\(records.path)"
            }
        site.hierarchy.upstream = Self.source(name: "osv", url: url)
        try site.hierarchy.write()
        let daemon = try await site.start()
        let first = try site.ctl(["sync", "--wait"])
        #expect(first.status == 0, "\(first.stderr)")
        let oracle = try OSVFeed.oracle(transport == "folder" ? records : zip, source: "osv")
        #expect(oracle.count == 12)
        Self.expectEqualsOracle(try site.updates(), oracle)
        #expect(
            daemon.log.contains(
                "Source osv: 8 records in the feed, 8 read, 0 unchanged since the last sync; 12 updates"))

        // Round 2: DSA-5678-1 modified (two ecosystems), DLA-3456-1 withdrawn, RLEA-2026:1234 gone, DSA-5700-1 new.
        try OSVFeed.run(["testset", records.path, "--round", "2"])
        try OSVFeed.run(["zip", records.path, zip.path])
        let second = try site.ctl(["sync", "--wait"])
        #expect(second.status == 0, "\(second.stderr)")
        let entry = try #require(try site.history().first)
        #expect(entry["new"] as? Int == 1 && entry["revised"] as? Int == 2, "\(entry)")
        #expect(entry["expired"] as? Int == 1 && entry["removed"] as? Int == 1, "\(entry)")
        let changed = try OSVFeed.oracle(transport == "folder" ? records : zip, source: "osv")
        let updates = try site.updates()
        Self.expectEqualsOracle(updates, changed)
        let revisions = updates.filter { $0["advisory"] as? String == "DSA-5678-1" }.map { $0["revision"] as? Int }
        #expect(revisions == [2, 2])
        // Withdrawn with the same `modified` is a change of content: its revision goes up too.
        let withdrawn = updates.filter { $0["advisory"] as? String == "DLA-3456-1" }
        #expect(withdrawn.map { $0["revision"] as? Int } == [2] && withdrawn.first?["expired"] as? Bool == true)
        let others = updates.filter { !["DSA-5678-1", "DLA-3456-1"].contains($0["advisory"] as? String ?? "") }
        #expect(others.allSatisfy { $0["revision"] as? Int == 1 })
        if transport != "folder" {
            // Only the entries whose CRC-32 changed were read.
            #expect(daemon.log.contains("Source osv: 8 records in the feed, 3 read, 5 unchanged since the last sync"))
        }

        // Unchanged: 304 over HTTP, the same size and time by file://, the same entries in a folder.
        let third = try site.ctl(["sync", "--wait"])
        #expect(third.status == 0 && third.stdout.contains("unchanged"), "\(third.stdout)")
        let sources = try site.jsonLines(site.ctl(["sources", "--json"]))
        #expect(sources.first?["last_result"] as? String == "unchanged" && sources.first?["format"] as? String == "osv")
        #expect(sources.first?["updates"] as? Int == 12 && sources.first?["product"] as? String == "*")
    }

    /// An rpm source and an osv source (two ecosystems kept of five) in one top site; a child mirrors both.
    @Test func rpmBesideOSVWithAnEcosystemFilterMirroredByAChild() async throws {
        let fixture = try HierarchyFixture(label: "osv-tree", codes: [("CAS", nil), ("PR1", "CAS")])
        let repo = fixture.folder.appendingPathComponent("repo")
        let xml = fixture.folder.appendingPathComponent("updateinfo.xml")
        try RpmTool.generate(xml, count: 25, packages: 3, seed: 5)
        try RpmTool.makeRepository(repo, updateinfo: xml, compress: "xz")
        let records = fixture.folder.appendingPathComponent("records")
        let zip = fixture.folder.appendingPathComponent("all.zip")
        try OSVFeed.run(["testset", records.path])
        try OSVFeed.run(["zip", records.path, zip.path])
        fixture.hierarchy.upstream =
            RpmSourceTests.source(name: "rocky9", url: "file://\(repo.path)", product: "Rocky Linux 9") + "\n"
            + Self.source(name: "debuntu", url: "file://\(zip.path)", extra: #"ecosystems = ["Debian:12", "Ubuntu:"]"#)
        fixture.hierarchy.sync = "classifications = [\"security\", \"bugfix\", \"Security Updates\"]\n"
        try fixture.hierarchy.write()
        try await fixture.startAll()
        let sync = try fixture.ctl("CAS", ["sync", "--wait"])
        #expect(sync.status == 0, "\(sync.stderr)")
        try await fixture.waitForConvergence(version: 1, timeout: .seconds(60))
        let oracle = try OSVFeed.oracle(zip, source: "debuntu", ecosystems: ["Debian:12", "Ubuntu:"])
        // Debian:12 (DSA-5678-1, DEBIAN-CVE-2026-5000) and three Ubuntu releases of USN-7001-1.
        #expect(
            oracle.map { $0["product"] as? String ?? "" }.sorted() == [
                "Debian:12", "Debian:12", "Ubuntu:20.04:LTS", "Ubuntu:22.04:LTS", "Ubuntu:24.04:LTS",
            ])
        let top = try fixture.updates("CAS")
        let lines = top.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        Self.expectEqualsOracle(lines.filter { $0["source"] as? String == "debuntu" }, oracle)
        let rpm = lines.filter { $0["source"] as? String == "rocky9" }
        #expect(!rpm.isEmpty && rpm.allSatisfy { ["security", "bugfix"].contains($0["classification"] as? String) })
        #expect(try fixture.updates("PR1") == top)
        let sources = try fixture.ctl("CAS", ["sources", "--json"]).stdout
        #expect(sources.contains(#""product":"Debian:12,Ubuntu:""#), "\(sources)")
    }

    static let badFeeds: [(kind: String, words: [String])] = [
        ("notzip", ["not a zip"]), ("cut", ["not a zip"]), ("damaged", ["entry GOOD-1.json"]),
        ("notjson", ["entry BAD.json", "invalid JSON at line 1"]),
        ("noid", ["entry NOID.json", "missing required field \"id\""]),
        ("badmodified", ["entry BADDATE.json at $.modified", "RFC 3339"]),
        ("badtype", ["entry BADTYPE.json at $.aliases"]),
        ("bomb", ["entry BOMB.json", "more than a record may have"]),
        ("traversal", ["../evil.json", "outside the archive"]),
        ("endless", ["entry ENDLESS.json"]), ("empty", ["holds no *.json records"]),
    ]

    /// A bad feed fails its own source: its updates stay as they were, the catalog beside it applies.
    @Test(arguments: badFeeds)
    func badFeedKeepsItsUpdatesWhileTheOtherApplies(kind: String, words: [String]) async throws {
        let site = try TopSiteFixture(label: "osv-bad")
        let records = site.folder.appendingPathComponent("records")
        let zip = site.folder.appendingPathComponent("all.zip")
        try OSVFeed.run(["testset", records.path])
        try OSVFeed.run(["zip", records.path, zip.path])
        try site.writeCatalog((1...10).map { catalogLine($0) })
        site.hierarchy.upstream =
            Self.source(name: "debian", url: "file://\(zip.path)") + "\n"
            + "[[upstream.source]]\nname = \"windows\"\nformat = \"catalog\"\nurl = \"file://\(site.catalogPath.path)\"\n"
        try site.hierarchy.write()
        _ = try await site.start()
        #expect(try site.ctl(["sync", "--wait"]).status == 0)
        let before = try site.ctl(["updates", "--json", "--include-expired", "--source", "debian"]).stdout
        #expect(before.split(separator: "\n").count == 12)

        try OSVFeed.run(["craft", kind, zip.path])
        try site.writeCatalog((1...11).map { catalogLine($0) })
        let sync = try site.ctl(["sync", "--wait"])
        #expect(sync.status == 1 && sync.stderr.contains("partial"), "\(sync.stdout) \(sync.stderr)")
        let entry = try #require(try site.history().first)
        let error = entry["error"] as? String ?? ""
        #expect(entry["result"] as? String == "partial" && entry["new"] as? Int == 1, "\(entry)")
        #expect(error.contains("source debian") && error.contains("nothing of this source was applied"), "\(error)")
        for word in words { #expect(error.contains(word), "\(kind): \(error)") }
        #expect(try site.ctl(["updates", "--json", "--include-expired", "--source", "debian"]).stdout == before)
        let sources = try site.jsonLines(site.ctl(["sources", "--json"]))
        #expect(sources.map { $0["last_result"] as? String } == ["failed", "succeeded"])

        // Mended, it applies: the good records of the crafted zip replace the test set's.
        try OSVFeed.run(["craft", "good", zip.path])
        let mended = try site.ctl(["sync", "--wait"])
        #expect(mended.status == 0, "\(mended.stderr)")
        let after = try site.jsonLines(site.ctl(["updates", "--json", "--source", "debian"]))
        #expect(after.compactMap { $0["advisory"] as? String }.sorted() == ["GOOD-1", "GOOD-2"])
    }

    /// SIGKILL while a feed is being read: after a restart the site holds what it held, and the next sync
    /// reads the feed whole (the dead sync's parts are not taken for a kept copy) and leaves one copy.
    @Test func killedMidReadKeepsTheOldUpdates() async throws {
        let site = try TopSiteFixture(label: "osv-kill9")
        let zip = site.folder.appendingPathComponent("all.zip")
        try OSVFeed.run(["testset", site.folder.appendingPathComponent("records").path])
        try OSVFeed.run(["zip", site.folder.appendingPathComponent("records").path, zip.path])
        site.hierarchy.upstream = Self.source(name: "big", url: "file://\(zip.path)")
        try site.hierarchy.write()
        let daemon = try await site.start()
        #expect(try site.ctl(["sync", "--wait"]).status == 0)
        let before = try site.updates()

        try OSVFeed.run(["generate", zip.path, "--count", "30000"])
        #expect(try site.ctl(["sync"]).status == 0)
        let sources = site.folder.appendingPathComponent("state-CAS/sources")
        try await waitUntil("the feed's records being written", timeout: .seconds(60)) {
            try FileManager.default.contentsOfDirectory(atPath: sources.path).contains { $0.hasSuffix(".partial") }
        }
        kill(daemon.pid, SIGKILL)
        _ = try await daemon.waitForExit()

        let again = try await site.start()
        #expect(try site.updates().map { $0["id"] as? String } == before.map { $0["id"] as? String })
        #expect(try site.ctl(["ping", "--json"]).stdout.contains("\"catalog_version\":1"))
        let next = try site.ctl(["sync", "--wait"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(again.log.contains("Source big: 30000 records in the feed, 30000 read, 0 unchanged"), "\(again.log)")
        #expect(try site.updates().count > 30_000)
        let names = try FileManager.default.contentsOfDirectory(atPath: sources.path)
        #expect(
            names.filter { $0.hasSuffix(".ndjson") }.count == 1 && names.filter { $0.hasSuffix(".entries") }.count == 1)
        #expect(!names.contains { $0.hasSuffix(".partial") }, "\(names)")
    }

    /// `skip-invalid`: a bad record is skipped with a warning (and read again next time); the rest applies.
    @Test func skipInvalidSkipsABadRecord() async throws {
        let site = try TopSiteFixture(label: "osv-skip")
        let zip = site.folder.appendingPathComponent("all.zip")
        try OSVFeed.run(["craft", "noid", zip.path])
        site.hierarchy.upstream = "skip-invalid = true\n" + Self.source(name: "s", url: "file://\(zip.path)")
        try site.hierarchy.write()
        let daemon = try await site.start()
        let sync = try site.ctl(["sync", "--wait"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(try site.updates().compactMap { $0["advisory"] as? String }.sorted() == ["GOOD-1", "GOOD-2"])
        #expect(daemon.log.contains("skipped an invalid record: entry NOID.json at $: missing required field \"id\""))
    }
}

/// `scripts/osv-feed.py` with the `python3` on PATH (its oracle scores CVSS with the `cvss` package).
enum OSVFeed {
    static let script = TestEnvironment.repoRoot.appendingPathComponent("scripts/osv-feed.py").path

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let result = try CLI.exec("/usr/bin/env", ["python3", script] + arguments)
        guard result.status == 0 else {
            throw TestFailure("osv-feed.py \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result.stdout
    }

    /// The oracle's updates for the zip or folder at `path`.
    static func oracle(_ path: URL, source: String, ecosystems: [String] = []) throws -> [[String: Any]] {
        var arguments = ["oracle", path.path, "--source", source]
        if !ecosystems.isEmpty { arguments += ["--ecosystems"] + ecosystems }
        return try run(arguments).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }
}
