import Foundation
import Testing

@testable import SumsyncFormats
@testable import SumsyncSchedule

private func utc(_ text: String) -> Date {
    guard let date = RFC3339.parse(text) else { fatalError("bad test timestamp \(text)") }
    return date
}

private func zone(_ identifier: String) -> TimeZone { TimeZone(identifier: identifier)! }

private func elapses(_ expression: String, after base: String, count: Int, in local: String = "UTC") throws -> [String]
{
    let spec = try CalendarSpec.parse(expression)
    return Schedule.calendar(spec).elapses(after: utc(base), count: count, localZone: zone(local)).map(RFC3339.format)
}

@Suite("CalendarSpec parsing")
struct CalendarSpecParsingTests {
    /// Expected normalized forms were taken from `systemd-analyze calendar` (systemd 252).
    @Test(arguments: [
        ("mon..fri 02:30", "Mon..Fri *-*-* 02:30:00"),
        ("Sat,Sun", "Sat,Sun *-*-* 00:00:00"),
        ("Mon,Wed..Fri *-*-* 06:00", "Mon,Wed..Fri *-*-* 06:00:00"),
        ("Monday..Wednesday 1,3,5:30", "Mon..Wed *-*-* 01,03,05:30:00"),
        ("*:0/15", "*-*-* *:00/15:00"),
        ("*:*:0/5", "*-*-* *:*:00/5"),
        ("2026/2-*-*", "2026/2-*-* 00:00:00"),
        ("*-02~03", "*-02~03 00:00:00"),
        ("*-05~1..3", "*-05~01..03 00:00:00"),
        ("minutely", "*-*-* *:*:00"),
        ("hourly", "*-*-* *:00:00"),
        ("daily", "*-*-* 00:00:00"),
        ("weekly", "Mon *-*-* 00:00:00"),
        ("monthly", "*-*-01 00:00:00"),
        ("yearly", "*-01-01 00:00:00"),
        ("annually", "*-01-01 00:00:00"),
        ("quarterly", "*-01,04,07,10-01 00:00:00"),
        ("semiannually", "*-01,07-01 00:00:00"),
        ("12:00", "*-*-* 12:00:00"),
        ("2026-11-28", "2026-11-28 00:00:00"),
        ("26-1-1", "2026-01-01 00:00:00"),
        ("*-*-* 10:00:00.000000", "*-*-* 10:00:00"),
        ("*-*-* 10:00:30.5", "*-*-* 10:00:30.500000"),
        ("*-*-1..7 4:00 Europe/Berlin", "*-*-01..07 04:00:00 Europe/Berlin"),
        ("daily UTC", "*-*-* 00:00:00 UTC"),
        ("08..17/3:00", "*-*-* 08..17/3:00:00"),
        ("*-*-1,15,1 00:00", "*-*-01,15 00:00:00"),
        ("*-*-1..3/5", "*-*-01 00:00:00"),
        ("@1767225600", "2026-01-01 00:00:00 UTC"),
        ("  Mon *-*-* 02:00  ", "Mon *-*-* 02:00:00"),
    ])
    func validExpressionNormalizes(input: String, normalized: String) throws {
        #expect(try CalendarSpec.parse(input).normalized == normalized)
    }

    @Test func zoneSuffixes() throws {
        #expect(try CalendarSpec.parse("daily").zone == .local)
        #expect(try CalendarSpec.parse("daily utc").zone == .utc)
        #expect(try CalendarSpec.parse("Mon 02:00 America/New_York").zone == .named(zone("America/New_York")))
    }

