import Foundation
import SumsyncSchedule

extension FuzzTarget {
    /// When the fuzzed schedules are evaluated from, and the local zone they see: one with DST changes.
    static let scheduleBase = Date(timeIntervalSince1970: 1_774_746_000)  // 2026-03-29T01:00:00Z, a DST change
    static let localZone = TimeZone(identifier: "Europe/Berlin") ?? TimeZone(secondsFromGMT: 3_600)!
    /// Elapses are checked from there and from 400 days before.
    static let elapseStarts = [scheduleBase, scheduleBase.addingTimeInterval(-86_400 * 400)]

    /// The input as a calendar expression (`[sync] schedule`, `verify-schedule`): one that parses must
    /// print a normalized form that parses, prints the same and elapses at the same times (it may be
    /// written otherwise, as systemd's is: `0/1,15` seconds normalize to `*`); its elapses must be strictly
    /// later each time, from before and after the DST change. The same times are not asked of an
    /// expression with a fraction of a second: systemd's normalized form drops one that a repetition
    /// covers in its notation (`0/1,0.5` seconds normalize to `*`, which never fires at .5), and sumsync's
    /// is systemd's.
    static func calendar(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) -> Bool {
        guard let text = FuzzInput.text(input), let spec = try? CalendarSpec.parse(text) else { return false }
        let normalized = spec.normalized
        let again: CalendarSpec
        do {
            again = try CalendarSpec.parse(normalized)
        } catch {
            throw InvariantViolation(
                calendar, "'\(text)' normalizes to '\(normalized)', which does not parse: \(error)")
        }
        try calendar.expect(
            again.normalized == normalized, "'\(normalized)' normalizes again to '\(again.normalized)'")
        for start in elapseStarts where !text.contains(/[0-9]\.[0-9]/) {
            let (before, after) = (
                Schedule.calendar(spec).elapses(after: start, count: 4, localZone: localZone),
                Schedule.calendar(again).elapses(after: start, count: 4, localZone: localZone)
            )
            try calendar.expect(
                before == after, "'\(text)' elapses at \(before), its normalized form '\(normalized)' at \(after)")
        }
        try checkElapses(.calendar(spec), text: text, target: calendar)
        return true
    }

    /// The input as an `every …` schedule: the same invariants as ``calendar(_:)``.
    static func simpleSchedule(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) -> Bool {
        guard let text = FuzzInput.text(input), let schedule = try? SimpleSchedule.parse(text) else { return false }
        let normalized = schedule.normalized
        let again: SimpleSchedule
        do {
            again = try SimpleSchedule.parse(normalized)
        } catch {
            throw InvariantViolation(
                simpleSchedule, "'\(text)' normalizes to '\(normalized)', which does not parse: \(error)")
        }
        try simpleSchedule.expect(
            again == schedule, "'\(text)' normalizes to '\(normalized)', which parses to another schedule")
        try simpleSchedule.expect(
            again.normalized == normalized, "'\(normalized)' normalizes again to '\(again.normalized)'")
        try checkElapses(.every(schedule), text: text, target: simpleSchedule)
        return true
    }

    /// The schedule as the daemon sees it (``Schedule/parse(_:)`` picks the same kind), and its next
    /// elapses from two starting points, each strictly after the one before.
    private static func checkElapses(_ schedule: Schedule, text: String, target: FuzzTarget)
        throws(InvariantViolation)
    {
        let parsed = try? Schedule.parse(text)
        try target.expect(parsed == schedule, "Schedule.parse('\(text)') differs from the parse of its kind")
        for start in elapseStarts {
            if let next = schedule.nextElapse(after: start, localZone: localZone) {
                try target.expect(next > start, "'\(text)': next elapse \(next) is not after \(start)")
            }
            var previous = start
            for elapse in schedule.elapses(after: start, count: 4, localZone: localZone) {
                try target.expect(elapse > previous, "'\(text)': elapse \(elapse) is not after \(previous)")
                previous = elapse
            }
        }
    }
}
