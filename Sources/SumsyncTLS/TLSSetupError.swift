/// A certificate, key or CA bundle that cannot be used, with what to do about it.
public struct TLSSetupError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
