import Dispatch
import Foundation

/// Carries out the schedule's `arm` actions: a `DispatchSourceTimer` on the wall clock, plus a watch
/// that notices when the wall clock jumps (NTP step, admin `date -s`) so the schedule can be re-planned.
package final class WallClockTimer: @unchecked Sendable {
    private let queue = DispatchQueue(label: "sumsync.schedule")
    // Only touched on `queue`.
    private var timer: (any DispatchSourceTimer)?
    private var watch: (any DispatchSourceTimer)?
    private var offset: TimeInterval = WallClockTimer.wallMinusMonotonic()
    private let fired: @Sendable () -> Void
    private let jumped: @Sendable () -> Void

    /// - Parameters:
    ///   - fired: called when an armed time is reached.
    ///   - jumped: called when the wall clock moved by more than two seconds against the monotonic clock.
    init(fired: @escaping @Sendable () -> Void, jumped: @escaping @Sendable () -> Void) {
        self.fired = fired
        self.jumped = jumped
        queue.sync {
            let watch = DispatchSource.makeTimerSource(queue: queue)
            watch.schedule(deadline: .now() + 5, repeating: 5, leeway: .milliseconds(100))
            watch.setEventHandler { [unowned self] in
                let now = Self.wallMinusMonotonic()
                if abs(now - self.offset) > 2 {
                    self.offset = now
                    self.jumped()
                }
            }
            watch.resume()
            self.watch = watch
        }
    }

    /// Arms for `date` (replacing any earlier arming); nil disarms.
    func arm(_ date: Date?) {
        queue.async { [self] in
            timer?.cancel()
            timer = nil
            guard let date else { return }
            let timer = DispatchSource.makeTimerSource(queue: queue)
            let seconds = date.timeIntervalSince1970
            let wall = timespec(
                tv_sec: Int(seconds.rounded(.down)), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
            timer.schedule(wallDeadline: DispatchWallTime(timespec: wall), leeway: .milliseconds(50))
            timer.setEventHandler { [fired] in fired() }
            timer.resume()
            self.timer = timer
        }
    }

    func cancel() {
        queue.sync {
            timer?.cancel()
            watch?.cancel()
        }
    }

    private static func wallMinusMonotonic() -> TimeInterval {
        var monotonic = timespec()
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        return Date().timeIntervalSince1970 - (Double(monotonic.tv_sec) + Double(monotonic.tv_nsec) / 1e9)
    }
}
