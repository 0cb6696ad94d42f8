import Foundation
import Testing

@testable import SumsyncFormats
@testable import SumsyncSchedule

private func utc(_ text: String) -> Date {
    guard let date = RFC3339.parse(text) else { fatalError("bad test timestamp \(text)") }
    return date
}

private func zone(_ identifier: String) -> TimeZone { TimeZone(identifier: identifier)! }

private func elapses(_ text: String, after base: String, count: Int, in local: String = "UTC") throws -> [String] {
    try Schedule.parse(text).elapses(after: utc(base), count: count, localZone: zone(local)).map(RFC3339.format)
}

@Suite("SimpleSchedule")
struct SimpleScheduleTests {
    @Test func withoutAnchorCountsFromTheEpoch() throws {
        let expected = ["2026-04-05T06:00:00Z", "2026-04-05T12:00:00Z", "2026-04-05T18:00:00Z"]
        #expect(try elapses("every 6h", after: "2026-04-05T00:30:00Z", count: 3) == expected)
        // The local zone does not matter without an anchor.
        #expect(try elapses("every 6h", after: "2026-04-05T00:30:00Z", count: 3, in: "Australia/Sydney") == expected)
        #expect(
            try elapses("every 30min", after: "2026-04-05T00:30:00Z", count: 2)
                == ["2026-04-05T01:00:00Z", "2026-04-05T01:30:00Z"])
        // 1970-01-01 was a Thursday, so unanchored weeks start on Thursdays at 00:00 UTC.
        #expect(try elapses("every 1w", after: "2026-04-05T00:30:00Z", count: 1) == ["2026-04-09T00:00:00Z"])
    }

    @Test func anchorIsTheFirstElapse() throws {
        #expect(
            try elapses("every 2w from 2026-11-28T02:00 Europe/Berlin", after: "2026-01-01T00:00:00Z", count: 3)
                == ["2026-11-28T01:00:00Z", "2026-12-12T01:00:00Z", "2026-12-26T01:00:00Z"])
        // Strictly after: a base exactly on an elapse moves on to the next one.
        #expect(
            try elapses("every 2w from 2026-11-28T02:00 Europe/Berlin", after: "2026-11-28T01:00:00Z", count: 1)
                == ["2026-12-12T01:00:00Z"])
    }

    @Test func daysAreFixedDurationsAcrossDST() throws {
        // 02:00 CET before the change is 01:00 UTC; 24 h later keeps 01:00 UTC, i.e. 03:00 CEST.
        #expect(
            try elapses("every 1d from 2026-03-27T02:00 Europe/Berlin", after: "2026-03-26T00:00:00Z", count: 4)
                == ["2026-03-27T01:00:00Z", "2026-03-28T01:00:00Z", "2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z"])
        #expect(
            try elapses("every 7d from 2026-10-18T02:00:30 Europe/Berlin", after: "2026-10-01T00:00:00Z", count: 2)
                == ["2026-10-18T00:00:30Z", "2026-10-25T00:00:30Z"])
    }

    @Test func anchorsInDSTGapsAndRepeats() throws {
        // 02:30 does not exist on 2026-03-29 in Berlin: it is read as 02:30 CET = 03:30 CEST.
        #expect(
            try elapses("every 1d from 2026-03-29T02:30 Europe/Berlin", after: "2026-03-01T00:00:00Z", count: 1)
                == ["2026-03-29T01:30:00Z"])
        // 02:30 happens twice on 2026-10-25: the first (CEST) occurrence is meant.
        #expect(
            try elapses("every 1d from 2026-10-25T02:30 Europe/Berlin", after: "2026-10-01T00:00:00Z", count: 1)
                == ["2026-10-25T00:30:00Z"])
    }

    @Test func anchorWithoutZoneUsesLocalZone() throws {
        #expect(
            try elapses(
                "every 1d from 2026-06-01T08:00", after: "2026-05-01T00:00:00Z", count: 1, in: "America/New_York")
                == ["2026-06-01T12:00:00Z"])
        #expect(
            try elapses("every 1d from 2026-06-01", after: "2026-05-01T00:00:00Z", count: 1, in: "Europe/Berlin")
                == ["2026-05-31T22:00:00Z"])
        #expect(
            try elapses(
                "every 6h from 2026-11-28T01:00:00Z", after: "2026-11-28T01:00:00Z", count: 1, in: "Europe/Berlin")
                == ["2026-11-28T07:00:00Z"])
        #expect(
            try elapses(
                "every 6h from 2026-11-28T01:00 UTC", after: "2026-11-01T00:00:00Z", count: 1, in: "Europe/Berlin")
                == ["2026-11-28T01:00:00Z"])
    }

    @Test(arguments: [
        ("every 90 min", 5_400, "every 90min"), ("every 24h", 86_400, "every 1d"), ("every 3600s", 3_600, "every 1h"),
        ("EVERY 2 Weeks", 1_209_600, "every 2w"), ("every 45sec", 45, "every 45s"), ("every 10m", 600, "every 10min"),
        ("every 3days", 259_200, "every 3d"), ("every 1hour", 3_600, "every 1h"),
    ])
    func units(text: String, seconds: Int64, normalized: String) throws {
        let schedule = try SimpleSchedule.parse(text)
        #expect(schedule.intervalSeconds == seconds)
        #expect(schedule.anchor == .epoch)
        #expect(schedule.normalized == normalized)
    }

    @Test func normalizedWithAnchor() throws {
        let schedule = try SimpleSchedule.parse("every 6h from 2026-11-28T02:00 Europe/Berlin")
        #expect(schedule.normalized == "every 6h from 2026-11-28T02:00:00 Europe/Berlin")
        #expect(try SimpleSchedule.parse(schedule.normalized) == schedule)
    }

    @Test(arguments: [
        ("every", "every"), ("every 6", "6"), ("every 0h", "0h"), ("every 6x", "x"), ("every h", "h"),
        ("every 6h from", "every 6h from"), ("every 6h from tomorrow", "tomorrow"),
        ("every 6h from 2026-02-30T00:00", "2026-02-30T00:00"),
        ("every 6h from 2026-11-28T02:00 Mars/Base", "Mars/Base"), ("every 6h since 2026-11-28", "since"),
        ("every 6h from 2026-11-28T02:00:00Z Europe/Berlin", "Europe/Berlin"),
        ("every 6h from 2026-11-28T02:00 Europe/Berlin now", "now"),
    ])
    func invalidForms(text: String, fragment: String) {
        #expect {
            _ = try SimpleSchedule.parse(text)
        } throws: { error in
            guard let error = error as? ScheduleParseError else { return false }
            return error.fragment == fragment && error.message.contains("'\(fragment)'")
        }
    }
}

@Suite("Schedule")
struct ScheduleTests {
    @Test func dispatchesOnEvery() throws {
        guard case .every = try Schedule.parse("every 6h") else {
            Issue.record("expected .every")
            return
        }
        guard case .every = try Schedule.parse("  Every 6h") else {
            Issue.record("expected .every")
            return
        }
        guard case .calendar = try Schedule.parse("daily") else {
            Issue.record("expected .calendar")
            return
        }
        #expect(throws: ScheduleParseError.self) { try Schedule.parse("everyday") }
        #expect(try Schedule.parse("weekly").normalized == "Mon *-*-* 00:00:00")
    }

    @Test func elapsesStopWhenScheduleEnds() throws {
        #expect(
            try elapses("2026-12-31 12:00 UTC", after: "2026-01-01T00:00:00Z", count: 3) == ["2026-12-31T12:00:00Z"])
        #expect(try elapses("every 1h", after: "2026-01-01T00:00:00Z", count: 0).isEmpty)
    }
}
