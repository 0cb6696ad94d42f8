import Foundation
import Testing

/// Bad rpm input fails its own source only: its updates stay exactly as they were, the other source
/// applies, and the sync is `partial` with the error naming the source and what is wrong.
@Suite("rpm sources: bad input", .serialized)
struct RpmSourceFailureTests {
    /// Two sources: `alpha` by file://, `beta` over HTTP (optionally signed), synced once.
    final class TwoSources: @unchecked Sendable {
        let site: TopSiteFixture
        let server: RepositoryServer
        let alpha: URL
        let beta: URL
        let gpg: GPGKeys?

        init(label: String, signed: Bool = false) async throws {
            site = try TopSiteFixture(label: label)
            alpha = site.folder.appendingPathComponent("alpha")
            beta = site.folder.appendingPathComponent("beta")
            gpg = signed ? try GPGKeys(folder: site.folder.appendingPathComponent("gpg")) : nil
            try RpmTool.generate(site.folder.appendingPathComponent("alpha.xml"), count: 20, seed: 1)
            try RpmTool.makeRepository(alpha, updateinfo: site.folder.appendingPathComponent("alpha.xml"))
            try RpmTool.generate(site.folder.appendingPathComponent("beta.xml"), count: 20, seed: 2)
            try RpmTool.makeRepository(beta, updateinfo: site.folder.appendingPathComponent("beta.xml"))
            try gpg?.sign(beta, with: 0)
            server = try await RepositoryServer(root: site.folder)
            site.hierarchy.upstream =
                "max-metadata-size = \"1 MiB\"\n"
                + RpmSourceTests.source(name: "alpha", url: "file://\(alpha.path)", product: "Alpha") + "\n"
                + RpmSourceTests.source(
                    name: "beta", url: server.url("beta"), product: "Beta",
                    extra: gpg.map { "gpg-key = \"\($0.publicKey(0).path)\"" } ?? "")
            try site.hierarchy.write()
            _ = try await site.start()
            let first = try site.ctl(["sync", "--wait"])
            #expect(first.status == 0, "\(first.stderr)")
        }

        func listing(_ source: String) throws -> String {
            try site.ctl(["updates", "--json", "--include-expired", "--source", source]).stdout
        }

        /// A new version of beta's advisories, in a repository made afresh (unsigned).
        func changeBeta(count: Int = 20, compress: String = "gz") throws -> URL {
            let xml = site.folder.appendingPathComponent("beta.xml")
            try RpmTool.generate(xml, count: count, seed: 2, change: 0.5)
            try RpmTool.makeRepository(beta, updateinfo: xml, compress: compress)
            return xml
        }

        func writeBeta(_ xml: String) throws {
            let file = site.folder.appendingPathComponent("beta.xml")
            try xml.write(to: file, atomically: true, encoding: .utf8)
            try RpmTool.makeRepository(beta, updateinfo: file)
        }

        deinit { server.stop() }
    }

    /// What breaks beta, and words its error must hold.
    static let cases: [(String, [String])] = [
        ("checksum mismatch", ["fails its checksum"]),
        ("truncated compressed file", ["cut short"]),
        ("malformed XML", ["line 3 column"]),
        ("missing id", ["without an <id>", "line 3"]),
        ("unparseable date", ["BAD-DATE-1", "15mangled2"]),
        ("updateinfo 404", ["HTTP 404"]),
        ("over the size cap", ["max-metadata-size"]),
        ("signature missing", ["repomd.xml.asc"]),
        ("signed by another key", ["does not verify"]),
    ]

