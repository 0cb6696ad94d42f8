import ArgumentParser
import Foundation
import SumsyncConfig
import SumsyncFormats
import SumsyncModel
import SumsyncSchedule

/// `sumsyncctl schedule next [EXPRESSION] [--after RFC3339] [--count N]`.
struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule", abstract: "Work with sync schedules.", subcommands: [NextCommand.self]
    )

    struct NextCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "next",
            abstract: "Print the next elapse times of a schedule, one RFC 3339 UTC time per line.",
            discussion:
                "Without an expression, the config's [sync] schedule. Same answers as `systemd-analyze calendar`."
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: "A systemd calendar expression or `every …` schedule (default: the config's).")
        var expression: String?

        @Option(help: "Print elapses strictly after this RFC 3339 time (default: now).")
        var after: String?

        @Option(help: "How many elapses to print.")
        var count = 1

        func run() throws {
            let text: String
            if let expression {
                text = expression
            } else {
                let config: HierarchyConfig
                do {
                    config = try ConfigLoader().load(path: global.config)
                } catch {
                    throw fail("cannot read the schedule from the config:\n\(error.description)")
                }
                guard let schedule = config.sync.schedule else {
                    throw fail("\(global.config) has no [sync] schedule (syncs are manual only)")
                }
                text = schedule
            }
            let schedule: Schedule
            do {
                schedule = try Schedule.parse(text)
            } catch {
                throw fail(error.message)
            }
            var start = Date()
            if let after {
                guard let parsed = RFC3339.parse(after) else {
                    throw fail("--after '\(after)' is not an RFC 3339 time, e.g. 2026-04-05T00:30:00Z")
                }
                start = parsed
            }
            guard count >= 1 else { throw fail("--count must be at least 1") }
            for date in schedule.elapses(after: start, count: count, localZone: .current) {
                print(RFC3339.format(date))
            }
        }
    }
}
