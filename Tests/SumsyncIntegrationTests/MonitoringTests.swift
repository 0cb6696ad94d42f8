import AsyncHTTPClient
import Foundation
import Testing

/// Prometheus metrics scraped from a real daemon and parsed by the reference text-format parser, and
/// the on-failure alert command.
@Suite("monitoring", .serialized)
struct MonitoringTests {
    /// Parses Prometheus text with `prometheus_client` (Python), returning "name{labels}" → value.
    func parse(_ text: String) throws -> [String: Double] {
        let folder = TestEnvironment.scratch("prom")
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("metrics.txt")
        try text.write(to: input, atomically: true, encoding: .utf8)
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                for s in family.samples:
                    labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
                    out[f"{s.name}{{{labels}}}"] = s.value
            print(json.dumps(out))
            """
        let result = try CLI.exec("/usr/bin/env", ["python3", "-c", script, input.path])
        guard result.status == 0,
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Double]
        else { throw TestFailure("the Prometheus parser refused the exposition: \(result.stderr)\n\(text)") }
        return object
    }

    func scrape(_ port: Int) async throws -> String {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(10))
        #expect(response.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
        return String(buffer: try await response.body.collect(upTo: 1 << 22))
    }

    @Test(
        "GET /metrics: syncs by result and trigger, duration histogram, catalog version, updates by classification, changes, link state"
    )
    func metricsEndpoint() async throws {
        let tree = try HierarchyFixture(
            label: "metrics", codes: [("CAS", nil), ("PR1", "CAS")], sync: "retry-interval = \"30s\"")
        let metricsPort = TestEnvironment.freePort()
        tree.hierarchy.sites[0].extra = "metrics-listen = \"127.0.0.1:\(metricsPort)\""
        try tree.hierarchy.write()
        try tree.writeCatalog((1...12).map { catalogLine($0) } + [catalogLine(13, product: "Edge")])
        try await tree.start("CAS")
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        // PR1 is down: the link to it degrades.
        try await waitUntil("the link to PR1 to degrade") {
            let samples = try parse(try await scrape(metricsPort))
            return samples[#"sumsync_child_link{child="PR1",state="degraded"}"#] == 1
        }
        let samples = try parse(try await scrape(metricsPort))
        #expect(samples[#"sumsync_syncs_total{result="succeeded",trigger="manual"}"#] == 1)
        #expect(samples[#"sumsync_catalog_version{}"#] == 1)
        #expect(samples[#"sumsync_updates{classification="Security Updates"}"#] == 13)
        #expect(samples[#"sumsync_changes_total{kind="new"}"#] == 13)
        #expect(samples[#"sumsync_sync_duration_seconds_count{result="succeeded"}"#] == 1)
        #expect(samples.keys.contains { $0.hasPrefix("sumsync_sync_duration_seconds_bucket") })
        #expect((samples[#"sumsync_last_success_timestamp_seconds{}"#] ?? 0) > 1_700_000_000)
        #expect(samples[#"sumsync_child_link{child="PR1",state="healthy"}"#] == 0)

        try await tree.start("PR1")
        try await tree.waitForConvergence(version: 1)
        try await waitUntil("the link to PR1 to heal") {
            (try parse(try await scrape(metricsPort)))[#"sumsync_child_link{child="PR1",state="healthy"}"#] == 1
        }
    }

    @Test("a certificate expiring within 14 days: warning at start, cert_expires in status, expiry metric")
    func certificateExpiry() async throws {
        let tree = try HierarchyFixture(label: "expiry", codes: [("CAS", nil)], tls: true)
        let metricsPort = TestEnvironment.freePort()
        tree.hierarchy.sites[0].extra = "metrics-listen = \"127.0.0.1:\(metricsPort)\""
        try tree.hierarchy.write()
        try tree.writeCatalog([catalogLine(1)])
        let issued = Date().addingTimeInterval(-86_400)
        try TestPKI.issue("CAS", ca: tree.pki, into: tree.tlsFolder, validFrom: issued, days: 6)
        let expires = issued.addingTimeInterval(6 * 86_400)
        let cas = try await tree.start("CAS")
        #expect(cas.log.contains("expires on"), "\(cas.log)")
        #expect(cas.log.contains("(in 4 days)") || cas.log.contains("(in 5 days)"), "\(cas.log)")
        let samples = try parse(try await scrape(metricsPort))
        let metric = try #require(samples[#"sumsync_certificate_expiry_timestamp_seconds{site="CAS"}"#])
        #expect(abs(metric - expires.timeIntervalSince1970) < 600, "\(metric) vs \(expires.timeIntervalSince1970)")
        let status = try tree.ctl("CAS", ["status", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let site = try #require((object?["sites"] as? [[String: Any]])?.first)
        let text = try #require(site["cert_expires"] as? String)
        let parsed = try #require(ISO8601DateFormatter().date(from: text))
        #expect(abs(parsed.timeIntervalSince(expires)) < 600)
    }

    @Test("on-failure runs with the sync's fields; output in the log; killed after its time limit")
    func alertCommand() async throws {
        let site = try TopSiteFixture(label: "alert")
        let marker = site.folder.appendingPathComponent("alert.env").path
        site.hierarchy.extraTables = """
            [alerts]
            on-failure = "env | grep ^SUMSYNC_ > \(marker); echo alert ran for $SUMSYNC_SITE_CODE"
            timeout = "5s"
            """
        try site.hierarchy.write()
        try Data("not json\n".utf8).write(to: site.catalogPath)
        let daemon = try await site.start()
        #expect(try site.ctl(["sync", "--wait"]).status == 1)
        try await waitUntil("the alert's output in the log") {
            daemon.log.contains("on-failure alert: alert ran for CAS")
        }
        let env = try String(contentsOfFile: marker, encoding: .utf8)
        #expect(env.contains("SUMSYNC_SYNC_RESULT=failed") && env.contains("SUMSYNC_SYNC_TRIGGER=manual"))
        #expect(env.contains("SUMSYNC_SYNC_ERROR=malformed upstream catalog"))
        #expect(env.contains("SUMSYNC_SYNC_ID=") && env.contains("SUMSYNC_CATALOG_VERSION=0"))

        site.hierarchy.extraTables = "[alerts]\non-failure = \"sleep 60; echo never\"\ntimeout = \"1s\""
        try site.hierarchy.write()
        daemon.signal(SIGHUP)
        try await waitUntil("the reload") { daemon.log.contains("Configuration reloaded") }
        #expect(try site.ctl(["sync", "--wait"]).status == 1)
        try await waitUntil("the alert to be killed") { daemon.log.contains("ran longer than 1 s and was killed") }
        let leftovers = try CLI.exec("/usr/bin/pgrep", ["-f", "sleep 60; echo never"])
        #expect(leftovers.stdout.isEmpty, "the alert's process group survived: \(leftovers.stdout)")
    }
}