    @Test(arguments: cases)
    func badSourceKeepsItsUpdatesWhileTheOtherApplies(kind: String, words: [String]) async throws {
        let fixture = try await TwoSources(label: "rpm-bad", signed: kind.hasPrefix("sign"))
        let site = fixture.site
        let betaBefore = try fixture.listing("beta")
        #expect(betaBefore.split(separator: "\n").count == 20)
        let versionBefore = try #require(try site.history().first?["catalog_version"] as? Int)

        // alpha changes for real; beta breaks.
        try RpmTool.generate(site.folder.appendingPathComponent("alpha.xml"), count: 20, seed: 1, change: 0.25)
        try RpmTool.makeRepository(fixture.alpha, updateinfo: site.folder.appendingPathComponent("alpha.xml"))
        switch kind {
        case "checksum mismatch":
            _ = try fixture.changeBeta()
            let file = try RpmTool.updateinfoFile(in: fixture.beta)
            var bytes = try Data(contentsOf: file)
            bytes[bytes.count / 2] ^= 0xFF
            try bytes.write(to: file)
        case "truncated compressed file":
            _ = try fixture.changeBeta(compress: "xz")
            let file = try RpmTool.updateinfoFile(in: fixture.beta)
            let bytes = try Data(contentsOf: file)
            try bytes.prefix(bytes.count / 2).write(to: file)
            // The mirror states the cut file's checksum, so the decompressor is what notices.
            try RpmTool.run(["fix-repomd", fixture.beta.path])
        case "malformed XML":
            try fixture.writeBeta(
                "<?xml version=\"1.0\"?>\n<updates>\n<update type=\"security\"><id>X</id><title>t</oops></update>\n</updates>\n"
            )
        case "missing id":
            try fixture.writeBeta(
                "<?xml version=\"1.0\"?>\n<updates>\n<update type=\"security\"><title>no id</title><issued date=\"2020-01-01\"/></update>\n</updates>\n"
            )
        case "unparseable date":
            try fixture.writeBeta(
                "<?xml version=\"1.0\"?>\n<updates>\n<update type=\"security\"><id>BAD-DATE-1</id><title>t</title><issued date=\"15mangled2\"/></update>\n</updates>\n"
            )
        case "updateinfo 404":
            _ = try fixture.changeBeta()
            try FileManager.default.removeItem(at: try RpmTool.updateinfoFile(in: fixture.beta))
        case "over the size cap":
            // A zstd file of a few hundred KB that unpacks to 3 GiB of well-formed XML; the cap is 1 MiB.
            _ = try fixture.changeBeta(compress: "zst")
            let file = try RpmTool.updateinfoFile(in: fixture.beta)
            let script =
                "{ printf '<?xml version=\"1.0\"?>\\n<updates>\\n'; head -c 3G /dev/zero | tr '\\0' ' '; } | zstd -q -1 -T2 -f -o \"$1\""
            let made = try CLI.exec("/bin/bash", ["-c", script, "bomb", file.path])
            #expect(made.status == 0, "\(made.stderr)")
            try RpmTool.run(["fix-repomd", fixture.beta.path])
        case "signature missing":
            _ = try fixture.changeBeta()
        case "signed by another key":
            _ = try fixture.changeBeta()
            try fixture.gpg?.sign(fixture.beta, with: 1)
        default:
            Issue.record("unknown case \(kind)")
        }

        let sync = try site.ctl(["sync", "--wait"])
        #expect(sync.status == 1, "\(sync.stdout)")
        #expect(sync.stderr.contains("partial"), "\(sync.stderr)")
        let entry = try #require(try site.history().first)
        let error = entry["error"] as? String ?? ""
        #expect(entry["result"] as? String == "partial")
        #expect(error.contains("source beta"), "\(error)")
        for word in words { #expect(error.contains(word), "\(kind): \(error)") }
        #expect(entry["revised"] as? Int == 5 && entry["removed"] as? Int == 0, "\(entry)")
        #expect((entry["catalog_version"] as? Int ?? 0) == versionBefore + 1)
        #expect(try fixture.listing("beta") == betaBefore)
        let sources = try site.jsonLines(site.ctl(["sources", "--json"]))
        #expect(sources.map { $0["last_result"] as? String } == ["succeeded", "failed"])
        // status, the journal's entry and the retry of a failed sync.
        let status = try JSONSerialization.jsonObject(with: Data(site.ctl(["status", "--json"]).stdout.utf8))
        let own = ((status as? [String: Any])?["sites"] as? [[String: Any]])?.first
        #expect(
            own?["state"] as? String == "failed" && (own?["last_error"] as? String)?.contains("source beta") == true)
        let log = site.daemon?.log ?? ""
        #expect(log.contains("partly applied") && log.contains("Source beta failed"))
        #expect(log.contains("Will retry the sync"))
        #expect((sources.last?["error"] as? String)?.contains(words[0]) == true)

        // Mended, beta applies on the next sync.
        _ = try fixture.changeBeta()
        try fixture.gpg?.sign(fixture.beta, with: 0)
        let mended = try site.ctl(["sync", "--wait"])
        #expect(mended.status == 0, "\(mended.stderr)")
        #expect(try fixture.listing("beta") != betaBefore)
    }

