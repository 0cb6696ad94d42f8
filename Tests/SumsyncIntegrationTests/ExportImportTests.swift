import Foundation
import Testing

/// Signed bundles between real daemons: export from a synced site, import into the disconnected top site
/// of another hierarchy whose child converges; every refusal through `sumsyncctl import` changes nothing.
@Suite("export and import", .serialized)
struct ExportImportTests {
    @Test("a full and then a delta bundle carry a site's catalog to a disconnected hierarchy, child included")
    func exportImportConverges() async throws {
        let fixture = try BundleFixture(label: "bundle")
        try await fixture.source.startAll()
        try await fixture.target.startAll()
        try fixture.syncSource((1...200).map { catalogLine($0, expired: $0 % 50 == 0) })

        let full = try fixture.export("full.bundle")
        var result = try fixture.importBundle(full)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("200 new") && result.stdout.contains("catalog version 1"), "\(result.stdout)")
        try await fixture.target.waitForConvergence(version: 1)
        let reference = try fixture.source.updates("CAS")
        #expect(reference.split(separator: "\n").count == 200)
        #expect(try fixture.target.updates("TOP") == reference)
        #expect(try fixture.target.updates("BR1") == reference)

        // A delta: one revised, one removed, one new; the child follows again.
        try fixture.syncSource((2...201).map { catalogLine($0, revision: $0 == 7 ? 2 : 1, expired: $0 % 50 == 0) })
        let delta = try fixture.export("delta.bundle", ["--since", "1"])
        result = try fixture.importBundle(delta)
        #expect(result.status == 0, "\(result.stderr)")
        try await fixture.target.waitForConvergence(version: 2)
        let changed = try fixture.source.updates("CAS")
        #expect(try fixture.target.updates("TOP") == changed)
        #expect(try fixture.target.updates("BR1") == changed)
        let history = try fixture.target.history("TOP")
        #expect(
            history.count == 2
                && history.allSatisfy { $0["trigger"] as? String == "import" && $0["result"] as? String == "succeeded" }
        )
        #expect(
            history[0]["new"] as? Int == 1 && history[0]["revised"] as? Int == 1 && history[0]["removed"] as? Int == 1)
        #expect(try fixture.target.history("BR1").first?["trigger"] as? String == "parent")
        let log = fixture.target.daemons["TOP"]!.log
        #expect(log.contains("Imported bundle \(delta)") && log.contains("import.file=\(delta)"), "\(log)")
    }

    @Test("a site bundle carries an rpm-sourced catalog, advisory fields included")
    func rpmCatalogBundle() async throws {
        let fixture = try BundleFixture(label: "bundle-rpm")
        let repo = fixture.source.folder.appendingPathComponent("repo")
        let xml = fixture.source.folder.appendingPathComponent("updateinfo.xml")
        try RpmTool.generate(xml, count: 80, seed: 21)
        try RpmTool.append(RpmSourceTests.handWritten, to: xml)
        try RpmTool.makeRepository(repo, updateinfo: xml, compress: "xz")
        fixture.source.hierarchy.upstream = RpmSourceTests.source(
            name: "rocky9", url: "file://\(repo.path)", product: "Rocky Linux 9")
        try fixture.source.hierarchy.write()
        try await fixture.source.startAll()
        try await fixture.target.startAll()
        #expect(try fixture.source.ctl("CAS", ["sync", "--wait"]).status == 0)
        let result = try fixture.importBundle(try fixture.export("rpm.bundle"))
        #expect(result.status == 0, "\(result.stderr)")
        try await fixture.target.waitForConvergence(version: 1)
        let reference = try fixture.source.updates("CAS")
        #expect(reference.contains(#""advisory":"TEST-2021:0004""#) && reference.contains(#""reboot_suggested":true"#))
        #expect(try fixture.target.updates("TOP") == reference)
        #expect(try fixture.target.updates("BR1") == reference)
    }

    @Test("every kind of bad bundle is refused with a clear error and changes nothing")
    func refusals() async throws {
        let fixture = try BundleFixture(label: "refuse")
        try await fixture.source.startAll()
        try await fixture.target.startAll()
        try fixture.syncSource((1...60).map { catalogLine($0) })
        #expect(try fixture.importBundle(try fixture.export("full.bundle")).status == 0)
        try await fixture.target.waitForConvergence(version: 1)
        try fixture.syncSource((1...61).map { catalogLine($0) })
        try fixture.export("delta.bundle", ["--since", "1"])  // 1 → 2: fits the target
        try fixture.syncSource((1...62).map { catalogLine($0) })
        let gap = try fixture.export("gap.bundle", ["--since", "2"])  // 2 → 3: does not

        let otherKey = fixture.path("other.key")
        #expect(try CLI.run(["keygen", "--output", otherKey]).status == 0)
        let untrusted = try fixture.export("untrusted.bundle", ["--since", "1"], signingKey: otherKey)
        let otherFilter = try CLI.run([
            "export", "--output", fixture.path("filter.bundle"), "--signing-key", fixture.key,
            "--from-catalog", "file://\(fixture.source.catalogPath.path)", "--config", try filterConfig(fixture),
        ])
        #expect(otherFilter.status == 0, "\(otherFilter.stderr)")

        let cases: [(String, String, String)] = [
            (
                "bad signature",
                try fixture.altered("delta.bundle", as: "signature.bundle") { data in
                    let range = data.range(of: Data("\"records\":".utf8))!
                    data[range.upperBound] =
                        data[range.upperBound] == UInt8(ascii: "9") ? UInt8(ascii: "8") : UInt8(ascii: "9")
                }, "bad signature"
            ),
            ("untrusted key", untrusted, "not in this site's [upstream] trusted-keys"),
            (
                "tampered payload",
                try fixture.altered("delta.bundle", as: "tampered.bundle") { $0[$0.count - 30] ^= 0x20 },
                "tampered payload"
            ),
            (
                "truncated file", try fixture.altered("delta.bundle", as: "short.bundle") { $0.removeLast(40) },
                "truncated"
            ),
            (
                "truncated header", try fixture.altered("delta.bundle", as: "stub.bundle") { $0 = $0.prefix(60) },
                "truncated"
            ),
            ("version gap", gap, "version gap"),
            (
                "unknown format", try fixture.altered("delta.bundle", as: "v9.bundle") { $0[15] = UInt8(ascii: "9") },
                "format version 9"
            ),
            ("different filter", fixture.path("filter.bundle"), "different filter"),
        ]
        let updates = try fixture.target.updates("TOP")
        for (kind, path, message) in cases {
            let result = try fixture.importBundle(path)
            #expect(result.status == 1, "\(kind): exit \(result.status)")
            #expect(
                result.stderr.contains(message) && result.stderr.contains("nothing was applied"),
                "\(kind): \(result.stderr)")
            #expect(try fixture.target.version("TOP") == 1, "\(kind) changed the catalog version")
            #expect(try fixture.target.updates("TOP") == updates, "\(kind) changed the updates")
            let last = try fixture.target.history("TOP").first
            #expect(last?["trigger"] as? String == "import" && last?["result"] as? String == "failed", "\(kind)")
        }
        #expect(try fixture.target.updates("BR1") == updates)
        let log = fixture.target.daemons["TOP"]!.log
        #expect(log.contains("Could not import bundle \(fixture.path("tampered.bundle"))"), "\(log)")

        // The good delta still fits afterwards, and --force takes the other filter's catalog bundle.
        #expect(try fixture.importBundle(fixture.path("delta.bundle")).status == 0)
        try await fixture.target.waitForConvergence(version: 2)
        let forced = try fixture.importBundle(fixture.path("filter.bundle"), ["--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        try await fixture.target.waitForConvergence(version: 3)
        #expect(try fixture.target.updates("TOP").split(separator: "\n").count == 5)
    }

    @Test("a disconnected top site syncs by import only; a connected site refuses imports")
    func disconnectedSyncsByImportOnly() async throws {
        let fixture = try BundleFixture(label: "disc")
        try await fixture.source.startAll()
        let top = try await fixture.target.start("TOP")
        let sync = try fixture.target.ctl("TOP", ["sync", "--wait"])
        #expect(sync.status == 1 && sync.stderr.contains("syncs by import only"), "\(sync.stderr)")
        top.signal(SIGUSR1)
        try await waitUntil("the daemon to say SIGUSR1 does nothing") {
            top.log.contains("Ignored the manual sync request from SIGUSR1")
        }
        #expect(try fixture.target.history("TOP").isEmpty)
        let ping = try fixture.target.ctl("TOP", ["ping"])
        #expect(ping.stdout.contains("Disconnected: syncs by import only"), "\(ping.stdout)")

        try fixture.syncSource((1...3).map { catalogLine($0) })
        let bundle = try fixture.export("full.bundle")
        let connected = try fixture.source.ctl("CAS", ["import", bundle])
        #expect(
            connected.status == 1 && connected.stderr.contains("only a site with [upstream] disconnected = true"),
            "\(connected.stderr)")
        let missing = try fixture.target.ctl("TOP", ["import", fixture.path("nowhere.bundle")])
        #expect(missing.status == 1 && missing.stderr.contains("no such file"), "\(missing.stderr)")
    }

    @Test("export --from-catalog reads an HTTP upstream with the config's filter; the bundle imports as a catalog sync")
    func catalogBundleOverHTTP() async throws {
        let upstream = try await UpstreamServer()
        defer { upstream.stop() }
        let lines = (1...30).map { catalogLine($0, product: $0 % 3 == 0 ? "Edge" : "Windows 11") }
        upstream.serve(Data((lines.joined(separator: "\n") + "\n").utf8), etag: "\"c1\"")
        let fixture = try BundleFixture(label: "http")
        fixture.target.hierarchy.sync = "products = [\"Edge\"]"
        try fixture.target.hierarchy.write()
        try await fixture.target.startAll()
        let bundle = fixture.path("catalog.bundle")
        let export = try fixture.target.ctl(
            "TOP", ["export", "--output", bundle, "--signing-key", fixture.key, "--from-catalog", upstream.url])
        #expect(
            export.status == 0 && export.stdout.contains("catalog bundle from \(upstream.url) (10 updates)"),
            "\(export.stderr)")
        let result = try fixture.importBundle(bundle)
        #expect(result.status == 0 && result.stdout.contains("10 new"), "\(result.stderr)")
        try await fixture.target.waitForConvergence(version: 1)
        let updates = try fixture.target.updates("BR1")
        #expect(updates.split(separator: "\n").count == 10 && !updates.contains("Windows 11"))
    }

    /// A copy of the source's config whose [sync] keeps only 5 of the catalog's updates' product.
    func filterConfig(_ fixture: BundleFixture) throws -> String {
        try fixture.source.writeCatalog((1...62).map { catalogLine($0, product: $0 <= 5 ? "Edge" : "Windows 11") })
        var hierarchy = fixture.source.hierarchy
        hierarchy.sync = "products = [\"Edge\"]"
        let path = fixture.path("edge.toml")
        try hierarchy.text().write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            atPath: fixture.source.folder.appendingPathComponent("hierarchy.key").path,
            toPath: fixture.path("hierarchy.key")
        )
        return path
    }
}

