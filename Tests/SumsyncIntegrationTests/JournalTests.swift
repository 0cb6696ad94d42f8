import Foundation
import Testing

/// The daemon's entries in a real (private) journald: identifier, priority and structured fields.
@Suite("journal", .serialized)
struct JournalTests {
    @Test("entries reach journald with SYSLOG_IDENTIFIER, PRIORITY and SUMSYNC_ fields")
    func entriesInPrivateJournald() throws {
        try #require(TestEnvironment.isRoot, "needs root for a private mount namespace (CI runs as root)")
        let folder = TestEnvironment.scratch("journal")
        defer { try? FileManager.default.removeItem(at: folder) }
        let hierarchy = TestHierarchy(folder: folder, codes: [("CAS", nil)])
        let config = try hierarchy.write()
        let daemon = try TestEnvironment.binary("sumsyncd")
        let ctl = try TestEnvironment.binary("sumsyncctl")
        let journal = PrivateJournal(folder: folder.appendingPathComponent("journal"))
        try FileManager.default.createDirectory(at: journal.folder, withIntermediateDirectories: true)
        let options = "--site CAS --state-dir \(folder.path)/state --runtime-dir \(folder.path)/run"
        let result = try journal.run(
            """
            \(daemon) --config \(config) \(options) --log-target journal &
            PID=$!
            for i in $(seq 200); do \(ctl) ping \(options) >/dev/null 2>&1 && break; sleep 0.05; done
            kill -USR1 $PID
            sleep 0.3
            cp \(config) \(config).good
            echo 'bogus = 1' >> \(config)
            kill -HUP $PID
            sleep 0.3
            kill -TERM $PID
            wait $PID
            echo "exit=$?"
            """
        )
        #expect(result.stdout.contains("exit=0"), "\(result.stdout)\n\(result.stderr)")
        let entries = try journal.entries().filter { $0["SYSLOG_IDENTIFIER"] as? String == "sumsyncd" }
        #expect(!entries.isEmpty, "no sumsyncd entries: \(result.stderr)")

        let ready = entries.first { ($0["MESSAGE"] as? String)?.hasPrefix("Ready:") == true }
        #expect(ready?["PRIORITY"] as? String == "6")
        #expect(ready?["SUMSYNC_SITE_CODE"] as? String == "CAS")
        #expect(ready?["SUMSYNC_CATALOG_VERSION"] as? String == "0")
        #expect((ready?["CODE_FILE"] as? String)?.hasSuffix("SiteDaemon.swift") == true)
        #expect(ready?["CODE_FUNC"] != nil && ready?["CODE_LINE"] != nil)

        let requested = entries.first { $0["MESSAGE"] as? String == "Sync requested." }
        #expect(requested?["PRIORITY"] as? String == "5")
        #expect(requested?["SUMSYNC_SYNC_TRIGGER"] as? String == "manual")

        let rejected = entries.first { ($0["MESSAGE"] as? String)?.hasPrefix("Configuration rejected") == true }
        #expect(rejected?["PRIORITY"] as? String == "3")
        #expect((rejected?["SUMSYNC_CONFIG_ERRORS"] as? String)?.contains("bogus: unknown key") == true)
        #expect(rejected?["SUMSYNC_SITE_CODE"] as? String == "CAS")
    }
}
