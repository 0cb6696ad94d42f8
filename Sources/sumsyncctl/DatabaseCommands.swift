import ArgumentParser
import Foundation
import SumsyncConfig
import SumsyncModel
import SumsyncStore

extension GlobalOptions {
    /// The site database, opened read-only: works while the daemon runs or is stopped.
    func openStore() throws -> SiteStore {
        let paths: SitePaths
        do {
            paths = try self.paths()
        } catch {
            throw fail("\(error)")
        }
        do {
            return try SiteStore(path: paths.database, readOnly: true)
        } catch {
            throw fail(error.message)
        }
    }
}

extension GlobalOptions {
    /// The config file, for a command that reads it only `purpose` (`"its sources"`).
    func loadConfig(for purpose: String) throws -> HierarchyConfig {
        do {
            return try ConfigLoader().load(path: config)
        } catch {
            throw fail("cannot read the config for \(purpose):\n\(error.description)")
        }
    }

    /// Writes `entries` as JSON lines.
    func writeJSONLines(_ entries: [some Encodable]) throws {
        var writer = JSONLineWriter()
        for entry in entries { try writer.write(entry) }
        writer.flush()
    }
}

/// Writes JSON lines to standard output through one buffer (500,000 updates print quickly).
struct JSONLineWriter {
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
    private var buffer = Data()

    mutating func write(_ value: some Encodable) throws {
        buffer.append(try encoder.encode(value))
        buffer.append(0x0A)
        if buffer.count > 1 << 16 { flush() }
    }

    mutating func flush() {
        FileHandle.standardOutput.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// `sumsyncctl updates [--product P] [--classification C] [--include-expired] [--json]`.
struct UpdatesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "updates", abstract: "List the updates in the site database."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Only this product.")
    var product: String?

    @Option(help: "Only this classification.")
    var classification: String?

    @Option(help: "Only the updates of this upstream source ([[upstream.source]] name).")
    var source: String?

    @Option(help: "Only the update of this advisory id (RLSA-2024:0001).")
    var advisory: String?

    @Flag(help: "Include expired updates.")
    var includeExpired = false

    @Flag(help: "One JSON object per line.")
    var json = false

    func run() throws {
        let store = try global.openStore()
        var writer = JSONLineWriter()
        var count = 0
        try store.forEachUpdate(
            product: product, classification: classification, source: source, advisory: advisory,
            includeExpired: includeExpired
        ) { update in
            count += 1
            if json {
                try writer.write(update)
            } else {
                var flags: [String] = []
                if update.expired { flags.append("expired") }
                if update.superseded { flags.append("superseded") }
                print(
                    "\(update.id)  r\(update.revision)  \(update.kb ?? update.advisory ?? "-")  \(update.classification)  \(update.title)\(flags.isEmpty ? "" : "  [" + flags.joined(separator: ", ") + "]")"
                )
            }
        }
        writer.flush()
        if !json { FileHandle.standardError.write(Data("\(count) update(s)\n".utf8)) }
    }
}

/// `sumsyncctl sources [--json]`: each configured upstream source and how its last sync went.
struct SourcesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sources", abstract: "List the top site's upstream sources and how each last synced.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "One JSON object per line.")
    var json = false

    struct Entry: Encodable {
        var name: String
        var format: String
        var url: String
        var product: String?
        var lastResult: String?
        var lastChecked: String?
        var lastChanged: String?
        var updates: Int
        var error: String?

        enum CodingKeys: String, CodingKey {
            case name, format, url, product, updates, error
            case lastResult = "last_result"
            case lastChecked = "last_checked"
            case lastChanged = "last_changed"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(format, forKey: .format)
            try container.encode(url, forKey: .url)
            try container.encode(product, forKey: .product)
            try container.encode(lastResult, forKey: .lastResult)
            try container.encode(lastChecked, forKey: .lastChecked)
            try container.encode(lastChanged, forKey: .lastChanged)
            try container.encode(updates, forKey: .updates)
            try container.encode(error, forKey: .error)
        }
    }

    func run() throws {
        let config = try global.loadConfig(for: "its sources")
        let store = try global.openStore()
        let states = try store.sourceStates()
        let counts = try store.updateCountsBySource()
        let entries = config.upstream.sources.map { source in
            let state = states[source.name]
            return Entry(
                name: source.name, format: source.format.rawValue, url: source.url,
                product: source.format == .catalog ? nil : source.product, lastResult: state?.lastResult,
                lastChecked: state?.lastChecked, lastChanged: state?.lastChanged, updates: counts[source.name] ?? 0,
                error: state?.error)
        }
        if json { return try global.writeJSONLines(entries) }
        let rows = entries.map { entry in
            [
                entry.name, entry.format, entry.product ?? "-", entry.lastResult ?? "never", "\(entry.updates)",
                entry.lastChecked ?? "-", entry.lastChanged ?? "-", entry.error ?? "",
            ]
        }
        Table.print(
            header: ["NAME", "FORMAT", "PRODUCT", "LAST RESULT", "UPDATES", "LAST CHECKED", "LAST CHANGED", "ERROR"],
            rows: rows)
    }
}

/// `sumsyncctl history [--limit N] [--json]`: newest first.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Show the site's past syncs, newest first.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "How many syncs to show.")
    var limit = 20

    @Flag(help: "One JSON object per line.")
    var json = false

    func run() throws {
        let store = try global.openStore()
        let entries = try store.history(limit: max(1, limit))
        if json { return try global.writeJSONLines(entries) }
        let rows = entries.map { entry in
            [
                entry.started, entry.trigger, entry.result, "v\(entry.catalogVersion)",
                "+\(entry.new) ~\(entry.revised) x\(entry.expired) s\(entry.superseded) -\(entry.removed) p\(entry.purged) =\(entry.unchanged)",
                entry.error ?? "",
            ]
        }
        Table.print(
            header: ["STARTED", "TRIGGER", "RESULT", "CATALOG", "NEW/REV/EXP/SUP/REM/PURG/UNCH", "ERROR"], rows: rows)
    }
}

/// `sumsyncctl categories [--json]`: the products and classifications upstream offers.
struct CategoriesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "categories", abstract: "List the products and classifications upstream offers, selected or not."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "One JSON object per line.")
    var json = false

    func run() throws {
        let config = try global.loadConfig(for: "telling what is selected")
        let store = try global.openStore()
        let entries = try store.categories(filter: UpdateFilter(config.sync))
        if json { return try global.writeJSONLines(entries) }
        let rows = entries.map { entry in
            [
                entry.kind, entry.name, entry.selected ? "yes" : "no", "\(entry.updates)", entry.firstSeen,
                entry.new ? "new" : "",
            ]
        }
        Table.print(header: ["KIND", "NAME", "SELECTED", "UPDATES", "FIRST SEEN", ""], rows: rows)
    }
}

/// Aligned columns for people.
enum Table {
    static func print(header: [String], rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        for row in all {
            let line = row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
            Swift.print(line.trimmingCharacters(in: .whitespaces))
        }
    }
}