/// The import entries in a real (private) journald, with the fields the journal catalog uses.
@Suite("export and import: journal", .serialized)
struct ImportJournalTests {
    static let importCompleted = "2991000fcb2e4597a47016bb23314fa2"
    static let importFailed = "a3da725204e74638bcdc8db20c1ab6e0"
    static let syncCompleted = "8eb96b7d751e4960944a22e84edd16a0"
    static let syncFailed = "77ef2ce3ef9648f29c402d80655bbdba"

    @Test("import completed and import failed entries carry sync.id, trigger import, import.file, catalog.version")
    func importEntries() async throws {
        try #require(TestEnvironment.isRoot, "needs root for a private mount namespace (CI runs as root)")
        let folder = TestEnvironment.scratch("import-journal")
        defer { try? FileManager.default.removeItem(at: folder) }
        let ctl = try TestEnvironment.binary("sumsyncctl")
        let key = folder.appendingPathComponent("export.key").path
        #expect(try CLI.run(["keygen", "--output", key]).status == 0)
        var hierarchy = TestHierarchy(folder: folder, codes: [("TOP", nil)])
        hierarchy.upstream = "disconnected = true\ntrusted-keys = [\"\(key).pub\"]"
        let config = try hierarchy.write()
        let catalog = folder.appendingPathComponent("catalog.ndjson")
        try ((1...4).map { catalogLine($0) }.joined(separator: "\n") + "\n").write(
            to: catalog, atomically: true, encoding: .utf8)
        let good = folder.appendingPathComponent("good.bundle").path
        let export = try CLI.run([
            "export", "--config", config, "--output", good, "--signing-key", key, "--from-catalog",
            "file://\(catalog.path)",
        ])
        #expect(export.status == 0, "\(export.stderr)")
        var bad = try Data(contentsOf: URL(fileURLWithPath: good))
        bad[bad.count - 20] ^= 0x01
        let badPath = folder.appendingPathComponent("bad.bundle").path
        try bad.write(to: URL(fileURLWithPath: badPath))

        let journal = PrivateJournal(folder: folder.appendingPathComponent("journal"))
        try FileManager.default.createDirectory(at: journal.folder, withIntermediateDirectories: true)
        let options = "--site TOP --state-dir \(folder.path)/state --runtime-dir \(folder.path)/run"
        let result = try journal.run(
            """
            \(try TestEnvironment.binary("sumsyncd")) --config \(config) \(options) --log-target journal &
            PID=$!
            for i in $(seq 200); do \(ctl) ping \(options) >/dev/null 2>&1 && break; sleep 0.05; done
            \(ctl) import \(good) \(options) >/dev/null 2>&1 && echo "good-exit=0"
            \(ctl) import \(badPath) \(options) >/dev/null 2>&1 || echo "bad-exit=$?"
            kill -TERM $PID; wait $PID
            """
        )
        #expect(
            result.stdout.contains("good-exit=0") && result.stdout.contains("bad-exit=1"),
            "\(result.stdout)\n\(result.stderr)")
        let entries = try journal.entries().filter { $0["SYSLOG_IDENTIFIER"] as? String == "sumsyncd" }
        func entry(_ id: String) -> [String: Any]? { entries.first { $0["MESSAGE_ID"] as? String == id } }

