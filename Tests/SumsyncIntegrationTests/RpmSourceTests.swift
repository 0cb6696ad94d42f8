import Foundation
import Testing

/// RPM repositories as the top site's upstream, made by createrepo_c and checked against createrepo_c's
/// own parser: the mapping, change kinds across syncs, several sources, bad input per source, a crash
/// mid-parse, and a hierarchy mirroring the result.
@Suite("rpm sources", .serialized)
struct RpmSourceTests {
    /// Advisories written by hand for what the generator does not write: every date shape, severities
    /// other repositories use, modular collections, a source package list, reboot flags.
    static let handWritten = """
        <update from="errata@example.org" status="final" type="security" version="1">
          <id>TEST-2021:0001</id><title>Important: foo security update</title>
          <issued date="2021-09-21 10:11:12 UTC"/><updated date="2021-09-22 00:00:00"/>
          <severity>Important</severity><description>UTC dates, a source package.</description>
          <references>
            <reference href="https://example.org/CVE-2021-0001" id="CVE-2021-0001" type="cve" title="c"/>
            <reference href="https://bugs.example.org/1" id="1" type="bugzilla" title="b"/>
            <reference href="https://example.org/CVE-2021-0002" id="CVE-2021-0002" type="cve" title="c"/>
          </references>
          <pkglist><collection short="c"><name>c</name>
            <package name="foo" version="1.0" release="1.el9" epoch="2" arch="x86_64" src="foo-1.0-1.el9.src.rpm"><filename>foo-1.0-1.el9.x86_64.rpm</filename></package>
            <package name="foo" version="1.0" release="1.el9" epoch="2" arch="src"><filename>foo-1.0-1.el9.src.rpm</filename></package>
          </collection></pkglist>
        </update>
        <update from="errata@example.org" status="final" type="bugfix" version="1">
          <id>TEST-2021:0002</id><title>ISO 8601 with Z</title>
          <issued date="2021-09-21T10:11:12Z"/><updated date="2021-10-01T08:00:00Z"/>
          <severity>Medium</severity>
          <pkglist><collection short="c"><name>c</name>
            <package name="bar" version="2.0~rc1" release="3" arch="noarch"><filename>bar.rpm</filename></package>
          </collection></pkglist>
        </update>
        <update from="errata@example.org" status="stable" type="enhancement" version="1">
          <id>TEST-2021:0003</id><title>a date alone, Unix seconds</title>
          <issued date="2021-09-21"/><updated date="1632218400"/>
          <severity>High</severity><reboot_suggested>True</reboot_suggested>
          <pkglist><collection short="c"><name>c</name>
            <package name="baz" version="1^git1" release="1" epoch="0" arch="aarch64"><filename>baz.rpm</filename></package>
          </collection></pkglist>
        </update>
        <update from="errata@example.org" status="final" type="newpackage" version="1">
          <id>TEST-2021:0004</id><title>modular collections</title>
          <issued date="2021-09-21T10:11:12"/>
          <severity>none</severity>
          <pkglist>
            <collection short="pg"><name>postgresql</name>
              <module name="postgresql" stream="9.6" version="20180816142114" context="6c81f848" arch="x86_64"/>
              <package name="postgresql" version="9.6.8" release="1.module_1710+b535a823" epoch="0" arch="x86_64"><filename>p.rpm</filename><reboot_suggested/></package>
            </collection>
            <collection short="node"><name>nodejs</name>
              <module name="nodejs" stream="8" version="20180801080000" context="6c81f848" arch="x86_64"/>
              <package name="nodejs" version="8.11.4" release="1.module_2030+42747d40" epoch="1" arch="x86_64"><filename>n.rpm</filename></package>
            </collection>
          </pkglist>
        </update>
        """

    /// The severity sumsync keeps for what a repository writes.
    static func severity(_ written: Any?) -> String? {
        switch (written as? String)?.lowercased() {
        case "critical": "Critical"
        case "important", "high": "Important"
        case "moderate", "medium": "Moderate"
        case "low": "Low"
        default: nil
        }
    }

    static func source(name: String, url: String, product: String, extra: String = "") -> String {
        """
        [[upstream.source]]
        name = "\(name)"
        format = "rpm"
        url = "\(url)"
        product = "\(product)"
        \(extra)
        """
    }

