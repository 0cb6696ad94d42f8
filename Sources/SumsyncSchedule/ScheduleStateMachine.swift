import Foundation
import SumsyncModel

/// Decides when a site syncs on its own: the top-level site's schedule, the catch-up of a run missed
/// while the daemon was down (like systemd's `Persistent=true`), and, at every site, the retries after
/// a failed sync (``RetryPolicy``). The one owner of retry policy, top and child.
///
/// Pure: it is told the time and what happened, and returns what to do. The daemon carries the actions
/// out with a wall-clock Dispatch timer and the sync coordinator (which coalesces a run that comes due
/// while a sync runs into one follow-up).
public struct ScheduleStateMachine: Sendable {
    /// What the daemon must do.
    public enum Action: Sendable, Equatable {
        /// Request a sync with this trigger.
        case sync(SyncTrigger)
        /// Arm the timer for this wall-clock time (nil: disarm).
        case arm(Date?)
        /// Store this as the last scheduled run (in the site database).
        case recordScheduledRun(Date)
    }

    /// How retries after a failure are spaced.
    public enum RetryPolicy: Sendable, Equatable {
        /// Every `retry-interval`, as Configuration Manager does: the top-level site.
        case every
        /// 1 s, 2 s, 4 s, … capped at `retry-interval`: a child, so a returning parent is met quickly.
        case backoff
    }

    public var schedule: Schedule?
    public var retryPolicy: RetryPolicy
    public var localZone: TimeZone
    public var retryInterval: TimeInterval
    public var randomizedDelay: TimeInterval
    /// The last scheduled run, as stored; survives restarts.
    public private(set) var lastScheduledRun: Date?
    /// The next scheduled run (elapse plus randomized delay).
    public private(set) var nextRun: Date?
    /// The next retry of a failed sync.
    public private(set) var retryAt: Date?
    /// Failed syncs in a row.
    public private(set) var failedAttempts = 0
    /// The elapse `nextRun` belongs to (without the random delay).
    private var nextElapse: Date?
    private let random: @Sendable (TimeInterval) -> TimeInterval

    /// - Parameter random: picks a delay in `0...max` (injected so tests are deterministic).
    public init(
        schedule: Schedule?, localZone: TimeZone, retryInterval: TimeInterval, randomizedDelay: TimeInterval = 0,
        retryPolicy: RetryPolicy = .every, lastScheduledRun: Date?,
        random: @escaping @Sendable (TimeInterval) -> TimeInterval = { $0 > 0 ? .random(in: 0...$0) : 0 }
    ) {
        self.schedule = schedule
        self.localZone = localZone
        self.retryInterval = retryInterval
        self.randomizedDelay = randomizedDelay
        self.retryPolicy = retryPolicy
        self.lastScheduledRun = lastScheduledRun
        self.random = random
    }

    /// The earliest time the timer must fire.
    public var wakeUp: Date? {
        switch (nextRun, retryAt) {
        case (let run?, let retry?): min(run, retry)
        case (let run?, nil): run
        case (nil, let retry?): retry
        case (nil, nil): nil
        }
    }

    /// At start: catch up a run missed while the daemon was down, then arm for the next one. The very
    /// first start with a schedule records itself as the baseline, so later downtime is caught up too.
    public mutating func start(now: Date) -> [Action] {
        var actions: [Action] = []
        if schedule != nil && lastScheduledRun == nil {
            lastScheduledRun = now
            actions.append(.recordScheduledRun(now))
        }
        if let schedule, let last = lastScheduledRun,
            let missed = schedule.nextElapse(after: last, localZone: localZone),
            missed <= now
        {
            lastScheduledRun = now
            actions += [.recordScheduledRun(now), .sync(.catchUp)]
        }
        planNext(after: now)
        return actions + [.arm(wakeUp)]
    }

    /// The timer fired (or the clock was checked): start what is due, and arm for what comes next.
    public mutating func timerFired(now: Date) -> [Action] {
        var actions: [Action] = []
        if let run = nextRun, run <= now {
            lastScheduledRun = nextElapse ?? run
            actions += [.recordScheduledRun(lastScheduledRun!), .sync(.schedule)]
            // A scheduled run also stands for any pending retry.
            retryAt = nil
            planNext(after: max(now, nextElapse ?? now))
        } else if let retry = retryAt, retry <= now {
            retryAt = nil
            actions.append(.sync(.retry))
        }
        return actions + [.arm(wakeUp)]
    }

    /// A sync ended: after a failure, retry (spaced by ``retryPolicy``) until one succeeds or the next
    /// scheduled run comes first and takes over.
    public mutating func syncFinished(succeeded: Bool, now: Date) -> [Action] {
        if succeeded {
            retryAt = nil
            failedAttempts = 0
        } else {
            failedAttempts += 1
            let retry = now.addingTimeInterval(retryDelay)
            retryAt = nextRun.map { $0 <= retry } == true ? nil : retry
        }
        return [.arm(wakeUp)]
    }

    /// How long after the last failure the next retry comes.
    public var retryDelay: TimeInterval {
        switch retryPolicy {
        case .every: retryInterval
        case .backoff:
            TimeInterval(
                LinkState.backoff(attempt: max(1, failedAttempts), cap: .seconds(retryInterval)).components.seconds)
        }
    }

    /// A reload changed the schedule, interval or delay.
    public mutating func configure(
        schedule: Schedule?, localZone: TimeZone, retryInterval: TimeInterval, randomizedDelay: TimeInterval, now: Date
    ) -> [Action] {
        let changed =
            schedule != self.schedule || localZone != self.localZone || randomizedDelay != self.randomizedDelay
        self.schedule = schedule
        self.localZone = localZone
        self.retryInterval = retryInterval
        self.randomizedDelay = randomizedDelay
        if changed { planNext(after: now) }
        return [.arm(wakeUp)]
    }

    /// The wall clock jumped: what is due now runs once, and the next run is planned from the new time.
    public mutating func clockJumped(now: Date) -> [Action] {
        if let run = nextRun, run <= now { return timerFired(now: now) }
        planNext(after: now)
        return [.arm(wakeUp)]
    }

    private mutating func planNext(after date: Date) {
        guard let schedule, let elapse = schedule.nextElapse(after: date, localZone: localZone) else {
            nextElapse = nil
            nextRun = nil
            return
        }
        nextElapse = elapse
        nextRun = elapse.addingTimeInterval(random(randomizedDelay))
    }
}
