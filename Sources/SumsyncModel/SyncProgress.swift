import Foundation
import Synchronization

/// Live progress of the running sync, written by the engine and read by status, the control socket and
/// the progress log; also carries the request to stop.
public final class SyncProgress: Sendable {
    /// The phases a sync goes through.
    public enum Phase: String, Sendable, Codable {
        case fetching
        case applying
        case notifyingChildren = "notifying children"
    }

    /// A consistent copy of the progress.
    public struct Snapshot: Sendable, Equatable {
        public var phase: Phase = .fetching
        public var processed = 0
        public var total: Int?
        public var startedAt = Date()
        public var phaseStartedAt = Date()

        /// Items per second in the current phase.
        public var rate: Double {
            let elapsed = Date().timeIntervalSince(phaseStartedAt)
            return elapsed > 0 ? Double(processed) / elapsed : 0
        }

        /// Seconds left at the current rate, when the total is known.
        public var eta: Double? {
            guard let total, rate > 0 else { return nil }
            return Double(max(0, total - processed)) / rate
        }

        /// `applying: processed 1200 of 5000 (24%), 3100/s, ETA 0:00:02`.
        public var line: String {
            var text = "\(phase.rawValue): processed \(processed)"
            if let total, total > 0 {
                text += " of \(total) (\(min(100, processed * 100 / total))%)"
            }
            if processed > 0 { text += ", \(Int(rate))/s" }
            if let eta { text += ", ETA \(Self.clock(eta))" }
            return text
        }

        static func clock(_ seconds: Double) -> String {
            let whole = Int(seconds.rounded(.up))
            return String(format: "%d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60)
        }
    }

    private let state = Mutex(Snapshot())
    private let stopRequested = Atomic<Bool>(false)

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    package func enter(_ phase: Phase, total: Int? = nil) {
        state.withLock {
            $0.phase = phase
            $0.processed = 0
            $0.total = total
            $0.phaseStartedAt = Date()
        }
    }

    /// Counts `processed` items of the phase. A total that was only an estimate (a delta's is the last
    /// catalog's line count) is dropped once it is passed, so a catalog that grew never shows
    /// `processed 200000 of 1000`.
    package func advance(to processed: Int) {
        state.withLock {
            $0.processed = processed
            if let total = $0.total, processed > total { $0.total = nil }
        }
    }

    /// Asks the running sync to stop; it rolls back at its next check.
    public func requestStop() { stopRequested.store(true, ordering: .relaxed) }

    package var isStopRequested: Bool { stopRequested.load(ordering: .relaxed) }
}
