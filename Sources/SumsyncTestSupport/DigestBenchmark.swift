import Foundation
import Logging
import SumsyncModel
import SumsyncStore

/// `sumsync-bench digest-cost`: a first sync and a delta through the store's own catalog applier, with or
/// without the state digest's triggers.
public enum DigestBenchmark {
    /// Seconds of the first sync of `catalog` and of the delta to `changed`, in a fresh database in `folder`.
    public static func run(catalog: String, changed: String, folder: String, keepsDigest: Bool) async throws
        -> (first: Double, delta: Double)
    {
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try SiteStore(path: folder + "/site.sqlite", keepsDigest: keepsDigest)
        let cache = CatalogIndexCache(stateDirectory: folder)
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        var times: [Double] = []
        for path in [catalog, changed] {
            let started = ContinuousClock.now
            _ = try await store.applyCatalog(
                at: path, name: path, filter: UpdateFilter(), expiryCutoff: 0, skipInvalid: false,
                validators: (nil, nil), syncID: UUID().uuidString, full: false, indexCache: cache,
                progress: SyncProgress(), logger: logger, now: { Date() }, defaultSource: "catalog")
            let elapsed = ContinuousClock.now - started
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        return (times[0], times[1])
    }
}
