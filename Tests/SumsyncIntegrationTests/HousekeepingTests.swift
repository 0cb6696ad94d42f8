import Foundation
import Testing

/// Housekeeping with real daemons (docs/operations.md, "Housekeeping"): the top purges expired updates
/// and every site follows at the same catalog version; the space goes back to the file system once the
/// site is quiet.
@Suite("housekeeping", .serialized)
struct HousekeepingTests {
    static func json(_ result: CLI.Result) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("not JSON: \(result.stdout) \(result.stderr)")
        }
        return object
    }

    @Test(
        "a 1 + 1 + 1 tree where the top purges: same rows and version everywhere, counted, a child that was down catches up"
    )
    func treePurgesTogether() async throws {
        let tree = try HierarchyFixture(
            label: "purge", codes: [("CAS", nil), ("PR1", "CAS"), ("SE1", "PR1")],
            sync: "retry-interval = \"2s\"\npurge-expired-after = \"3s\"")
        let catalog = (1...300).map {
            catalogLine($0, product: $0 % 2 == 0 ? "Windows 11" : "Windows 10", expired: $0 <= 60)
        }
        try tree.writeCatalog(catalog)
        try await tree.startAll()
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await tree.waitForConvergence(version: 1)

        var preview = try Self.json(try tree.ctl("CAS", ["purge", "--dry-run", "--json"]))
        #expect(preview["total"] as? Int == 0 && preview["expired_kept"] as? Int == 60, "\(preview)")
        let refused = try tree.ctl("PR1", ["purge", "--dry-run"])
        #expect(refused.status == 1 && refused.stderr.contains("child site"), "\(refused.stderr)")

        // SE1 is down while the top purges.
        tree.daemons["SE1"]!.stop()
        try await Task.sleep(for: .seconds(3.5))
        preview = try Self.json(try tree.ctl("CAS", ["purge", "--dry-run", "--json"]))
        #expect(preview["total"] as? Int == 60 && preview["expired_kept"] as? Int == 0, "\(preview)")
        let groups = preview["groups"] as? [[String: Any]] ?? []
        #expect(
            Set(groups.map { "\($0["product"] ?? "")/\($0["classification"] ?? "")=\($0["updates"] ?? "")" })
                == ["Windows 10/Security Updates=30", "Windows 11/Security Updates=30"])
        let text = try tree.ctl("CAS", ["purge", "--dry-run"])
        #expect(text.stdout.contains("purges 60 updates") && text.stdout.contains("Windows 10"), "\(text.stdout)")

        let purge = try tree.ctl("CAS", ["purge"])
        #expect(purge.status == 0, "\(purge.stderr)")
        #expect(purge.stdout.contains("60 purged") && purge.stdout.contains("catalog version 2"), "\(purge.stdout)")
        try await tree.waitForConvergence(["CAS", "PR1"], version: 2)
        let atTop = try tree.history("CAS").first
        #expect(atTop?["trigger"] as? String == "purge" && atTop?["purged"] as? Int == 60)
        #expect(try tree.history("PR1").first?["purged"] as? Int == 60)

        // Upstream still lists the purged updates: the next sync leaves them purged.
        try tree.writeCatalog(catalog + [catalogLine(301)])
        let sync = try tree.ctl("CAS", ["sync", "--wait"])
        #expect(sync.stdout.contains("1 new") && sync.stdout.contains("0 purged"), "\(sync.stdout)")
        try await tree.waitForConvergence(["CAS", "PR1"], version: 3)

        try await tree.start("SE1")
        try await tree.waitForConvergence(version: 3)
        let reference = try tree.updates("CAS")
        #expect(!reference.contains(String(format: "00000000-0000-4000-8000-%012x", 60)))
        for code in ["PR1", "SE1"] { #expect(try tree.updates(code) == reference, "\(code) differs") }
        // SE1 pulled versions 1 → 3 in one stream: the purge among them, counted as such.
        let caughtUp = try tree.history("SE1").first { ($0["new"] as? Int ?? 0) > 0 }
        let seHistory = try tree.history("SE1")
        #expect(caughtUp?["purged"] as? Int == 60 && caughtUp?["new"] as? Int == 1, "\(seHistory)")

        try await waitUntil("every site reports db_bytes and no expired update held") {
            let status = try Self.json(try tree.ctl("CAS", ["status", "--json"]))
            let sites = status["sites"] as? [[String: Any]] ?? []
            return sites.count == 3
                && sites.allSatisfy {
                    ($0["db_bytes"] as? Int ?? 0) > 0 && $0["expired_held"] as? Int == 0
                        && $0["catalog_version"] as? Int == 3
                }
        }
        let childPurge = try tree.ctl("PR1", ["purge"])
        #expect(childPurge.status == 1 && childPurge.stderr.contains("child site"), "\(childPurge.stderr)")
    }

    @Test(
        "200,000 updates, 100,000 purged: the file shrinks within a minute of quiet; a sync meanwhile waits at most a step"
    )
    func purgedSpaceGoesBackWhenQuiet() async throws {
        let site = try TopSiteFixture(label: "vacuum", sync: "purge-expired-after = \"2s\"")
        let catalog = (1...200_000).map { n in
            catalogLine(n, revision: 1, product: n % 3 == 0 ? "Windows 10" : "Windows 11", expired: n <= 100_000)
        }
        try site.writeCatalog(catalog)
        let daemon = try await site.start()
        #expect(try site.ctl(["sync", "--wait"]).status == 0)
        let database = site.folder.appendingPathComponent("state-CAS/site.sqlite").path
        // What `du` counts: the blocks the file and its write-ahead log take.
        func onDisk() -> Int64 {
            [database, database + "-wal"].reduce(0) { total, file in
                var info = stat()
                return total + (stat(file, &info) == 0 ? Int64(info.st_blocks) * 512 : 0)
            }
        }
        try await Task.sleep(for: .seconds(2.5))
        // Upstream unchanged: the sync purges all the same.
        let purge = try site.ctl(["sync", "--wait"])
        #expect(purge.status == 0 && purge.stdout.contains("100000 purged"), "\(purge.stdout)")
        let before = onDisk()
        let started = ContinuousClock.now
        // A sync with nothing to do, for comparison (and the wait for quiet starts again).
        let quiet = try Self.seconds(of: try site.ctl(["sync", "--wait"]))
        do {
            try await waitUntil("the vacuum starts", timeout: .seconds(30)) {
                daemon.log.contains("free pages of the site database back")
            }
        } catch {
            Issue.record("\(daemon.log.suffix(3000))")
            throw error
        }
        // A sync now: its writes wait for the step in progress, and the vacuum stops after it.
        let during = try Self.seconds(of: try site.ctl(["sync", "--wait"]))
        try await waitUntil("the vacuum ends", timeout: .seconds(60)) {
            daemon.log.contains("of the site database back to the file system in")
        }
        let line = daemon.log.split(separator: "\n").first { $0.contains("back to the file system in") }
        let longest = Self.number(after: "longest ", in: String(line ?? "")) ?? 0
        print(
            "vacuum: longest step \(longest) ms; a sync with nothing to do took \(Int(quiet * 1000)) ms quiet, \(Int(during * 1000)) ms during the vacuum; \(line ?? "")"
        )
        #expect(during <= quiet + Double(longest) / 1000 + 0.25, "the sync waited for more than one step")
        // Once quiet again the rest goes back.
        try await waitUntil("the file shrinks", timeout: .seconds(60)) { onDisk() < before * 3 / 5 }
        let after = onDisk()
        #expect(ContinuousClock.now - started < .seconds(75))
        print("vacuum: \(before) → \(after) bytes on disk (\(Double(after) / Double(before))×)")
        #expect(try site.ctl(["verify"]).status == 0)
        #expect(try site.updates().count == 100_000)
    }

    /// The duration `sync --wait` printed ("… in 0.012 s.").
    static func seconds(of result: CLI.Result) throws -> Double {
        guard result.status == 0, let range = result.stdout.range(of: " in ", options: .backwards),
            let value = Double(result.stdout[range.upperBound...].prefix { $0.isNumber || $0 == "." })
        else { throw TestFailure("sync --wait: \(result.stdout) \(result.stderr)") }
        return value
    }

    static func number(after prefix: String, in text: String) -> Int? {
        guard let range = text.range(of: prefix) else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }
}
