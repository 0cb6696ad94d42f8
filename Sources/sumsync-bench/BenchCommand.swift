import ArgumentParser
import Foundation
import SumsyncTestSupport

/// `sumsync-bench`: tools for `make bench` and `make demo` (not installed).
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sumsync-bench",
        abstract: "Development tools: generate realistic catalogs for the demo and benchmarks.",
        subcommands: [Generate.self, ApplyFeed.self, WriteFeed.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a deterministic, realistic NDJSON catalog (same seed, same bytes)."
        )

        @Option(help: "How many updates.")
        var count = 1_000

        @Option(help: "The generator's seed.")
        var seed: UInt64 = 1

        @Option(help: "The file to write.")
        var output: String

        @Option(help: "Write the catalog after this many updates changed (revised, expired, new, removed).")
        var changed: Int?

        @Option(help: "The seed of the changes.")
        var changeSeed: UInt64 = 2

        func run() throws {
            let generator = CatalogGenerator(seed: seed, count: count)
            if let changed {
                try generator.writeChanged(to: output, changed: changed, changeSeed: changeSeed)
            } else {
                try generator.write(to: output)
            }
        }
    }

    struct ApplyFeed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply-feed",
            abstract:
                "Apply a saved change stream to a copy of a site database, as a child does, and print the phase times."
        )

        @Option(help: "The site database (changed in place: use a copy).")
        var database: String

        @Option(help: "The change stream (a saved `changes-*.feed`).")
        var feed: String

        func run() async throws {
            print(try await ChangeStreamBenchmark.apply(database: database, feed: feed))
        }
    }

    struct WriteFeed: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "write-feed",
            abstract:
                "Write the change stream a parent serves its children (`changes?since=V`) and print the phase times."
        )

        @Option(help: "The site database.")
        var database: String

        @Option(help: "The catalog version the children hold.")
        var since: Int

        @Option(help: "The file to write.")
        var feed: String

        func run() throws {
            print(try ChangeStreamBenchmark.write(database: database, since: since, feed: feed))
        }
    }
}
