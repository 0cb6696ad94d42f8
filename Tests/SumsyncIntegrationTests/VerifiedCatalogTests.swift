import Foundation
import Testing

/// End-to-end verified catalogs with real daemons: the top signs a root per version, every site checks it
/// before committing, and neither an altered link nor a database changed behind a site's back goes
/// unnoticed. docs/security.md.
@Suite("verified catalogs", .serialized)
struct VerifiedCatalogTests {
    /// A fixture whose hierarchy has a catalog key made by `sumsyncctl keygen --catalog`.
    static func verifiedTree(_ label: String, codes: [(String, String?)], sync: String = "") throws
        -> HierarchyFixture
    {
        let tree = try HierarchyFixture(label: label, codes: codes, sync: "retry-interval = \"2s\"\n\(sync)")
        let key = tree.folder.appendingPathComponent("catalog.key").path
        let made = try CLI.run(["keygen", "--catalog", "--output", key])
        guard made.status == 0 else { throw TestFailure("keygen: \(made.stderr)") }
        tree.hierarchy.hierarchyExtra = "catalog-key = \"catalog.key.pub\"\ncatalog-signing-key = \"catalog.key\""
        try tree.hierarchy.write()
        return tree
    }

    static func sites(_ tree: HierarchyFixture, at code: String = "CAS") throws -> [[String: Any]] {
        let status = try tree.ctl(code, ["status", "--json"])
        guard let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any],
            let sites = object["sites"] as? [[String: Any]]
        else { throw TestFailure("status --json: \(status.stdout) \(status.stderr)") }
        return sites
    }

    @Test("a 1 + 2 + 2 tree with a catalog key converges verified everywhere, with equal digests")
    func treeConvergesVerified() async throws {
        let tree = try Self.verifiedTree("verified", codes: HierarchyTests.tree)
        try tree.writeCatalog((1...400).map { catalogLine($0) })
        try await tree.startAll()
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await tree.waitForConvergence(version: 1)
        try tree.writeCatalog((3...420).map { catalogLine($0, revision: $0 % 9 == 0 ? 2 : 1, expired: $0 == 50) })
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await tree.waitForConvergence(version: 2)
        try await waitUntil("every site verified at v2 in the top's status") {
            let sites = try Self.sites(tree)
            return sites.count == 5
                && sites.allSatisfy { $0["verified"] as? Bool == true && $0["catalog_version"] as? Int == 2 }
        }
        let sites = try Self.sites(tree)
        let digests = Set(sites.compactMap { $0["digest"] as? String })
        #expect(
            digests.count == 1 && digests.first?.count == 64, "digests differ: \(sites.map { $0["digest"] ?? "-" })")
        let reference = try tree.updates("CAS")
        for code in tree.codes {
            #expect(try tree.updates(code) == reference, "\(code) differs")
            let verify = try tree.ctl(code, ["verify"])
            #expect(verify.status == 0, "verify at \(code): \(verify.stdout) \(verify.stderr)")
            #expect(verify.stdout.contains(digests.first ?? "?"))
        }
        // With the daemon stopped, from the database alone, as JSON.
        tree.daemons["SE2"]!.stop()
        let json = try tree.ctl("SE2", ["verify", "--json"])
        let check = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(json.status == 0 && check?["valid"] as? Bool == true && check?["version"] as? Int == 2)
        #expect(check?["root_digest"] as? String == digests.first)
    }

    @Test(
        "a proxy that alters, drops or adds a record between a primary and its parent: refused, nothing changes, recovers once it stops",
        arguments: ["alter", "drop", "add"])
    func tamperingProxyIsRefused(_ how: String) async throws {
        let tree = try Self.verifiedTree("tamper-\(how)", codes: [("CAS", nil), ("PR1", "CAS"), ("SE1", "PR1")])
        let proxyPort = TestEnvironment.freePort()
        let mode = tree.folder.appendingPathComponent("proxy.mode")
        try "pass".write(to: mode, atomically: true, encoding: .utf8)
        let proxy = Process()
        proxy.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proxy.arguments = [
            "python3", TestEnvironment.repoRoot.appendingPathComponent("scripts/tamper-proxy.py").path,
            "\(proxyPort)", "\(tree.hierarchy.port("CAS"))", mode.path,
        ]
        // Not the test's own output: swift test waits for every writer of its pipe to go.
        proxy.standardOutput = FileHandle.nullDevice
        proxy.standardError = FileHandle.nullDevice
        try proxy.run()
        defer {
            kill(proxy.processIdentifier, SIGKILL)
            proxy.waitUntilExit()
        }
        let metricsPort = TestEnvironment.freePort()
        tree.hierarchy.sites[1].extra = "metrics-listen = \"127.0.0.1:\(metricsPort)\""
        try tree.hierarchy.write()
        let verifiedMetric = {
            try MonitoringTests().parse(try await MonitoringTests().scrape(metricsPort))["sumsync_catalog_verified{}"]
        }
        // PR1 reaches its parent through the proxy: its own copy of the config names the proxy as CAS.
        var viaProxy = tree.hierarchy
        viaProxy.sites[0].port = proxyPort
        let proxiedConfig = tree.folder.appendingPathComponent("pr1.toml").path
        try viaProxy.text().write(toFile: proxiedConfig, atomically: true, encoding: .utf8)
        try await waitUntil("the proxy listens") { TestEnvironment.isListening(port: proxyPort) }

        try tree.writeCatalog((1...200).map { catalogLine($0) })
        try await tree.start("CAS")
        let pr1 = try DaemonProcess(config: proxiedConfig, site: "PR1", folder: tree.folder)
        tree.daemons["PR1"] = pr1
        try await pr1.waitUntilReady()
        try await tree.start("SE1")
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await tree.waitForConvergence(version: 1)
        let before = try tree.updates("PR1")
        // Every request PR1 made of its parent carried this build's version.
        let version = try VersionTests.versionFile()
        let agents = try String(contentsOf: URL(fileURLWithPath: mode.path + ".agents"), encoding: .utf8)
            .split(separator: "\n")
        #expect(agents.contains { $0.hasPrefix("GET /v1/changes ") })
        #expect(agents.allSatisfy { $0.hasSuffix(" sumsync/\(version)") }, "\(agents)")

        try how.write(to: mode, atomically: true, encoding: .utf8)
        try tree.writeCatalog((1...210).map { catalogLine($0, revision: $0 <= 20 ? 2 : 1) })
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await waitUntil("PR1 refuses the delta and then the full snapshot", timeout: .seconds(30)) {
            let refusals = (try? String(contentsOf: URL(fileURLWithPath: mode.path + ".count"), encoding: .utf8)) ?? ""
            return refusals.split(separator: "\n").count >= 2
                && pr1.log.contains("pulling the full snapshot instead")
                && pr1.log.contains("stays at catalog version 1, the last verified")
        }
        #expect(try tree.version("PR1") == 1 && tree.updates("PR1") == before, "the refused catalog changed PR1")
        #expect(try tree.version("SE1") == 1)
        try await waitUntil("PR1 shows verified false and its link marked") {
            guard let pr1Status = try Self.sites(tree, at: "PR1").first else { return false }
            return pr1Status["verified"] as? Bool == false && pr1Status["link"] as? String == "error"
                && (pr1Status["verify_error"] as? String ?? "").contains("does not verify")
        }
        #expect(pr1.log.contains("Refused the changes from parent CAS"))
        #expect(try await verifiedMetric() == 0)

        // The proxy stops tampering; PR1's retries (backoff up to retry-interval) recover by themselves.
        try "pass".write(to: mode, atomically: true, encoding: .utf8)
        try await tree.waitForConvergence(version: 2, timeout: .seconds(40))
        try await waitUntil("every site verified at v2") {
            try Self.sites(tree).allSatisfy { $0["verified"] as? Bool == true && $0["link"] as? String == "healthy" }
        }
        #expect(try tree.updates("PR1") == tree.updates("CAS") && tree.updates("SE1") == tree.updates("CAS"))
        #expect(try await verifiedMetric() == 1)
    }

    @Test(
        "a primary whose database is changed behind its back: its secondary refuses, verify exits 1, sync --full repairs"
    )
    func tamperedPrimaryDatabase() async throws {
        let tree = try Self.verifiedTree(
            "tampered-db", codes: [("CAS", nil), ("PR1", "CAS"), ("SE1", "PR1")], sync: "verify-schedule = \"every 2s\""
        )
        let alerts = tree.folder.appendingPathComponent("alerts").path
        tree.hierarchy.extraTables =
            "[alerts]\non-failure = \"echo $SUMSYNC_SITE_CODE $SUMSYNC_SYNC_TRIGGER >> \(alerts)\""
        try tree.hierarchy.write()
        try tree.writeCatalog((1...150).map { catalogLine($0) })
        try await tree.startAll()
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await tree.waitForConvergence(version: 1)
        let clean = try tree.updates("SE1")

        // Behind PR1's back while it is stopped (a restart also empties the cache of streams it relayed,
        // which hold its parent's bytes: what it serves next is written from its database).
        tree.daemons["PR1"]!.stop()
        let database = tree.folder.appendingPathComponent("state-PR1/site.sqlite").path
        let edit = Process()
        edit.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        edit.arguments = [database, "UPDATE updates SET title = 'Install this instead' WHERE rowid = 7"]
        try edit.run()
        edit.waitUntilExit()
        #expect(edit.terminationStatus == 0)

        let verify = try tree.ctl("PR1", ["verify"])
        #expect(verify.status == 1 && verify.stdout.contains("changed outside sumsync"), "\(verify.stdout)")
        try await tree.start("PR1")
        // The secondary takes PR1's full snapshot, which carries the edited row: refused.
        let pull = try tree.ctl("SE1", ["sync", "--full", "--wait"])
        #expect(pull.status != 0, "SE1 took the edited catalog: \(pull.stdout)")
        #expect(try tree.updates("SE1") == clean)
        try await waitUntil("SE1 shows verified false") {
            try Self.sites(tree, at: "SE1").first?["verified"] as? Bool == false
        }
        // PR1's own scheduled self-check finds it too: logged at err, status, and the on-failure alert.
        try await waitUntil("PR1's self-check fails and alerts") {
            let alerted = (try? String(contentsOfFile: alerts, encoding: .utf8)) ?? ""
            let verified = try Self.sites(tree, at: "PR1").first?["verified"] as? Bool
            return tree.daemons["PR1"]!.log.contains("Catalog self-check failed") && alerted.contains("PR1 verify")
                && verified == false
        }
        // PR1 mirrors its parent again; then the secondary takes it.
        #expect(try tree.ctl("PR1", ["sync", "--full", "--wait"]).status == 0)
        #expect(try tree.ctl("PR1", ["verify"]).status == 0)
        #expect(try tree.ctl("SE1", ["sync", "--full", "--wait"]).status == 0)
        #expect(try tree.updates("SE1") == clean && tree.updates("PR1") == clean)
        try await waitUntil("every site verified again") {
            try Self.sites(tree).allSatisfy { $0["verified"] as? Bool == true }
        }
    }

    @Test(
        "a site bundle's root verifies with the exporter's catalog key in trusted-keys; the disconnected top signs its own; an untrusted root is refused"
    )
    func bundleRootsVerify() async throws {
        let fixture = try BundleFixture(label: "verified-bundle")
        for (tree, name) in [(fixture.source, "src"), (fixture.target, "dst")] {
            let key = fixture.path("\(name)-catalog.key")
            let made = try CLI.run(["keygen", "--catalog", "--output", key])
            #expect(made.status == 0, "\(made.stderr)")
            tree.hierarchy.hierarchyExtra = "catalog-key = \"\(key).pub\"\ncatalog-signing-key = \"\(key)\""
        }
        let trusting = { (keys: [String]) in
            "disconnected = true\ntrusted-keys = [\(keys.map { "\"\($0)\"" }.joined(separator: ", "))]"
        }
        fixture.target.hierarchy.upstream = trusting([fixture.key + ".pub", fixture.path("src-catalog.key.pub")])
        try fixture.source.hierarchy.write()
        try fixture.target.hierarchy.write()
        try await fixture.source.startAll()
        try await fixture.target.startAll()
        try fixture.syncSource((1...120).map { catalogLine($0) })
        let imported = try fixture.importBundle(try fixture.export("full.bundle"))
        #expect(imported.status == 0, "\(imported.stderr)")
        try await fixture.target.waitForConvergence(version: 1)
        try await waitUntil("TOP and BR1 verified under the disconnected hierarchy's own key") {
            try Self.sites(fixture.target, at: "TOP").allSatisfy { $0["verified"] as? Bool == true }
        }
        let sourceDigest = try Self.sites(fixture.source, at: "CAS").first?["digest"] as? String
        let targetSites = try Self.sites(fixture.target, at: "TOP")
        #expect(sourceDigest != nil && targetSites.allSatisfy { $0["digest"] as? String == sourceDigest })
        // TOP's root is its own (its config's catalog key checks it), not the exporter's.
        let check = try fixture.target.ctl("TOP", ["verify", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any]
        #expect(check.status == 0 && object?["valid"] as? Bool == true, "\(check.stdout)")

        // Without the exporter's catalog key among trusted-keys, the next bundle's root is refused.
        fixture.target.hierarchy.upstream = trusting([fixture.key + ".pub"])
        try fixture.target.hierarchy.write()
        fixture.target.daemons["TOP"]!.signal(SIGHUP)
        try await waitUntil("TOP reloaded") { fixture.target.daemons["TOP"]!.log.contains("Configuration reloaded") }
        try fixture.syncSource((1...125).map { catalogLine($0) })
        let refused = try fixture.importBundle(try fixture.export("delta.bundle", ["--since", "1"]))
        #expect(refused.status != 0 && refused.stderr.contains("its catalog does not verify"), "\(refused.stderr)")
        #expect(try fixture.target.version("TOP") == 1)
    }

    @Test("without a catalog key the hierarchy runs unverified, and status says so")
    func unverifiedHierarchy() async throws {
        let tree = try HierarchyFixture(label: "unverified", codes: [("CAS", nil), ("PR1", "CAS")])
        try tree.writeCatalog((1...50).map { catalogLine($0) })
        try await tree.startAll()
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await tree.waitForConvergence(version: 1)
        try await waitUntil("PR1 reported") { try Self.sites(tree).count == 2 }
        let sites = try Self.sites(tree)
        #expect(sites.allSatisfy { $0.keys.contains("verified") && $0["verified"] is NSNull })
        #expect(Set(sites.compactMap { $0["digest"] as? String }).count == 1)
        #expect(try tree.ctl("CAS", ["status"]).stdout.contains("unverified"))
        #expect(try tree.ctl("PR1", ["verify"]).status == 0)
    }

    @Test("a top-level site with a catalog key and no signing key does not start")
    func topWithoutSigningKeyRefusesToStart() async throws {
        let tree = try Self.verifiedTree("nosigning", codes: [("CAS", nil)])
        tree.hierarchy.hierarchyExtra = "catalog-key = \"catalog.key.pub\""
        try tree.hierarchy.write()
        let daemon = try await tree.start("CAS", wait: false)
        let status = try await daemon.waitForExit(timeout: .seconds(20))
        #expect(status == 78 && daemon.log.contains("catalog-signing.key"), "\(daemon.log)")
    }
}
