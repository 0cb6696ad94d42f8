import CSystemd
import Foundation

/// Sends service state to the service manager through `sd_notify(3)`.
///
/// Every call is a no-op when `NOTIFY_SOCKET` is unset, so the daemon behaves the same whether it runs
/// under systemd, in a test with a private notify socket, or from a shell.
public struct Notifier: Sendable {
    /// Whether a notify socket was named when the notifier was made.
    public let isEnabled: Bool

    /// Makes a notifier for the current process environment.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.isEnabled = !(environment["NOTIFY_SOCKET"] ?? "").isEmpty
    }

    /// The daemon can serve: config valid, database open, listeners bound.
    public func ready(status: String? = nil) {
        var lines = ["READY=1"]
        if let status { lines.append("STATUS=\(Self.oneLine(status))") }
        send(lines)
    }

    /// Replaces the one-line status shown by `systemctl status`.
    public func status(_ text: String) {
        send(["STATUS=\(Self.oneLine(text))"])
    }

    /// The daemon starts reloading its configuration; `READY=1` must follow.
    ///
    /// systemd requires `MONOTONIC_USEC` with `RELOADING=1` to match the reload to its request.
    public func reloading(status: String? = nil) {
        var lines = ["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())"]
        if let status { lines.append("STATUS=\(Self.oneLine(status))") }
        send(lines)
    }

    /// The daemon begins to shut down.
    public func stopping(status: String? = nil) {
        var lines = ["STOPPING=1"]
        if let status { lines.append("STATUS=\(Self.oneLine(status))") }
        send(lines)
    }

    /// Tells the watchdog the daemon is alive.
    public func watchdog() {
        send(["WATCHDOG=1"])
    }

    /// Reports why the daemon failed, as `systemctl status` shows it.
    public func failure(errno code: Int32, status: String) {
        send(["STATUS=\(Self.oneLine(status))", "ERRNO=\(code)"])
    }

    /// Sends raw `KEY=VALUE` assignments.
    public func send(_ assignments: [String]) {
        guard isEnabled else { return }
        _ = sd_notify(0, assignments.joined(separator: "\n"))
    }

    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// `CLOCK_MONOTONIC` in microseconds, the clock systemd compares `MONOTONIC_USEC` against.
    public static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1_000
    }
}
