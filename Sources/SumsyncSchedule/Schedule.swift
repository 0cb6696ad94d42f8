import Foundation

/// A job schedule: either a systemd calendar expression or a fixed-interval `every ...` schedule.
///
/// This is the type the daemon stores and the CLI evaluates (`sumsyncctl schedule next`).
/// All evaluation is pure: the current time and the local zone are always passed in.
public enum Schedule: Sendable, Equatable {
    /// A systemd.time(7) calendar expression, e.g. `Mon..Fri 02:30` or `daily Europe/Berlin`.
    case calendar(CalendarSpec)
    /// A fixed-interval schedule, e.g. `every 6h from 2026-11-28T02:00 Europe/Berlin`.
    case every(SimpleSchedule)

    /// Parses either form: text whose first word is `every` is a ``SimpleSchedule``, anything
    /// else a ``CalendarSpec``.
    /// - Throws: ``ScheduleParseError`` naming the offending part of `text`.
    public static func parse(_ text: String) throws(ScheduleParseError) -> Schedule {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let firstWord = trimmed.prefix { $0 != " " }.lowercased()
        if firstWord == "every" {
            return .every(try SimpleSchedule.parse(trimmed))
        }
        return .calendar(try CalendarSpec.parse(trimmed))
    }

    /// The first elapse strictly after `date`, or nil if there is none (only possible for
    /// calendar expressions, e.g. ones limited to past years).
    public func nextElapse(after date: Date, localZone: TimeZone) -> Date? {
        switch self {
        case .calendar(let spec): return spec.nextElapse(after: date, localZone: localZone)
        case .every(let simple): return simple.nextElapse(after: date, localZone: localZone)
        }
    }

    /// Up to `count` consecutive elapses after `date`, each strictly after the previous one
    /// (fewer when the schedule runs out). Matches the "Next elapse"/"Iter. #N" lines of
    /// `systemd-analyze calendar --iterations=N` for calendar expressions.
    public func elapses(after date: Date, count: Int, localZone: TimeZone) -> [Date] {
        var result: [Date] = []
        // Chain in whole microseconds so repeated Date round-trips cannot drift.
        var cursor = CalendarSpec.microseconds(of: date)
        while result.count < count {
            let next: Int64?
            switch self {
            case .calendar(let spec): next = spec.nextElapse(afterMicroseconds: cursor, localZone: localZone)
            case .every(let simple): next = simple.nextElapse(afterMicroseconds: cursor, localZone: localZone)
            }
            guard let next else { break }
            result.append(Date(timeIntervalSince1970: TimeInterval(next) / 1_000_000))
            cursor = next
        }
        return result
    }

    /// The canonical text of the schedule (systemd's normalized form for calendar expressions).
    public var normalized: String {
        switch self {
        case .calendar(let spec): return spec.normalized
        case .every(let simple): return simple.normalized
        }
    }
}
