import Foundation

/// A calendar event expression in the syntax of systemd.time(7), as accepted by systemd 252.
///
/// Examples: `Mon..Fri 02:30`, `*:0/15`, `*-02~03`, `2026/2-*-* 06:00 Europe/Berlin`,
/// `Sat,Sun 10:00 UTC`, `weekly`, `quarterly`.
///
/// Parsing (``parse(_:)``) and elapse computation (``nextElapse(after:localZone:)``) reproduce what
/// `systemd-analyze calendar` prints, including its handling of daylight-saving gaps and repeats.
/// The value is immutable and `Sendable`; all time-zone work is done with Foundation `TimeZone`
/// values, never with the process-wide `TZ`.
public struct CalendarSpec: Sendable, Equatable {
    /// The time zone a calendar expression is evaluated in.
    public enum Zone: Sendable, Equatable {
        /// No zone was written: the expression is evaluated in the zone passed by the caller.
        case local
        /// The expression ended in ` UTC` (or named the `UTC` zone).
        case utc
        /// The expression ended in an IANA zone name such as `Europe/Berlin`.
        case named(TimeZone)
    }

    /// One element of a comma-separated list: `start`, `start..stop`, `start/repeat`
    /// or `start..stop/repeat`.
    ///
    /// The representation deliberately mirrors systemd's (stop `-1` for "open", repeat `0` for
    /// "no repetition", seconds in microseconds) because the elapse search depends on these
    /// exact integer semantics, including how out-of-range repetitions overflow.
    struct Component: Sendable, Equatable, Comparable {
        var start: Int
        var stop: Int = -1
        var repeatStep: Int = 0

        static func < (lhs: Component, rhs: Component) -> Bool {
            (lhs.start, lhs.stop, lhs.repeatStep) < (rhs.start, rhs.stop, rhs.repeatStep)
        }
    }

    /// A list of components; `nil` means `*` (any value).
    typealias Chain = [Component]?

    /// Bit 0 = Monday ... bit 6 = Sunday; `nil` when every weekday matches.
    var weekdays: UInt8?
    var years: Chain
    var months: Chain
    var days: Chain
    var hours: Chain
    var minutes: Chain
    /// Seconds in microseconds, so fractional seconds need no separate field.
    var seconds: Chain
    /// `~` was used: `days` count backwards from the end of the month (1 = last day).
    var endOfMonth: Bool

    /// The zone the expression is evaluated in.
    public let zone: Zone

    init(
        weekdays: UInt8?, years: Chain, months: Chain, days: Chain,
        hours: Chain, minutes: Chain, seconds: Chain, endOfMonth: Bool, zone: Zone
    ) {
        self.weekdays = weekdays
        self.years = years
        self.months = months
        self.days = days
        self.hours = hours
        self.minutes = minutes
        self.seconds = seconds
        self.endOfMonth = endOfMonth
        self.zone = zone
    }

    /// The expression in systemd's normalized form, e.g. `Mon..Fri *-*-* 02:30:00`; identical to
    /// the "Normalized form:" line of `systemd-analyze calendar`.
    public var normalized: String {
        var out = ""
        if let weekdays {
            out += Self.formatWeekdays(weekdays) + " "
        }
        out += Self.format(years, width: 4, microseconds: false) + "-"
        out += Self.format(months, width: 2, microseconds: false)
        out += endOfMonth ? "~" : "-"
        out += Self.format(days, width: 2, microseconds: false) + " "
        out += Self.format(hours, width: 2, microseconds: false) + ":"
        out += Self.format(minutes, width: 2, microseconds: false) + ":"
        out += Self.format(seconds, width: 2, microseconds: true)
        switch zone {
        case .local: break
        case .utc: out += " UTC"
        case .named(let tz): out += " " + tz.identifier
        }
        return out
    }

    static let weekdayAbbreviations = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    /// Runs of three or more days collapse to `A..B`, pairs stay `A,B`, as systemd prints them.
    private static func formatWeekdays(_ bits: UInt8) -> String {
        var parts: [String] = []
        var day = 0
        while day < 7 {
            guard bits & (1 << day) != 0 else {
                day += 1
                continue
            }
            var end = day
            while end + 1 < 7, bits & (1 << (end + 1)) != 0 { end += 1 }
            switch end - day {
            case 0: parts.append(weekdayAbbreviations[day])
            case 1: parts.append(weekdayAbbreviations[day] + "," + weekdayAbbreviations[end])
            default: parts.append(weekdayAbbreviations[day] + ".." + weekdayAbbreviations[end])
            }
            day = end + 1
        }
        return parts.joined(separator: ",")
    }

    private static func format(_ chain: Chain, width: Int, microseconds: Bool) -> String {
        let unit = microseconds ? 1_000_000 : 1
        guard let chain else { return "*" }
        // A seconds list containing "every second" matches everything, so it prints as `*`.
        if microseconds, chain.contains(where: { $0.start == 0 && $0.stop < 0 && $0.repeatStep == unit }) {
            return "*"
        }
        return chain.map { c in
            var s = padded(c.start / unit, width) + fraction(c.start % unit)
            if c.stop > 0 { s += ".." + padded(c.stop / unit, width) }
            if c.stop > 0 { s += fraction(c.stop % unit) }
            // A plain range carries an implicit step of one unit that is not written out.
            if c.repeatStep > 0 && !(c.stop > 0 && c.repeatStep == unit) {
                s += "/\(c.repeatStep / unit)"
            }
            s += fraction(c.repeatStep % unit)
            return s
        }.joined(separator: ",")
    }

    private static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private static func fraction(_ micros: Int) -> String {
        micros > 0 ? "." + padded(micros, 6) : ""
    }
}
