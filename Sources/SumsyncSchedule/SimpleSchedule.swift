import Foundation
import SumsyncFormats

/// A fixed-interval schedule in Configuration-Manager style: `every 6h`, `every 30min`,
/// `every 7d`, `every 2w from 2026-11-28T02:00 Europe/Berlin`.
///
/// Semantics:
/// - Elapses are `anchor + k × interval` for integers **k ≥ 0**: the anchor itself is the first
///   elapse and nothing fires before it.
/// - Without `from`, the anchor is the Unix epoch 1970-01-01T00:00:00Z, so `every 6h` fires at
///   00:00, 06:00, 12:00 and 18:00 UTC whatever the local zone.
/// - Every unit is a fixed duration: `d` is 86 400 s and `w` 604 800 s. A daily schedule anchored
///   at 02:00 Europe/Berlin therefore fires at 03:00 local time after the spring DST change; use
///   a calendar expression (`*-*-* 02:00 Europe/Berlin`) to follow the wall clock instead.
/// - The anchor is a wall time in the named zone, or in the caller's local zone when no zone is
///   written (resolved when elapses are computed). A wall time skipped by a DST change is moved
///   forward by the gap; one that occurs twice means its first occurrence. An RFC 3339 anchor
///   with `Z` or an offset (`from 2026-11-28T01:00:00Z`) is an absolute instant.
///
/// Units: `s`/`sec`/`second(s)`, `m`/`min`/`minute(s)`, `h`/`hr`/`hour(s)`, `d`/`day(s)`,
/// `w`/`week(s)`, case-insensitive, optionally separated from the number by a space.
public struct SimpleSchedule: Sendable, Equatable {
    /// Where the sequence of elapses starts.
    public enum Anchor: Sendable, Equatable {
        /// The Unix epoch (no `from` given).
        case epoch
        /// A fixed instant (`from` with `Z` or a numeric offset).
        case instant(Date)
        /// A wall-clock time in `zone`, or in the caller's local zone when `zone` is nil.
        case wallClock(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, zone: TimeZone?)
    }

    /// The interval in whole seconds (always positive).
    public let intervalSeconds: Int64
    /// The first elapse; all others follow it at multiples of the interval.
    public let anchor: Anchor

    /// Creates a schedule firing every `intervalSeconds` (which must be positive) from `anchor`.
    public init(intervalSeconds: Int64, anchor: Anchor = .epoch) {
        precondition(intervalSeconds > 0, "interval must be positive")
        self.intervalSeconds = intervalSeconds
        self.anchor = anchor
    }

    /// Parses `every <N><unit> [from <anchor> [<zone>]]`.
    public static func parse(_ text: String) throws(ScheduleParseError) -> SimpleSchedule {
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        func fail(_ problem: String, _ fragment: String) -> ScheduleParseError {
            ScheduleParseError(problem, fragment: fragment, input: text)
        }
        guard words.first?.lowercased() == "every" else { throw fail("schedule must start with 'every'", text) }
        var rest = Array(words.dropFirst())
        guard !rest.isEmpty else { throw fail("missing interval", text) }
        // "6h" and "6 h" are both fine: join a bare number with the unit after it.
        if rest.count >= 2, rest[0].allSatisfy(Self.isDigit), !rest[1].lowercased().hasPrefix("from") {
            rest[0] += rest.remove(at: 1)
        }
        let intervalWord = rest.removeFirst()
        let interval = try parseInterval(intervalWord, fail: fail)
        guard !rest.isEmpty else { return SimpleSchedule(intervalSeconds: interval) }
        guard rest[0].lowercased() == "from" else { throw fail("expected 'from' after the interval", rest[0]) }
        rest.removeFirst()
        guard let when = rest.first else { throw fail("missing anchor time after 'from'", text) }
        guard rest.count <= 2 else { throw fail("unexpected text after anchor", rest[2...].joined(separator: " ")) }
        let zone: TimeZone?
        if rest.count == 2 {
            guard let tz = CalendarExpressionParser.timeZone(named: rest[1]) else {
                throw fail("unknown time zone", rest[1])
            }
            zone = tz
        } else {
            zone = nil
        }
        if let instant = RFC3339.parse(when) {
            if rest.count == 2 { throw fail("an anchor with a UTC offset cannot also name a zone", rest[1]) }
            // Whole seconds, like every other anchor and ``normalized``: `…:40.706-09:24` would otherwise
            // print as a schedule 0.706 s off the one it is.
            let seconds = instant.timeIntervalSince1970.rounded(.down)
            return SimpleSchedule(intervalSeconds: interval, anchor: .instant(Date(timeIntervalSince1970: seconds)))
        }
        guard let wall = parseWallClock(when) else {
            throw fail("invalid anchor time (expected YYYY-MM-DDTHH:MM[:SS])", when)
        }
        return SimpleSchedule(
            intervalSeconds: interval,
            anchor: .wallClock(
                year: wall.year, month: wall.month, day: wall.day, hour: wall.hour,
                minute: wall.minute, second: wall.second, zone: zone))
    }