        let completed = try #require(entry(Self.importCompleted))
        #expect(completed["PRIORITY"] as? String == "5")
        #expect(
            completed["SUMSYNC_SYNC_TRIGGER"] as? String == "import"
                && completed["SUMSYNC_IMPORT_FILE"] as? String == good)
        #expect(
            completed["SUMSYNC_CATALOG_VERSION"] as? String == "1" && completed["SUMSYNC_SYNC_NEW"] as? String == "4")
        #expect(completed["SUMSYNC_SYNC_ID"] as? String == entry(Self.syncCompleted)?["SUMSYNC_SYNC_ID"] as? String)
        let failed = try #require(entry(Self.importFailed))
        #expect(failed["PRIORITY"] as? String == "3")
        #expect(
            failed["SUMSYNC_SYNC_TRIGGER"] as? String == "import" && failed["SUMSYNC_IMPORT_FILE"] as? String == badPath
        )
        #expect(failed["SUMSYNC_CATALOG_VERSION"] as? String == "1")
        #expect((failed["SUMSYNC_SYNC_ERROR"] as? String)?.contains("tampered payload") == true)
        #expect(failed["SUMSYNC_SYNC_ID"] as? String == entry(Self.syncFailed)?["SUMSYNC_SYNC_ID"] as? String)
    }
}