    @Test(arguments: ["gz", "xz", "zst", "bz2"])
    func updatesEqualWhatCreaterepoReads(compression: String) async throws {
        let site = try TopSiteFixture(label: "rpm-\(compression)")
        let repo = site.folder.appendingPathComponent("repo")
        let xml = site.folder.appendingPathComponent("updateinfo.xml")
        try RpmTool.generate(xml, count: 60, packages: 5, seed: 3)
        try RpmTool.append(Self.handWritten, to: xml)
        try RpmTool.makeRepository(repo, updateinfo: xml, compress: compression)
        // Two compressions over HTTP, two by file://.
        let server = try await RepositoryServer(root: site.folder)
        defer { server.stop() }
        let url = ["gz", "zst"].contains(compression) ? server.url("repo") : "file://\(repo.path)/"
        site.hierarchy.upstream = Self.source(name: "rocky9", url: url, product: "Rocky Linux 9")
        try site.hierarchy.write()
        _ = try await site.start()
        let sync = try site.ctl(["sync", "--wait"])
        #expect(sync.status == 0, "\(sync.stderr)")

        let oracle = try RpmTool.oracle(xml)
        let updates = try site.updates()
        #expect(updates.count == oracle.count && oracle.count == 64)
        var byAdvisory: [String: [String: Any]] = [:]
        for update in updates { byAdvisory[update["advisory"] as? String ?? ""] = update }
        for (id, expected) in oracle {
            let update = try #require(byAdvisory[id], "advisory \(id) is missing")
            #expect(update["classification"] as? String == (expected["type"] as? String)?.lowercased(), "\(id)")
            #expect(update["severity"] as? String == Self.severity(expected["severity"]), "\(id)")
            #expect(update["cves"] as? [String] == expected["cves"] as? [String], "\(id)")
            #expect(update["packages"] as? [String] == expected["packages"] as? [String], "\(id)")
            #expect(update["reboot_suggested"] as? Bool == expected["reboot_suggested"] as? Bool, "\(id)")
            #expect(update["source"] as? String == "rocky9" && update["product"] as? String == "Rocky Linux 9")
            // createrepo_c 0.17 reads only the date of ISO 8601 timestamps with a `T`; sumsync keeps the time.
            let iso = ["TEST-2021:0002", "TEST-2021:0004"].contains(id)
            for (ours, theirs) in [("released", "issued"), ("revised", "updated")] {
                let mine = update[ours] as? String
                let reference = expected[theirs] as? String
                if iso {
                    #expect(mine?.prefix(10) == reference?.prefix(10), "\(id) \(ours)")
                } else {
                    #expect(mine == reference, "\(id) \(ours): \(mine ?? "nil") vs \(reference ?? "nil")")
                }
            }
        }
        // The times createrepo_c 0.17 drops, as written.
        #expect(byAdvisory["TEST-2021:0002"]?["released"] as? String == "2021-09-21T10:11:12Z")
        #expect(byAdvisory["TEST-2021:0004"]?["released"] as? String == "2021-09-21T10:11:12Z")
        let sources = try site.jsonLines(site.ctl(["sources", "--json"]))
        #expect(sources.count == 1)
        #expect(sources.first?["name"] as? String == "rocky9" && sources.first?["format"] as? String == "rpm")
        #expect(sources.first?["last_result"] as? String == "succeeded" && sources.first?["updates"] as? Int == 64)
        #expect(sources.first?["product"] as? String == "Rocky Linux 9" && sources.first?["url"] as? String == url)

        // An unchanged repository: repomd.xml answers 304 (or its updateinfo checksum is the same), no
        // updateinfo download, no transaction.
        let downloads = server.requests(matching: "updateinfo")
        let again = try site.ctl(["sync", "--wait"])
        #expect(again.status == 0 && again.stdout.contains("unchanged"), "\(again.stdout)")
        #expect(server.requests(matching: "updateinfo") == downloads)
        let after = try site.jsonLines(site.ctl(["sources", "--json"]))
        #expect(after.first?["last_result"] as? String == "unchanged")
    }

