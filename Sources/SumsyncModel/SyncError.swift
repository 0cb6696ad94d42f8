/// Why a sync failed: one line that says what happened and, where it helps, what to do.
public struct SyncError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    package static let cancelled = SyncError("interrupted: the daemon is stopping; nothing was applied")
}
