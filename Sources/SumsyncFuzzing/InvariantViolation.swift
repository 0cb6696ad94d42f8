/// An invariant a fuzz target checks that did not hold for an input: a finding, like a crash.
public struct InvariantViolation: Error, Sendable, CustomStringConvertible {
    /// The target whose invariant broke.
    public var target: FuzzTarget
    /// What does not hold, with the values involved.
    public var message: String

    public init(_ target: FuzzTarget, _ message: String) {
        self.target = target
        self.message = message
    }

    public var description: String { "\(target.rawValue): invariant violated: \(message)" }
}

extension FuzzTarget {
    /// Throws a violation of this target's invariant unless `condition` holds.
    func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws(InvariantViolation) {
        guard condition else { throw InvariantViolation(self, message()) }
    }
}