    /// Each invalid expression must be rejected with a message quoting the offending part.
    @Test(arguments: [
        ("Mox *-*-* 02:00", "Mox"),
        ("Fri..Mon 10:00", "Fri..Mon"),
        ("Mon.. 10:00", "Mon.."),
        ("Mon..Wed..Fri 1:00", "Mon..Wed..Fri"),
        ("Mon1 10:00", "Mon1"),
        ("dayly", "dayly"),
        ("*-*-* 25:00", "25"),
        ("*-*-* 10:60", "60"),
        ("*-13-01", "13"),
        ("*-02-32", "32"),
        ("*-*-* 10:00:61", "61"),
        ("*:*/5", "*/5"),
        ("*-05~1/2", "1/2"),
        ("*-*~29", "29"),
        ("1969-01-01", "1969"),
        ("2200-01-01", "2200"),
        ("*-*-* 10", "10"),
        ("10:00:00:00", ":00"),
        ("*-*-* 10:00 Europe/Berln", "Europe/Berln"),
        ("5..3:00", "5..3"),
        ("*-*-1..3/0", "1..3/0"),
        ("*-*-* 1x:00", "1x"),
        ("*-*-*-* 00:00", "*-*-*-*"),
        ("*:0/61", "0/61"),
        ("*:50/15", "50/15"),
        ("Mon,,Tue", "Mon,,Tue"),
        ("*-*-* 99999999999:00", "99999999999"),
        ("@abc", "@abc"),
        ("daily GMT+5", "GMT+5"),
    ])
    func invalidExpressionNamesOffendingPart(input: String, fragment: String) {
        #expect {
            _ = try CalendarSpec.parse(input)
        } throws: { error in
            guard let error = error as? ScheduleParseError else { return false }
            return error.fragment == fragment && error.message.contains("'\(fragment)'") && error.input == input
        }
    }

    @Test func messageFormat() {
        #expect(throws: ScheduleParseError("invalid weekday", fragment: "Mox", input: "Mox *-*-* 02:00")) {
            try CalendarSpec.parse("Mox *-*-* 02:00")
        }
        let error = ScheduleParseError("invalid weekday", fragment: "Mox", input: "Mox *-*-* 02:00")
        #expect(error.message == "invalid weekday 'Mox' in 'Mox *-*-* 02:00'")
        #expect(throws: ScheduleParseError.self) { try CalendarSpec.parse("") }
    }
}

