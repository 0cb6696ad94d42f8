import Foundation
import Testing

/// The daemon's entries in a real (private) journald: identifier, priority, structured fields, message
/// ids for a real sync, a no-op and a failure, and `journalctl -x` explanations from our catalog.
@Suite("journal", .serialized)
struct JournalTests {
    static let started = "45b05029566c48519182c91b41725db2"
    static let completed = "8eb96b7d751e4960944a22e84edd16a0"
    static let noOp = "f6ec4f383162497cb5b8d8631fdf5b6a"
    static let failed = "77ef2ce3ef9648f29c402d80655bbdba"
    static let rejected = "6c4c3c4aa51e4a858322c6240e5bcafc"

    @Test("real sync, no-op and failure entries with their MESSAGE_IDs and fields; journalctl -x explains them")
    func entriesInPrivateJournald() async throws {
        try #require(TestEnvironment.isRoot, "needs root for a private mount namespace (CI runs as root)")
        let upstream = try await UpstreamServer()
        defer { upstream.stop() }
        upstream.serve(Data(((1...10).map { catalogLine($0) }.joined(separator: "\n") + "\n").utf8), etag: "\"j1\"")
        let folder = TestEnvironment.scratch("journal")
        defer { try? FileManager.default.removeItem(at: folder) }
        var hierarchy = TestHierarchy(folder: folder, codes: [("CAS", nil)])
        hierarchy.upstream = "catalog = \"\(upstream.url)\""
        let config = try hierarchy.write()
        var broken = hierarchy
        try "{\"id\": not json\n".write(
            to: folder.appendingPathComponent("bad.ndjson"), atomically: true, encoding: .utf8)
        broken.upstream = "catalog = \"file://\(folder.path)/bad.ndjson\""
        let brokenConfig = folder.appendingPathComponent("broken-upstream.toml").path
        try broken.text().write(toFile: brokenConfig, atomically: true, encoding: .utf8)

        let daemon = try TestEnvironment.binary("sumsyncd")
        let ctl = try TestEnvironment.binary("sumsyncctl")
        let catalog = TestEnvironment.repoRoot.appendingPathComponent("systemd/sumsync.catalog").path
        let journal = PrivateJournal(folder: folder.appendingPathComponent("journal"))
        try FileManager.default.createDirectory(at: journal.folder, withIntermediateDirectories: true)
        let options = "--site CAS --state-dir \(folder.path)/state --runtime-dir \(folder.path)/run"
        let result = try journal.run(
            """
            start() {
              \(daemon) --config "$1" \(options) --log-target journal &
              PID=$!
              for i in $(seq 200); do \(ctl) ping \(options) >/dev/null 2>&1 && break; sleep 0.05; done
            }
            start \(config)
            \(ctl) sync --wait \(options) >/dev/null 2>&1
            \(ctl) sync --wait \(options) >/dev/null 2>&1
            echo 'bogus = 1' >> \(config)
            kill -HUP $PID
            sleep 0.3
            kill -TERM $PID; wait $PID; echo "exit=$?"
            start \(brokenConfig)
            \(ctl) sync --wait \(options) >/dev/null 2>&1 || echo "failed-sync-exit=$?"
            kill -TERM $PID; wait $PID
            # journalctl -x reads the catalog database from its fixed path: give it ours, privately.
            R=\(journal.folder.path)/root
            mkdir -p $R/usr/lib/systemd/catalog
            cp \(catalog) $R/usr/lib/systemd/catalog/
            journalctl --root=$R --update-catalog
            mount --bind $R/var/lib/systemd/catalog/database /var/lib/systemd/catalog/database
            journalctl --flush >/dev/null 2>&1 || true
            sleep 0.3
            D=$(ls -d \(journal.journalDirectory.path)/*)
            journalctl --directory=$D -x --no-pager MESSAGE_ID=\(Self.failed) > \(journal.folder.path)/explained.txt
            """
        )
        #expect(result.stdout.contains("exit=0"), "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("failed-sync-exit=1"), "\(result.stdout)\n\(result.stderr)")
        let entries = try journal.entries().filter { $0["SYSLOG_IDENTIFIER"] as? String == "sumsyncd" }
        #expect(!entries.isEmpty, "no sumsyncd entries: \(result.stderr)")
        func entry(_ id: String) -> [String: Any]? { entries.first { $0["MESSAGE_ID"] as? String == id } }

        let ready = entries.first { ($0["MESSAGE"] as? String)?.hasPrefix("Ready:") == true }
        #expect(ready?["PRIORITY"] as? String == "6")
        #expect(ready?["SUMSYNC_SITE_CODE"] as? String == "CAS")
        #expect((ready?["CODE_FILE"] as? String)?.hasSuffix("SiteDaemon.swift") == true)
        #expect(ready?["CODE_FUNC"] != nil && ready?["CODE_LINE"] != nil)

        let start = entry(Self.started)
        #expect(start?["SUMSYNC_SYNC_TRIGGER"] as? String == "manual" && start?["SUMSYNC_SYNC_ID"] != nil)
        #expect(start?["SUMSYNC_CATALOG_VERSION"] as? String == "0")
        let done = entry(Self.completed)
        #expect(done?["PRIORITY"] as? String == "5")
        #expect(done?["SUMSYNC_SYNC_NEW"] as? String == "10" && done?["SUMSYNC_CATALOG_VERSION"] as? String == "1")
        #expect(done?["SUMSYNC_SYNC_ID"] as? String == start?["SUMSYNC_SYNC_ID"] as? String)
        let noOp = entry(Self.noOp)
        #expect(
            noOp?["SUMSYNC_SYNC_RESULT"] as? String == "no-op" && noOp?["SUMSYNC_CATALOG_VERSION"] as? String == "1")
        let failure = entry(Self.failed)
        #expect(failure?["PRIORITY"] as? String == "3")
        #expect((failure?["SUMSYNC_SYNC_ERROR"] as? String)?.contains("line 1") == true)
        let rejection = entry(Self.rejected)
        #expect(rejection?["PRIORITY"] as? String == "3")
        #expect((rejection?["SUMSYNC_CONFIG_ERRORS"] as? String)?.contains("bogus: unknown key") == true)

        let explained = try String(contentsOf: journal.folder.appendingPathComponent("explained.txt"), encoding: .utf8)
        #expect(explained.contains("Subject:"), "no catalog text in journalctl -x: \(explained)")
        #expect(explained.contains("sumsyncd@CAS"), "the @SUMSYNC_SITE_CODE@ field was not filled in: \(explained)")
    }
}
