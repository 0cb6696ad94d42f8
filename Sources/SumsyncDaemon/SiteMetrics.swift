import CoreMetrics
import Foundation
import Prometheus
import SumsyncModel
import SumsyncStore
import SumsyncSync
import Synchronization

/// The site's Prometheus metrics (`GET /metrics` on `metrics-listen`), through swift-metrics with a
/// Prometheus factory owned by the daemon (so nothing global is bootstrapped).
package final class SiteMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let knownClassifications = Mutex<Set<String>>([])
    /// The catalog version the per-classification gauges were counted at.
    private let countedVersion = Mutex<Int?>(nil)

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2),
            .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(900),
        ]
        self.factory = factory
    }

    /// Records a finished sync.
    func syncFinished(trigger: SyncTrigger, outcome: SyncEngine.Outcome, duration: Duration) {
        let result = outcome.result.rawValue
        Counter(
            label: "sumsync_syncs_total", dimensions: [("result", result), ("trigger", trigger.rawValue)],
            factory: factory
        )
        .increment()
        Timer(label: "sumsync_sync_duration_seconds", dimensions: [("result", result)], factory: factory)
            .recordNanoseconds(
                Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        for (kind, value) in outcome.counts.named where kind != "unchanged" && value > 0 {
            Counter(label: "sumsync_changes_total", dimensions: [("kind", kind)], factory: factory).increment(by: value)
        }
        if outcome.result == .succeeded || outcome.result == .noOp {
            Gauge(label: "sumsync_last_success_timestamp_seconds", factory: factory).record(
                Date().timeIntervalSince1970)
        }
        Gauge(label: "sumsync_catalog_version", factory: factory).record(outcome.catalogVersion)
    }

    /// Catalog version and updates per classification, from the site database; called for each scrape.
    /// Counting per classification reads the whole table, so it runs only when the catalog version moved
    /// since the last count (never on the sync's own path, where it would delay the children's requests).
    func refresh(store: SiteStore) {
        let version = (try? store.catalogVersion()) ?? 0
        Gauge(label: "sumsync_catalog_version", factory: factory).record(version)
        if store.catalogTrust?.isVerified == true, let trust = try? store.catalogTrustState() {
            Gauge(label: "sumsync_catalog_verified", factory: factory).record(trust.verified == true ? 1 : 0)
        }
        Gauge(label: "sumsync_db_bytes", factory: factory).record(store.databaseBytes())
        if let held = try? store.expiredHeld() {
            Gauge(label: "sumsync_expired_held", factory: factory).record(held)
        }
        let stale = countedVersion.withLock { counted in
            defer { counted = version }
            return counted != version
        }
        guard stale else { return }
        let counts = (try? store.countsByClassification()) ?? [:]
        var seen: Set<String> = []
        for (name, count) in counts {
            seen.insert(name)
            Gauge(label: "sumsync_updates", dimensions: [("classification", name)], factory: factory).record(count)
        }
        let gone = knownClassifications.withLock { known in
            defer { known = seen }
            return known.subtracting(seen)
        }
        for name in gone {
            Gauge(label: "sumsync_updates", dimensions: [("classification", name)], factory: factory).record(0)
        }
    }

    /// The parent's link to `child`: 1 on the current state's series, 0 on the others.
    func link(child: SiteCode, state: SiteStatus.Link) {
        for candidate in [SiteStatus.Link.healthy, .degraded, .error] {
            Gauge(
                label: "sumsync_child_link", dimensions: [("child", child.rawValue), ("state", candidate.rawValue)],
                factory: factory
            )
            .record(candidate == state ? 1 : 0)
        }
    }

    /// When this site's certificate expires, in Unix seconds.
    func certificate(site: SiteCode, expires: Date) {
        Gauge(
            label: "sumsync_certificate_expiry_timestamp_seconds", dimensions: [("site", site.rawValue)],
            factory: factory
        )
        .record(expires.timeIntervalSince1970)
    }

    /// The Prometheus text exposition.
    func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
