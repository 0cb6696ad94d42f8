import Foundation
import Testing

/// The schedule in a running top-level daemon, and `sumsyncctl schedule next`.
@Suite("schedule", .serialized)
struct ScheduleTests {
    @Test("a per-5-seconds schedule fires at the elapse times; ping shows the next run")
    func firesOnSchedule() async throws {
        let site = try TopSiteFixture(label: "sched", sync: "schedule = \"*:*:0/5\"")
        try site.writeCatalog((1...3).map { catalogLine($0) })
        _ = try await site.start()
        let ping = try site.ctl(["ping", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(ping.stdout.utf8)) as? [String: Any]
        let next = (object?["next_sync"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) }
        try #require(next != nil, "ping shows no next_sync: \(ping.stdout)")
        #expect(Int(next!.timeIntervalSince1970) % 5 == 0)
        try await waitUntil("two scheduled syncs", timeout: .seconds(20)) {
            (try site.history()).filter { $0["trigger"] as? String == "schedule" }.count >= 2
        }
        let runs = try site.history().filter { $0["trigger"] as? String == "schedule" }
        for run in runs {
            let started = ISO8601DateFormatter().date(from: run["started"] as! String)!
            // Started within a second of an elapse (a multiple of 5 s).
            #expect(Int(started.timeIntervalSince1970) % 5 <= 1, "started at \(started)")
        }
    }

    @Test("a run missed while the daemon was down is caught up once at start")
    func catchUpAfterDowntime() async throws {
        let site = try TopSiteFixture(label: "catchup", sync: "schedule = \"hourly\"")
        try site.writeCatalog((1...3).map { catalogLine($0) })
        let daemon = try await site.start()
        daemon.stop()
        // The daemon "was down" across an elapse: its last scheduled run is three hours ago.
        let database = site.folder.appendingPathComponent("state-CAS/site.sqlite").path
        let threeHoursAgo = Date().addingTimeInterval(-3 * 3600)
        let stamp = ISO8601DateFormatter().string(from: threeHoursAgo)
        let update = try CLI.exec(
            "/usr/bin/sqlite3", [database, "UPDATE site_state SET last_scheduled_run = '\(stamp)'"])
        #expect(update.status == 0, "\(update.stderr)")
        _ = try await site.start()
        try await waitUntil("the catch-up sync") {
            (try site.history()).contains {
                $0["trigger"] as? String == "catch-up" && $0["result"] as? String == "succeeded"
            }
        }
        #expect(try site.history().filter { $0["trigger"] as? String == "catch-up" }.count == 1)
    }

    @Test("schedule next agrees with systemd-analyze calendar")
    func scheduleNextMatchesSystemd() throws {
        for expression in [
            "Sat *-*-* 02:00:00", "Mon..Fri 06:30 Europe/Berlin", "*-*-01 00:00:00 America/New_York", "quarterly",
        ] {
            let ours = try CLI.run(
                ["schedule", "next", expression, "--after", "2026-10-20T00:00:00Z", "--count", "4"],
                environment: ["TZ": "Europe/Berlin"])
            #expect(ours.status == 0, "\(ours.stderr)")
            let reference = try CLI.exec(
                "/usr/bin/systemd-analyze", ["calendar", "--base-time=@1792454400", "--iterations=4", expression],
                environment: ["TZ": "Europe/Berlin"]
            )
            let utcLines = reference.stdout.split(separator: "\n").filter { $0.contains("(in UTC):") }.map {
                line -> String in
                // "   (in UTC): Sat 2026-10-24 00:00:00 UTC" → 2026-10-24T00:00:00Z
                let parts = line.split(separator: " ")
                return "\(parts[parts.count - 3])T\(parts[parts.count - 2])Z"
            }
            #expect(ours.stdout.split(separator: "\n").map(String.init) == utcLines, "\(expression)")
        }
        let invalid = try CLI.run(["schedule", "next", "Sat *-*-* 25:00"])
        #expect(invalid.status == 1 && invalid.stderr.contains("25"))
    }
}
