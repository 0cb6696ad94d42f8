import Foundation
import Testing

@testable import SumsyncFormats
@testable import SumsyncSchedule

/// The schedule's decisions with an injected clock: nothing here sleeps.
@Suite("schedule state machine")
struct ScheduleStateMachineTests {
    static let utc = TimeZone(identifier: "UTC")!
    static let saturday2am = try! Schedule.parse("Sat *-*-* 02:00:00 UTC")

    /// 2026-11-25 (a Wednesday) + hours.
    func at(_ text: String) -> Date { RFC3339.parse(text)! }

    func machine(_ schedule: Schedule? = saturday2am, last: Date? = nil, retry: TimeInterval = 3_600)
        -> ScheduleStateMachine
    {
        ScheduleStateMachine(
            schedule: schedule, localZone: Self.utc, retryInterval: retry, lastScheduledRun: last, random: { _ in 0 })
    }

    @Test func armsForTheNextElapseAndFires() {
        var state = machine(last: at("2026-11-21T02:00:00Z"))
        #expect(state.start(now: at("2026-11-25T12:00:00Z")) == [.arm(at("2026-11-28T02:00:00Z"))])
        // Early wake-ups do nothing.
        #expect(state.timerFired(now: at("2026-11-28T01:59:59Z")) == [.arm(at("2026-11-28T02:00:00Z"))])
        #expect(
            state.timerFired(now: at("2026-11-28T02:00:00Z"))
                == [
                    .recordScheduledRun(at("2026-11-28T02:00:00Z")), .sync(.schedule), .arm(at("2026-12-05T02:00:00Z")),
                ]
        )
    }

    @Test func catchesUpARunMissedWhileDown() {
        var state = machine(last: at("2026-11-14T02:00:00Z"))
        let now = at("2026-11-25T12:00:00Z")
        #expect(state.start(now: now) == [.recordScheduledRun(now), .sync(.catchUp), .arm(at("2026-11-28T02:00:00Z"))])
        // Only one catch-up, however many runs were missed.
        var again = machine(last: at("2026-01-03T02:00:00Z"))
        #expect(again.start(now: now).filter { $0 == .sync(.catchUp) }.count == 1)
    }

    @Test func theFirstStartIsTheBaseline() {
        var state = machine(last: nil)
        let now = at("2026-11-25T12:00:00Z")
        #expect(state.start(now: now) == [.recordScheduledRun(now), .arm(at("2026-11-28T02:00:00Z"))])
        #expect(state.lastScheduledRun == now)
    }

    @Test func retriesEveryIntervalUntilSuccess() {
        var state = machine(last: at("2026-11-25T00:00:00Z"))
        _ = state.start(now: at("2026-11-25T12:00:00Z"))
        #expect(
            state.syncFinished(succeeded: false, now: at("2026-11-25T12:00:00Z")) == [.arm(at("2026-11-25T13:00:00Z"))])
        #expect(state.timerFired(now: at("2026-11-25T13:00:00Z")) == [.sync(.retry), .arm(at("2026-11-28T02:00:00Z"))])
        #expect(
            state.syncFinished(succeeded: false, now: at("2026-11-25T13:00:05Z")) == [.arm(at("2026-11-25T14:00:05Z"))])
        #expect(
            state.syncFinished(succeeded: true, now: at("2026-11-25T14:00:10Z")) == [.arm(at("2026-11-28T02:00:00Z"))])
        #expect(state.retryAt == nil)
    }

    /// A child's retries (no schedule, ``ScheduleStateMachine/RetryPolicy/backoff``): 1 s, 2 s, 4 s, …
    /// capped at `retry-interval`; a success starts the count again.
    @Test func aChildBacksOffUpToTheRetryInterval() {
        var state = ScheduleStateMachine(
            schedule: nil, localZone: Self.utc, retryInterval: 60, retryPolicy: .backoff, lastScheduledRun: nil)
        let start = at("2026-11-25T12:00:00Z")
        #expect(state.start(now: start) == [.arm(nil)])
        var now = start
        for expected: TimeInterval in [1, 2, 4, 8, 16, 32, 60, 60] {
            #expect(state.syncFinished(succeeded: false, now: now) == [.arm(now.addingTimeInterval(expected))])
            now = now.addingTimeInterval(expected)
            #expect(state.timerFired(now: now) == [.sync(.retry), .arm(nil)])
        }
        #expect(state.syncFinished(succeeded: true, now: now) == [.arm(nil)])
        #expect(state.failedAttempts == 0)
        #expect(state.syncFinished(succeeded: false, now: now) == [.arm(now.addingTimeInterval(1))])
    }

    @Test func theNextScheduledRunTakesOverFromRetries() {
        var state = machine(last: at("2026-11-25T00:00:00Z"))
        _ = state.start(now: at("2026-11-28T01:30:00Z"))
        #expect(
            state.syncFinished(succeeded: false, now: at("2026-11-28T01:30:00Z")) == [.arm(at("2026-11-28T02:00:00Z"))])
        #expect(state.retryAt == nil)
    }

    @Test func aClockJumpReplans() {
        var state = machine(last: at("2026-11-25T00:00:00Z"))
        _ = state.start(now: at("2026-11-25T12:00:00Z"))
        // Backwards by a week: the next run is planned from the new time.
        #expect(state.clockJumped(now: at("2026-11-18T12:00:00Z")) == [.arm(at("2026-11-21T02:00:00Z"))])
        // Forwards past the next run: it runs once, then the one after is armed.
        #expect(
            state.clockJumped(now: at("2026-11-23T10:00:00Z"))
                == [
                    .recordScheduledRun(at("2026-11-21T02:00:00Z")), .sync(.schedule), .arm(at("2026-11-28T02:00:00Z")),
                ]
        )
    }

    @Test func aReloadChangesTheSchedule() throws {
        var state = machine(last: at("2026-11-25T00:00:00Z"))
        _ = state.start(now: at("2026-11-25T12:00:00Z"))
        let hourly = try Schedule.parse("hourly")
        #expect(
            state.configure(
                schedule: hourly, localZone: Self.utc, retryInterval: 3_600, randomizedDelay: 0,
                now: at("2026-11-25T12:10:00Z"))
                == [.arm(at("2026-11-25T13:00:00Z"))]
        )
        #expect(
            state.configure(
                schedule: nil, localZone: Self.utc, retryInterval: 3_600, randomizedDelay: 0,
                now: at("2026-11-25T12:20:00Z"))
                == [.arm(nil)]
        )
    }

    @Test func randomizedDelayIsAddedToEachRun() throws {
        var state = ScheduleStateMachine(
            schedule: Self.saturday2am, localZone: Self.utc, retryInterval: 3_600, randomizedDelay: 600,
            lastScheduledRun: at("2026-11-25T00:00:00Z"), random: { $0 / 2 }
        )
        #expect(state.start(now: at("2026-11-25T12:00:00Z")) == [.arm(at("2026-11-28T02:05:00Z"))])
        #expect(
            state.timerFired(now: at("2026-11-28T02:05:00Z")).contains(.recordScheduledRun(at("2026-11-28T02:00:00Z"))))
    }
}