    /// `skip-invalid`: a bad advisory is skipped with a warning; the rest of the source applies.
    @Test func skipInvalidSkipsABadAdvisory() async throws {
        let site = try TopSiteFixture(label: "rpm-skip")
        let repo = site.folder.appendingPathComponent("repo")
        let xml = site.folder.appendingPathComponent("updateinfo.xml")
        try RpmTool.generate(xml, count: 5, seed: 4)
        try RpmTool.append(
            #"<update status="final" type="security"><id>BAD-1</id><title>t</title><issued date="15mangled2"/></update>"#,
            to: xml)
        try RpmTool.makeRepository(repo, updateinfo: xml)
        site.hierarchy.upstream =
            "skip-invalid = true\n" + RpmSourceTests.source(name: "s", url: "file://\(repo.path)", product: "S")
        try site.hierarchy.write()
        let daemon = try await site.start()
        let sync = try site.ctl(["sync", "--wait"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(try site.updates().count == 5)
        #expect(daemon.log.contains("skipped an invalid advisory: advisory BAD-1"))
    }

    /// A catalog among rpm sources: its lines marked with its name; a malformed or empty catalog fails
    /// only itself.
    @Test func catalogSourceAmongOthers() async throws {
        let site = try TopSiteFixture(label: "rpm-mixed")
        let repo = site.folder.appendingPathComponent("repo")
        let xml = site.folder.appendingPathComponent("updateinfo.xml")
        try RpmTool.generate(xml, count: 10, seed: 6)
        try RpmTool.makeRepository(repo, updateinfo: xml)
        try site.writeCatalog((1...30).map { catalogLine($0) })
        site.hierarchy.upstream =
            RpmSourceTests.source(name: "rocky", url: "file://\(repo.path)", product: "Rocky Linux 9") + "\n"
            + "[[upstream.source]]\nname = \"windows\"\nformat = \"catalog\"\nurl = \"file://\(site.catalogPath.path)\"\n"
        try site.hierarchy.write()
        _ = try await site.start()
        #expect(try site.ctl(["sync", "--wait"]).status == 0)
        let windows = try site.jsonLines(site.ctl(["updates", "--json", "--source", "windows"]))
        #expect(windows.count == 30 && windows.allSatisfy { $0["advisory"] is NSNull && $0["cves"] as? [String] == [] })
        let before = try site.ctl(["updates", "--json", "--source", "windows"]).stdout

        for broken in ["{\"id\":\"x\"", ""] {
            try (broken + "\n").write(to: site.catalogPath, atomically: true, encoding: .utf8)
            let sync = try site.ctl(["sync", "--wait"])
            #expect(sync.status == 1)
            let entry = try #require(try site.history().first)
            #expect(entry["result"] as? String == "partial" && entry["removed"] as? Int == 0, "\(entry)")
            #expect((entry["error"] as? String)?.contains("source windows") == true, "\(entry)")
            #expect(try site.ctl(["updates", "--json", "--source", "windows"]).stdout == before)
        }
        try site.writeCatalog((1...31).map { catalogLine($0) })
        let mended = try site.ctl(["sync", "--wait"])
        #expect(mended.status == 0 && mended.stdout.contains("1 new"), "\(mended.stdout)")
    }

    @Test func everySourceFailingFailsTheSync() async throws {
        let fixture = try await TwoSources(label: "rpm-allbad")
        let site = fixture.site
        let before = try site.updates()
        try FileManager.default.removeItem(at: fixture.alpha.appendingPathComponent("repodata"))
        _ = try fixture.changeBeta()
        try FileManager.default.removeItem(at: try RpmTool.updateinfoFile(in: fixture.beta))
        let sync = try site.ctl(["sync", "--wait"])
        #expect(sync.status == 1)
        let entry = try #require(try site.history().first)
        #expect(entry["result"] as? String == "failed" && entry["catalog_version"] as? Int == 1)
        let error = entry["error"] as? String ?? ""
        #expect(error.contains("source alpha") && error.contains("source beta"), "\(error)")
        #expect(try site.updates().count == before.count)
    }

    /// `kill -9` while a large updateinfo is being read: after a restart the catalog is the old one, and
    /// the next sync applies the new one.
    @Test func killedMidParseKeepsTheOldCatalog() async throws {
        let site = try TopSiteFixture(label: "rpm-kill9")
        let repo = site.folder.appendingPathComponent("repo")
        let xml = site.folder.appendingPathComponent("updateinfo.xml")
        try RpmTool.generate(xml, count: 10, seed: 9)
        try RpmTool.makeRepository(repo, updateinfo: xml, compress: "none")
        site.hierarchy.upstream = RpmSourceTests.source(name: "big", url: "file://\(repo.path)", product: "Big")
        try site.hierarchy.write()
        let daemon = try await site.start()
        #expect(try site.ctl(["sync", "--wait"]).status == 0)
        let before = try site.updates()

        try RpmTool.generate(xml, count: 8_000, seed: 9)
        try RpmTool.makeRepository(repo, updateinfo: xml, compress: "none")
        #expect(try site.ctl(["sync"]).status == 0)
        let sources = site.folder.appendingPathComponent("state-CAS/sources")
        try await waitUntil("the source's records being written", timeout: .seconds(60)) {
            try FileManager.default.contentsOfDirectory(atPath: sources.path).contains { $0.hasSuffix(".partial") }
        }
        kill(daemon.pid, SIGKILL)
        _ = try await daemon.waitForExit()

        _ = try await site.start()
        #expect(try site.updates().map { $0["id"] as? String } == before.map { $0["id"] as? String })
        #expect(try site.ctl(["ping", "--json"]).stdout.contains("\"catalog_version\":1"))
        let next = try site.ctl(["sync", "--wait"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(try site.updates().count == 8_000)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { $0.hasSuffix(".ndjson") }.count
                == 1)
    }
}

/// OpenPGP keys made by gpg in a private home, and detached signatures of repomd.xml with them.
final class GPGKeys: @unchecked Sendable {
    let folder: URL
    var home: URL { folder.appendingPathComponent("home") }

    init(folder: URL, count: Int = 2) throws {
        self.folder = folder
        try FileManager.default.createDirectory(
            at: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for index in 0..<count {
            try gpg([
                "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
                "sumsync test \(index) <key\(index)@example.org>", "ed25519", "sign", "never",
            ])
            let armored = try gpg(["--armor", "--export", "key\(index)@example.org"])
            try armored.write(to: publicKey(index), atomically: true, encoding: .utf8)
        }
    }

    func publicKey(_ index: Int) -> URL { folder.appendingPathComponent("key\(index).asc") }

    /// Writes `repodata/repomd.xml.asc` of `repository`, signed by key `index`.
    func sign(_ repository: URL, with index: Int) throws {
        let repomd = repository.appendingPathComponent("repodata/repomd.xml")
        let signature = repository.appendingPathComponent("repodata/repomd.xml.asc")
        try? FileManager.default.removeItem(at: signature)
        try gpg([
            "--batch", "--yes", "--local-user", "key\(index)@example.org", "--armor", "--detach-sign", "--output",
            signature.path, repomd.path,
        ])
    }

    @discardableResult
    private func gpg(_ arguments: [String]) throws -> String {
        let result = try CLI.exec("/usr/bin/gpg", ["--homedir", home.path] + arguments)
        guard result.status == 0 else { throw TestFailure("gpg \(arguments.joined(separator: " ")): \(result.stderr)") }
        return result.stdout
    }

    deinit {
        _ = try? CLI.exec("/usr/bin/gpgconf", ["--homedir", home.path, "--kill", "gpg-agent"])
    }
}
