import Foundation
import Logging

/// Where `sumsyncd` writes its log: `--log-target auto|journal|console`.
public enum LogTarget: String, Sendable, CaseIterable {
    /// The journal when standard error is connected to it (as under systemd), else the console.
    case auto
    /// Always the journal, through `sd_journal_sendv`.
    case journal
    /// Readable lines on standard error.
    case console

    /// Resolves `auto` by comparing `JOURNAL_STREAM` (`device:inode`) with standard error's own.
    public func resolved(environment: [String: String] = ProcessInfo.processInfo.environment) -> LogTarget {
        guard self == .auto else { return self }
        guard let stream = environment["JOURNAL_STREAM"] else { return .console }
        let parts = stream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return .console }
        var info = stat()
        guard fstat(STDERR_FILENO, &info) == 0 else { return .console }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode ? .journal : .console
    }

    /// Bootstraps swift-log for this target; call once, from `main`.
    public func bootstrap(label: String, level: Logger.Level) {
        let target = resolved()
        LoggingSystem.bootstrap { _ in
            switch target {
            case .journal:
                var handler = JournalLogHandler(label: label)
                handler.logLevel = level
                return handler
            case .auto, .console:
                var handler = ConsoleLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
