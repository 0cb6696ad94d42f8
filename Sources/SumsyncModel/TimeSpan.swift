/// A systemd time span (`90s`, `15min`, `2h 30min`, `1d`), as systemd.time(7) defines it.
public struct TimeSpan: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The length in whole seconds.
    public var seconds: Int64

    /// Makes a span of `seconds`.
    public init(seconds: Int64) { self.seconds = seconds }

    /// The span as a Swift `Duration`.
    public var duration: Duration { .seconds(seconds) }

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.seconds < rhs.seconds }

    /// The shortest readable form: `1h 30min`, `90s` → `1min 30s`.
    public var description: String {
        if seconds == 0 { return "0" }
        var rest = seconds
        var parts: [String] = []
        for (unit, size) in [("w", Int64(604_800)), ("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)]
        where rest >= size {
            parts.append("\(rest / size)\(unit)")
            rest %= size
        }
        return parts.joined(separator: " ")
    }

    private static let units: [String: Double] = [
        "usec": 1e-6, "us": 1e-6, "µs": 1e-6, "msec": 1e-3, "ms": 1e-3,
        "seconds": 1, "second": 1, "sec": 1, "s": 1, "": 1,
        "minutes": 60, "minute": 60, "min": 60, "m": 60,
        "hours": 3_600, "hour": 3_600, "hr": 3_600, "h": 3_600,
        "days": 86_400, "day": 86_400, "d": 86_400,
        "weeks": 604_800, "week": 604_800, "w": 604_800,
        "months": 2_629_800, "month": 2_629_800, "M": 2_629_800,
        "years": 31_557_600, "year": 31_557_600, "y": 31_557_600,
    ]

    /// Parses a span; nil when the text is not one. A bare number means seconds, as in systemd.
    public static func parse(_ text: String) -> TimeSpan? {
        var total = 0.0
        var index = text.startIndex
        var sawComponent = false
        func skipSpaces() { while index < text.endIndex, text[index] == " " { index = text.index(after: index) } }
        skipSpaces()
        while index < text.endIndex {
            let numberStart = index
            while index < text.endIndex, text[index].isASCII, text[index].isNumber || text[index] == "." {
                index = text.index(after: index)
            }
            guard numberStart < index, let value = Double(text[numberStart..<index]) else { return nil }
            skipSpaces()
            let unitStart = index
            while index < text.endIndex, text[index].isLetter { index = text.index(after: index) }
            guard let factor = units[String(text[unitStart..<index])] else { return nil }
            total += value * factor
            sawComponent = true
            skipSpaces()
        }
        guard sawComponent, total.isFinite, total < 1e15 else { return nil }
        return TimeSpan(seconds: Int64(total.rounded()))
    }
}
