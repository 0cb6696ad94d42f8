import Foundation
import Logging
import SumsyncModel
import SumsyncStore

/// `sumsync-bench digest-cost`: a first sync and a delta through the store's own catalog applier, with or
/// without the state digest's triggers.
public enum DigestBenchmark {
    /// Seconds of the first sync of `catalog` and of each of `deltas` deltas after it (to `changed`, back to
    /// `catalog`, and so on: each a real delta through the line index), in a fresh database in `folder`.
    public static func run(catalog: String, changed: String, folder: String, keepsDigest: Bool, deltas: Int = 1)
        async throws -> (first: Double, deltas: [Double])
    {
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try SiteStore(path: folder + "/site.sqlite", readOnly: false, keepsDigest: keepsDigest)
        let cache = CatalogIndexCache(stateDirectory: folder)
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        var times: [Double] = []
        for path in [catalog] + (0..<deltas).map({ $0 % 2 == 0 ? changed : catalog }) {
            let started = ContinuousClock.now
            _ = try await store.applyCatalog(
                at: path, name: path, filter: UpdateFilter(), expiryCutoff: 0, skipInvalid: false,
                validators: (nil, nil), syncID: UUID().uuidString, full: false, indexCache: cache,
                progress: SyncProgress(), logger: logger, now: { Date() }, defaultSource: "catalog")
            let elapsed = ContinuousClock.now - started
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        return (times[0], Array(times.dropFirst()))
    }
}
