import CSystemd
import Dispatch
import Foundation

/// Pings the service manager's watchdog at half of `WATCHDOG_USEC` from a Dispatch timer.
///
/// The timer runs on its own queue, so a blocked Swift concurrency pool still pings; a process that
/// is really stuck (stopped, deadlocked in the queue) stops pinging and systemd restarts it.
public final class Watchdog: @unchecked Sendable {
    /// The interval between pings, or nil when the watchdog is not enabled for this process.
    public let interval: Duration?
    // Dispatch sources are thread-safe; the timer is only kept alive and cancelled.
    private let timer: (any DispatchSourceTimer)?

    /// Reads `WATCHDOG_USEC` and `WATCHDOG_PID` through `sd_watchdog_enabled(3)`; starts pinging at once.
    public init(notifier: Notifier) {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else {
            self.interval = nil
            self.timer = nil
            return
        }
        let half = usec / 2
        self.interval = .microseconds(Int64(half))
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "sumsync.watchdog"))
        timer.schedule(deadline: .now(), repeating: .microseconds(Int(half)), leeway: .milliseconds(10))
        timer.setEventHandler { notifier.watchdog() }
        timer.resume()
        self.timer = timer
    }

    /// Stops pinging (at shutdown, after `STOPPING=1`).
    public func cancel() {
        timer?.cancel()
    }
}
