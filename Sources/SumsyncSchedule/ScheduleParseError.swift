/// The error thrown when a schedule, calendar expression or RFC 3339 text cannot be parsed.
///
/// `message` is meant for people: it always quotes the offending part of the input and the
/// input itself, e.g. `invalid weekday 'Mox' in 'Mox *-*-* 02:00'`, so a configuration error
/// can be reported without further context.
public struct ScheduleParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Human-readable description naming the offending part of the text.
    public let message: String
    /// The offending part of the text (may be the whole text when nothing narrower applies).
    public let fragment: String
    /// The complete text that failed to parse.
    public let input: String

    /// Creates an error whose message reads `<problem> '<fragment>' in '<input>'`.
    public init(_ problem: String, fragment: String, input: String) {
        self.fragment = fragment
        self.input = input
        if input.trimmingCharacters(in: .whitespaces).isEmpty {
            self.message = problem
        } else if fragment == input || fragment.isEmpty {
            self.message = "\(problem) '\(input)'"
        } else {
            self.message = "\(problem) '\(fragment)' in '\(input)'"
        }
    }

    /// Same as ``message``, so the error prints well with string interpolation.
    public var description: String { message }
}