/// Elapse expectations below were taken from `systemd-analyze calendar` (systemd 252).
@Suite("CalendarSpec elapses")
struct CalendarSpecElapseTests {
    @Test func strictlyAfterBase() throws {
        #expect(
            try elapses("*:0/15", after: "2026-05-01T10:15:00Z", count: 2) == [
                "2026-05-01T10:30:00Z", "2026-05-01T10:45:00Z",
            ])
        #expect(try elapses("*:0/15", after: "2026-05-01T10:14:59.5Z", count: 1) == ["2026-05-01T10:15:00Z"])
    }

    @Test func weekdaysAndLocalZone() throws {
        // 2026-05-01 is a Friday; 02:30 in New York is 06:30 UTC in May.
        #expect(
            try elapses("Mon..Fri 02:30", after: "2026-05-01T12:00:00Z", count: 2, in: "America/New_York")
                == ["2026-05-04T06:30:00Z", "2026-05-05T06:30:00Z"])
    }

    @Test func springForwardSkipsMissingWallTime() throws {
        // 02:30 does not exist on 2026-03-29 in Europe/Berlin; systemd skips that day.
        #expect(
            try elapses("*-*-* 02:30", after: "2026-03-28T12:00:00Z", count: 2, in: "Europe/Berlin")
                == ["2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"])
        // Repetitions carry on after the gap.
        #expect(
            try elapses("*:0/15", after: "2026-03-29T00:40:00Z", count: 3, in: "Europe/Berlin")
                == ["2026-03-29T00:45:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:15:00Z"])
    }

    @Test func fallBackFiresFirstOccurrenceOnly() throws {
        #expect(
            try elapses("*-*-* 02:30", after: "2026-10-24T12:00:00Z", count: 2, in: "Europe/Berlin")
                == ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"])
        #expect(
            try elapses("*:0/20", after: "2026-10-25T00:00:00Z", count: 4, in: "Europe/Berlin")
                == ["2026-10-25T00:20:00Z", "2026-10-25T00:40:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:20:00Z"])
        #expect(
            try elapses("1:30", after: "2026-11-01T04:00:00Z", count: 2, in: "America/New_York")
                == ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"])
    }

    @Test func explicitZoneOverridesLocalZone() throws {
        let a = try elapses("*-*-* 02:00 Europe/Berlin", after: "2026-06-01T00:00:00Z", count: 1, in: "UTC")
        let b = try elapses(
            "*-*-* 02:00 Europe/Berlin", after: "2026-06-01T00:00:00Z", count: 1, in: "Australia/Sydney")
        #expect(a == ["2026-06-02T00:00:00Z"] && b == a)
    }

    @Test func monthEndsAndLeapDays() throws {
        #expect(
            try elapses("*-02~01", after: "2028-02-01T00:00:00Z", count: 3)
                == ["2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z", "2030-02-28T00:00:00Z"])
        #expect(
            try elapses("*-02-29", after: "2026-01-01T00:00:00Z", count: 3)
                == ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"])
    }

    @Test func neverElapsing() throws {
        #expect(try elapses("2025-*-*", after: "2026-01-01T00:00:00Z", count: 2).isEmpty)
        #expect(try elapses("*-02-30", after: "2026-01-01T00:00:00Z", count: 1).isEmpty)
        #expect(try elapses("Fri 2027-01-02", after: "2026-01-01T00:00:00Z", count: 1).isEmpty)
        // systemd's calendar ends with 2199.
        #expect(try elapses("*-12-31 23:59:59 UTC", after: "2199-12-31T23:59:59Z", count: 1).isEmpty)
        let spec = try CalendarSpec.parse("2025-01-01")
        #expect(spec.nextElapse(after: utc("2026-01-01T00:00:00Z"), localZone: zone("UTC")) == nil)
    }

    @Test func fractionalSeconds() throws {
        let spec = try CalendarSpec.parse("*-*-* 10:00:30.5 UTC")
        let next = spec.nextElapse(after: utc("2026-01-01T00:00:00Z"), localZone: zone("UTC"))
        #expect(next == utc("2026-01-01T10:00:30.5Z"))
    }
}

@Suite("RFC3339")
struct RFC3339Tests {
    @Test func formatsUTCWithoutFraction() {
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_775_349_000)) == "2026-04-05T00:30:00Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_775_349_000.9)) == "2026-04-05T00:30:00Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
    }

    @Test func parsesOffsetsAndFractions() {
        #expect(RFC3339.parse("2026-04-05T00:30:00Z") == Date(timeIntervalSince1970: 1_775_349_000))
        #expect(RFC3339.parse("2026-04-05T02:30:00+02:00") == Date(timeIntervalSince1970: 1_775_349_000))
        #expect(RFC3339.parse("2026-04-04t19:30:00-05:00") == Date(timeIntervalSince1970: 1_775_349_000))
        #expect(RFC3339.parse("2026-04-05 00:30:00.25z") == Date(timeIntervalSince1970: 1_775_349_000.25))
    }

    @Test(arguments: [
        "", "2026-04-05", "2026-04-05T00:30:00", "2026-02-30T00:00:00Z", "2026-04-05T24:00:00Z",
        "2026-04-05T00:30:00.Z", "2026-04-05T00:30:00+0200", "2026-4-05T00:30:00Z",
        "2026-04-05T00:30:60Z", "2026-04-05T00:30:00Z ",
    ])
    func rejectsMalformed(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test func roundTrips() {
        for seconds in stride(from: Int64(-86_400), through: 7_258_118_400, by: 86_400 * 97 + 3_601) {
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            #expect(RFC3339.parse(RFC3339.format(date)) == date)
        }
    }
}
