import Foundation

/// Why the daemon could not start or keep running; ``message`` is the one line the admin sees.
public struct DaemonError: Error, Sendable, CustomStringConvertible {
    /// The errno reported to systemd with `ERRNO=`.
    public let errno: Int32
    /// What happened and what to do.
    public let message: String

    public init(errno: Int32, _ message: String) {
        self.errno = errno
        self.message = message
    }

    public var description: String { message }
}
