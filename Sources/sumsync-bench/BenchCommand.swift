import ArgumentParser
import Foundation
import SumsyncTestSupport

/// `sumsync-bench`: tools for `make bench` and `make demo` (not installed).
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sumsync-bench",
        abstract: "Development tools: generate realistic catalogs for the demo and benchmarks.",
        subcommands: [Generate.self, ApplyFeed.self, WriteFeed.self, DigestCost.self, PurgeCost.self]
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

extension BenchCommand {
    /// What keeping the state digest costs: the same first sync and delta, in this process, once without
    /// the digest's triggers and once with them, alternating, in fresh databases.
    struct DigestCost: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "digest-cost",
            abstract: "Time a first sync and a delta with and without the state digest's triggers."
        )

        @Option(help: "The full catalog.") var catalog: String
        @Option(help: "The catalog after the changes.") var changed: String
        @Option(help: "A scratch folder.") var folder: String
        @Option(help: "Rounds of each.") var rounds = 2
        @Option(help: "Deltas after each first sync (to the changed catalog and back, alternately).") var deltas = 6

        func run() async throws {
            var first: [Bool: [Double]] = [:]
            var delta: [Bool: [Double]] = [:]
            for round in 0..<rounds {
                for keeps in round % 2 == 0 ? [false, true] : [true, false] {
                    let (f, d) = try await DigestBenchmark.run(
                        catalog: catalog, changed: changed, folder: folder + "/r\(round)-\(keeps)", keepsDigest: keeps,
                        deltas: deltas)
                    first[keeps, default: []].append(f)
                    delta[keeps, default: []] += d
                    print(
                        "round \(round + 1), digest \(keeps ? "kept" : "off"): first sync \(ms(f)) ms, deltas \(d.map(ms).joined(separator: ", ")) ms"
                    )
                }
            }
            let best = { (values: [Double]?) in values?.min() ?? 0 }
            let median = { (values: [Double]?) -> Double in
                let sorted = (values ?? []).sorted()
                return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
            }
            let (f0, f1) = (best(first[false]), best(first[true]))
            let (d0, d1) = (median(delta[false]), median(delta[true]))
            print(
                "digest cost: first sync (best of \(rounds)) \(ms(f1)) vs \(ms(f0)) ms = \(String(format: "%.3f", f1 / f0)) x (target <= 1.10); 5,000-change delta (median of \(delta[true]?.count ?? 0)) \(ms(d1)) vs \(ms(d0)) ms = \(String(format: "%+.0f", (d1 - d0) * 1_000)) ms (target <= 15 ms)"
            )
        }

        private func ms(_ seconds: Double) -> String { String(format: "%.0f", seconds * 1_000) }
    }

    struct PurgeCost: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "purge-cost",
            abstract: "Time a purge of the oldest updates against the first sync, and the deltas before and after it."
        )

        @Option(help: "The full catalog.") var catalog: String
        @Option(help: "The catalog after the changes.") var changed: String
        @Option(help: "A scratch folder.") var folder: String
        @Option(help: "How many of the oldest updates are expired, then purged.") var purged = 100_000
        @Option(help: "Deltas before and after the purge (to the changed catalog and back, alternately).") var deltas =
            8

        func run() async throws {
            let result = try await PurgeBenchmark.run(
                catalog: catalog, changed: changed, folder: folder, purged: purged, deltas: deltas)
            let median = { (values: [Double]) -> Double in
                let sorted = values.sorted()
                return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
            }
            print(
                "deltas before the purge \(result.before.map(ms).joined(separator: ", ")) ms; after \(result.after.map(ms).joined(separator: ", ")) ms"
            )
            let (before, after) = (median(result.before), median(result.after))
            print(
                "purge of \(result.purged) updates: \(ms(result.purge)) ms vs first sync \(ms(result.firstSync)) ms = \(String(format: "%.3f", result.purge / result.firstSync)) x (target <= 0.5); delta after it (median of \(result.after.count)) \(ms(after)) vs before \(ms(before)) ms = \(String(format: "%.3f", after / before)) x (target <= 1.0)"
            )
        }

        private func ms(_ seconds: Double) -> String { String(format: "%.0f", seconds * 1_000) }
    }
}