    private static func parseInterval(
        _ word: String, fail: (String, String) -> ScheduleParseError
    ) throws(ScheduleParseError) -> Int64 {
        let digits = word.prefix(while: Self.isDigit)
        let unit = word.dropFirst(digits.count).lowercased()
        guard !digits.isEmpty, digits.count <= 9, let count = Int64(digits) else {
            throw fail("invalid interval (expected e.g. '6h')", word)
        }
        let scale: Int64
        switch unit {
        case "s", "sec", "secs", "second", "seconds": scale = 1
        case "m", "min", "mins", "minute", "minutes": scale = 60
        case "h", "hr", "hrs", "hour", "hours": scale = 3600
        case "d", "day", "days": scale = 86_400
        case "w", "week", "weeks": scale = 604_800
        case "": throw fail("missing interval unit", word)
        default: throw fail("unknown interval unit", String(unit))
        }
        guard count > 0 else { throw fail("interval must be positive", word) }
        // Beyond this the next elapse in microseconds would not fit in 64 bits (999999999w would trap).
        guard count * scale <= maxIntervalSeconds else {
            throw fail("interval too long (at most 36525d, about 100 years)", word)
        }
        return count * scale
    }

    /// The longest interval: 100 years of 365.25 days.
    static let maxIntervalSeconds: Int64 = 36_525 * 86_400

    private static func isDigit(_ c: Character) -> Bool { c.isASCII && c.isNumber }

    /// `YYYY-MM-DD`, optionally followed by `T` or `t` and `HH:MM[:SS]`.
    private static func parseWallClock(_ text: String)
        -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int)?
    {
        var s = DigitScanner(Array(text.utf8))
        guard let year = s.number(digits: 4), s.take("-"), let month = s.number(digits: 2), s.take("-"),
            let day = s.number(digits: 2)
        else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        if s.take("T") || s.take("t") {
            guard let h = s.number(digits: 2), s.take(":"), let m = s.number(digits: 2) else { return nil }
            hour = h
            minute = m
            if s.take(":") {
                guard let sec = s.number(digits: 2) else { return nil }
                second = sec
            }
        }
        guard s.atEnd, (1...12).contains(month), day >= 1, day <= RFC3339.daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 59
        else { return nil }
        return (year, month, day, hour, minute, second)
    }

    /// The anchor as an instant, in microseconds since the epoch.
    func anchorMicroseconds(localZone: TimeZone) -> Int64 {
        switch anchor {
        case .epoch:
            return 0
        case .instant(let date):
            return CalendarSpec.microseconds(of: date)
        case .wallClock(let year, let month, let day, let hour, let minute, let second, let zone):
            let wall = CivilTime(year: year, month: month - 1, day: day, hour: hour, minute: minute, second: second)
            return ZoneClock.earliestInstant(forWall: wall.linearSeconds, in: zone ?? localZone) * 1_000_000
        }
    }

    /// The first elapse strictly after `date` (see the type's documentation for the rules);
    /// a fixed-interval schedule always has one.
    public func nextElapse(after date: Date, localZone: TimeZone) -> Date {
        let micros = nextElapse(afterMicroseconds: CalendarSpec.microseconds(of: date), localZone: localZone)
        return Date(timeIntervalSince1970: TimeInterval(micros) / 1_000_000)
    }

    func nextElapse(afterMicroseconds base: Int64, localZone: TimeZone) -> Int64 {
        let anchor = anchorMicroseconds(localZone: localZone)
        guard base >= anchor else { return anchor }
        let step = intervalSeconds * 1_000_000
        return anchor + ((base - anchor) / step + 1) * step
    }

    /// `every <interval> [from <anchor>]` with the interval in its largest exact unit.
    public var normalized: String {
        let units: [(Int64, String)] = [(604_800, "w"), (86_400, "d"), (3600, "h"), (60, "min"), (1, "s")]
        let (size, name) = units.first { intervalSeconds % $0.0 == 0 }!
        var out = "every \(intervalSeconds / size)\(name)"
        switch anchor {
        case .epoch: break
        case .instant(let date): out += " from " + RFC3339.format(date)
        case .wallClock(let year, let month, let day, let hour, let minute, let second, let zone):
            func p(_ v: Int, _ w: Int = 2) -> String {
                let s = String(v)
                return String(repeating: "0", count: max(0, w - s.count)) + s
            }
            out += " from \(p(year, 4))-\(p(month))-\(p(day))T\(p(hour)):\(p(minute)):\(p(second))"
            if let zone { out += " " + zone.identifier }
        }
        return out
    }
}

extension ZoneClock {
    /// The instant showing wall time `wall` in `zone`: the earlier one when the wall time occurs
    /// twice, and for a wall time skipped by a DST change the instant read with the offset in
    /// force before the change (i.e. shifted forward by the gap, like `mktime`).
    static func earliestInstant(forWall wall: Int64, in zone: TimeZone) -> Int64 {
        func offset(_ t: Int64) -> Int64 {
            Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t))))
        }
        // Offsets in force a day either side bracket any single transition near `wall`.
        let before = offset(wall - 86_400 - 14 * 3600)
        let after = offset(wall + 86_400 + 14 * 3600)
        let candidates = [wall - before, wall - after].filter { $0 + offset($0) == wall }
        return candidates.min() ?? (wall - before)
    }
}
