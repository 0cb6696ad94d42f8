import Foundation
import Logging
import SumsyncFormats
import SumsyncModel
import SumsyncSchedule

extension SiteDaemon {
    /// Starts the site's own timing: at the top-level site the schedule, its catch-up and retries; at a
    /// child, the retries of failed pulls. One state machine and one wall-clock timer either way.
    func startSchedule() {
        if role == .disconnectedTop {
            if let schedule = config.sync.schedule {
                logger.warning("[sync] schedule '\(schedule)' is ignored: \(disconnectedNotice)")
            }
            return
        }
        let isTop = role.parent == nil
        // Only the top-level site schedules; a child syncs when its parent asks, and retries.
        let schedule = isTop ? config.sync.schedule.flatMap { try? Schedule.parse($0) } : nil
        let last = isTop ? (try? store.state())?.lastScheduledRun.flatMap(RFC3339.parse) : nil
        scheduleState = ScheduleStateMachine(
            schedule: schedule, localZone: .current, retryInterval: TimeInterval(config.sync.retryInterval.seconds),
            randomizedDelay: TimeInterval(config.sync.randomizedDelay.seconds), retryPolicy: isTop ? .every : .backoff,
            lastScheduledRun: last
        )
        timer = WallClockTimer(
            fired: { Task { await self.scheduleEvent { $0.timerFired(now: Date()) } } },
            jumped: {
                Task {
                    await self.logger.notice("The wall clock jumped; re-planning the schedule.")
                    await self.scheduleEvent { $0.clockJumped(now: Date()) }
                }
            }
        )
        scheduleEvent { $0.start(now: Date()) }
    }

    /// Feeds one event to the schedule and carries out its actions.
    func scheduleEvent(_ event: (inout ScheduleStateMachine) -> [ScheduleStateMachine.Action]) {
        guard var state = scheduleState else { return }
        let actions = event(&state)
        scheduleState = state
        for action in actions {
            switch action {
            case .arm(let date):
                timer?.arm(date)
                let next = state.nextRun
                if next != nextScheduledRun {
                    nextScheduledRun = next
                    notifier.status(statusLine())
                }
            case .recordScheduledRun(let date):
                do {
                    try store.setLastScheduledRun(RFC3339.format(date))
                } catch {
                    logger.error("Cannot store the last scheduled run: \(error)")
                }
            case .sync(let trigger):
                if trigger == .catchUp {
                    logger.notice(
                        "A scheduled sync was missed while the daemon was down; running it now.",
                        metadata: ["sync.trigger": "catch-up"].with(.catchUpRun)
                    )
                }
                Task {
                    await self.requestSync(trigger: trigger, source: trigger == .retry ? "retry schedule" : "schedule")
                }
            }
        }
    }

    /// The schedule after a reload.
    func rescheduleAfterReload() {
        guard scheduleState != nil else { return }
        let schedule = role == .top ? config.sync.schedule.flatMap { try? Schedule.parse($0) } : nil
        let retry = TimeInterval(config.sync.retryInterval.seconds)
        let delay = TimeInterval(config.sync.randomizedDelay.seconds)
        scheduleEvent {
            $0.configure(
                schedule: schedule, localZone: .current, retryInterval: retry, randomizedDelay: delay, now: Date())
        }
    }
}
