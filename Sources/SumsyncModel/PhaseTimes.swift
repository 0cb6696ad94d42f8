/// How long each phase of a sync took, for the debug log (`--log-level debug`): where the time of a
/// slow sync goes, without a profiler.
package struct PhaseTimes: Sendable {
    private var last = ContinuousClock.now
    private var phases: [(String, Duration)] = []

    package init() {}

    /// Ends the phase running since the previous mark (or since creation) and names it.
    package mutating func mark(_ phase: String) {
        let now = ContinuousClock.now
        phases.append((phase, now - last))
        last = now
    }

    /// `read 212 ms, finish 31 ms, commit 12 ms`.
    package var summary: String {
        phases.map { phase, duration in "\(phase) \(Self.milliseconds(duration)) ms" }.joined(separator: ", ")
    }

    /// Whole milliseconds, rounded.
    package static func milliseconds(_ duration: Duration) -> Int {
        Int((Double(duration.components.seconds) * 1_000 + Double(duration.components.attoseconds) / 1e15).rounded())
    }
}