    @Test func repositoryWithoutUpdateinfoOffersNothing() async throws {
        let site = try TopSiteFixture(label: "rpm-none")
        let repo = site.folder.appendingPathComponent("repo")
        try RpmTool.makeRepository(repo, updateinfo: nil)
        site.hierarchy.upstream = Self.source(name: "empty", url: "file://\(repo.path)", product: "Empty")
        try site.hierarchy.write()
        let daemon = try await site.start()
        let sync = try site.ctl(["sync", "--wait"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(try site.updates().isEmpty)
        try await waitUntil("the notice") { daemon.log.contains("has no updateinfo") }
        let sources = try site.jsonLines(site.ctl(["sources", "--json"]))
        #expect(sources.first?["last_result"] as? String == "succeeded" && sources.first?["updates"] as? Int == 0)
    }

    /// Sync 1, then sync 2 where three advisories changed, one was retracted, one vanished and a new one
    /// supersedes an old one; then an unchanged repository.
    @Test func changeKindsAcrossSyncs() async throws {
        let site = try TopSiteFixture(label: "rpm-kinds", sync: "expire-superseded-after-months = 6")
        let repo = site.folder.appendingPathComponent("repo")
        let xml = site.folder.appendingPathComponent("updateinfo.xml")
        func advisory(_ id: String, status: String = "final", issued: String = "2026-10-01", packages: [String])
            -> String
        {
            let list = packages.map { label -> String in
                let parts = label.split(separator: " ").map(String.init)
                return
                    #"<package name="\#(parts[0])" version="\#(parts[1])" release="\#(parts[2])" arch="\#(parts[3])"><filename>f.rpm</filename></package>"#
            }.joined()
            return """
                <update status="\(status)" type="security"><id>\(id)</id><title>\(id)</title>
                <issued date="\(issued)"/><pkglist><collection short="c"><name>c</name>\(list)</collection></pkglist></update>
                """
        }
        let old = advisory("OLD-1", packages: ["x 1.0 1 x86_64", "y 1.0 1 noarch"])
        try RpmTool.generate(xml, count: 12, seed: 5)
        try RpmTool.append(
            old + advisory("RET-1", packages: ["r 1 1 x86_64"]) + advisory("GONE-1", packages: ["g 1 1 x86_64"]),
            to: xml)
        try RpmTool.makeRepository(repo, updateinfo: xml, compress: "xz")
        site.hierarchy.upstream = Self.source(name: "base", url: "file://\(repo.path)", product: "Rocky Linux 9")
        try site.hierarchy.write()
        _ = try await site.start()
        #expect(try site.ctl(["sync", "--wait"]).status == 0)
        let first = try site.updates()
        #expect(first.count == 15 && first.allSatisfy { $0["revision"] as? Int == 1 })

        try RpmTool.generate(xml, count: 12, seed: 5, change: 0.25)
        try RpmTool.append(
            old + advisory("RET-1", status: "retracted", packages: ["r 1 1 x86_64"])
                + advisory(
                    "NEW-1", issued: "2026-11-20", packages: ["x 1.1 1 x86_64", "y 1.0 2 noarch", "z 1 1 noarch"]),
            to: xml)
        try RpmTool.makeRepository(repo, updateinfo: xml, compress: "xz")
        let second = try site.ctl(["sync", "--wait"])
        #expect(second.status == 0, "\(second.stderr)")
        let entry = try #require(try site.history().first)
        #expect(entry["result"] as? String == "succeeded")
        #expect(entry["new"] as? Int == 1 && entry["revised"] as? Int == 3 && entry["removed"] as? Int == 1)
        #expect(entry["expired"] as? Int == 1 && entry["superseded"] as? Int == 1, "\(entry)")
        var byAdvisory: [String: [String: Any]] = [:]
        for update in try site.updates() { byAdvisory[update["advisory"] as! String] = update }
        #expect(byAdvisory["GONE-1"] == nil && byAdvisory.count == 15)
        #expect(byAdvisory["RET-1"]?["expired"] as? Bool == true)
        #expect(byAdvisory["OLD-1"]?["superseded_by"] as? String == byAdvisory["NEW-1"]?["id"] as? String)
        #expect(byAdvisory["OLD-1"]?["revision"] as? Int == 1 && byAdvisory["NEW-1"]?["revision"] as? Int == 1)
        // The three changed ones, and the retraction (counted as expired, which takes precedence).
        #expect(byAdvisory.values.filter { $0["revision"] as? Int == 2 }.count == 4)
        #expect(byAdvisory["RET-1"]?["revision"] as? Int == 2)

        let third = try site.ctl(["sync", "--wait"])
        #expect(third.status == 0 && third.stdout.contains("unchanged"))
    }

    /// One advisory in two repositories of one product is one update with both package lists; a third
    /// source of another product; the filter selects by product and type.
    @Test func severalSourcesMergeAndFilter() async throws {
        let site = try TopSiteFixture(
            label: "rpm-merge",
            sync: #"products = ["Rocky Linux 9"]"# + "\n" + #"classifications = ["security", "bugfix"]"#)
        func repository(_ name: String, _ updates: String) throws -> URL {
            let repo = site.folder.appendingPathComponent(name)
            let xml = site.folder.appendingPathComponent("\(name).xml")
            try "<?xml version=\"1.0\"?>\n<updates>\n\(updates)\n</updates>\n".write(
                to: xml, atomically: true, encoding: .utf8)
            try RpmTool.makeRepository(repo, updateinfo: xml)
            return repo
        }
        func update(_ id: String, _ title: String, type: String = "security", package: String) -> String {
            """
            <update status="final" type="\(type)"><id>\(id)</id><title>\(title)</title><issued date="2026-01-01"/>
            <references><reference href="https://e/\(id)" id="\(id)" type="self" title="s"/></references>
            <pkglist><collection short="c"><name>c</name>\(package)</collection></pkglist></update>
            """
        }
        let baseos = try repository(
            "baseos",
            update("SHARED-1", "from baseos", package: #"<package name="a" version="1" release="1" arch="x86_64"/>"#)
                + update("ENH-1", "an enhancement", type: "enhancement", package: "")
                + update("BUG-1", "a bug fix", type: "bugfix", package: ""))
        let appstream = try repository(
            "appstream",
            update("SHARED-1", "from appstream", package: #"<package name="b" version="1" release="1" arch="x86_64"/>"#)
        )
        let other = try repository(
            "other",
            update("OTHER-1", "another product", package: #"<package name="c" version="1" release="1" arch="x86_64"/>"#)
        )
        site.hierarchy.upstream = [
            Self.source(name: "baseos", url: "file://\(baseos.path)", product: "Rocky Linux 9"),
            Self.source(name: "appstream", url: "file://\(appstream.path)", product: "Rocky Linux 9"),
            Self.source(name: "other", url: "file://\(other.path)", product: "Other Linux"),
        ].joined(separator: "\n")
        try site.hierarchy.write()
        _ = try await site.start()
        let sync = try site.ctl(["sync", "--wait"])
        #expect(sync.status == 0, "\(sync.stderr)")
        let updates = try site.updates()
        #expect(updates.compactMap { $0["advisory"] as? String }.sorted() == ["BUG-1", "SHARED-1"])
        let shared = try #require(updates.first { $0["advisory"] as? String == "SHARED-1" })
        #expect(shared["packages"] as? [String] == ["a-1-1.x86_64", "b-1-1.x86_64"])
        #expect(shared["title"] as? String == "from baseos" && shared["source"] as? String == "baseos")
        let only = try site.jsonLines(site.ctl(["updates", "--json", "--source", "baseos"]))
        #expect(only.count == 2)
        #expect(try site.jsonLines(site.ctl(["updates", "--json", "--advisory", "BUG-1"])).count == 1)
        let categories = try site.jsonLines(site.ctl(["categories", "--json"]))
        func selected(_ kind: String, _ name: String) -> Bool? {
            categories.first { $0["kind"] as? String == kind && $0["name"] as? String == name }?["selected"] as? Bool
        }
        #expect(selected("product", "Other Linux") == false && selected("product", "Rocky Linux 9") == true)
        #expect(selected("classification", "enhancement") == false && selected("classification", "security") == true)
        let sources = try site.jsonLines(site.ctl(["sources", "--json"]))
        #expect(sources.map { $0["name"] as? String } == ["baseos", "appstream", "other"])
        #expect(sources.map { $0["updates"] as? Int } == [2, 0, 0])
    }

    /// A 1 + 2 + 2 hierarchy mirrors an rpm-sourced catalog row for row, the advisory fields included,
    /// through a full snapshot and then a delta.
    @Test func hierarchyMirrorsAnRpmCatalog() async throws {
        let fixture = try HierarchyFixture(
            label: "rpm-tree", codes: [("CAS", nil), ("PR1", "CAS"), ("PR2", "CAS"), ("SE1", "PR1"), ("SE2", "PR2")])
        let repo = fixture.folder.appendingPathComponent("repo")
        let xml = fixture.folder.appendingPathComponent("updateinfo.xml")
        try RpmTool.generate(xml, count: 150, packages: 4, seed: 11)
        try RpmTool.append(Self.handWritten, to: xml)
        try RpmTool.makeRepository(repo, updateinfo: xml, compress: "zst")
        fixture.hierarchy.upstream = Self.source(name: "rocky9", url: "file://\(repo.path)", product: "Rocky Linux 9")
        try fixture.hierarchy.write()
        try await fixture.startAll()
        #expect(try fixture.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await fixture.waitForConvergence(version: 1, timeout: .seconds(60))
        let top = try fixture.updates("CAS")
        #expect(top.contains(#""advisory":"TEST-2021:0001""#) && top.contains(#""packages":["#))
        for code in fixture.codes.dropFirst() { #expect(try fixture.updates(code) == top, "\(code)") }

        try RpmTool.generate(xml, count: 150, packages: 4, seed: 11, change: 0.1)
        try RpmTool.makeRepository(repo, updateinfo: xml, compress: "zst")
        #expect(try fixture.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await fixture.waitForConvergence(version: 2, timeout: .seconds(60))
        let changed = try fixture.updates("CAS")
        #expect(changed != top)
        for code in fixture.codes.dropFirst() { #expect(try fixture.updates(code) == changed, "\(code)") }
    }
}
