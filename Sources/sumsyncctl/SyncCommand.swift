import ArgumentParser
import Foundation
import SumsyncControl

/// `sumsyncctl sync [--full] [--wait]`: ask the running daemon to sync now.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Ask the site's daemon to sync now (trigger manual)."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(
        help:
            "Top-level site: ignore ETag/Last-Modified and parse every catalog line again (no line index). Child site: pull the parent's full snapshot."
    )
    var full = false

    @Flag(
        help:
            "Follow the sync to its end: exit 0 when it succeeded (or upstream was unchanged), 1 when it failed or was partial."
    )
    var wait = false

    func run() async throws {
        let client = try global.controlClient()
        let path = ControlProtocol.uri(ControlProtocol.syncPath, query: ["full": "\(full)", "wait": "\(wait)"])
        try await Self.follow(client: client, path: path, wait: wait, noun: "Sync")
    }

    /// Posts `path` (a sync or purge request) and, with `wait`, follows the sync to its end: prints its
    /// counts, exits 1 when it failed or was partial. `noun` starts the lines (`Sync`, `Purge`).
    static func follow(client: ControlClient, path: String, wait: Bool, noun: String) async throws {
        let progress = ProgressDisplay()
        var final: ControlProtocol.SyncEvent?
        do {
            try await client.stream(method: .POST, path: path) { line in
                guard let event = try? JSONDecoder().decode(ControlProtocol.SyncEvent.self, from: line) else { return }
                switch event.event {
                case "accepted":
                    if event.queued == true {
                        progress.message(
                            "A sync (\(event.running ?? "?")) is already running; this request is queued as the one follow-up \(event.syncID)."
                        )
                    } else {
                        progress.message("\(noun) \(event.syncID) started.")
                    }
                case "queued":
                    break
                case "progress":
                    progress.update(event)
                case "finished":
                    final = event
                default:
                    break
                }
            }
        } catch {
            throw fail(error.description)
        }
        guard wait else { return }
        progress.done()
        guard let final else { throw fail("the daemon closed the connection before the sync ended") }
        let took = final.durationSeconds.map { String(format: " in %.3f s", $0) } ?? ""
        let counts =
            "\(final.new ?? 0) new, \(final.revised ?? 0) revised, \(final.expired ?? 0) expired, \(final.superseded ?? 0) superseded, \(final.removed ?? 0) removed, \(final.purged ?? 0) purged, \(final.unchanged ?? 0) unchanged"
        switch final.result {
        case "succeeded":
            print("\(noun) \(final.syncID) succeeded: \(counts); catalog version \(final.catalogVersion ?? 0)\(took).")
        case "no-op":
            let nothing = noun == "Sync" ? "upstream unchanged" : "nothing expired long enough to purge"
            print("\(noun) \(final.syncID): \(nothing); catalog version \(final.catalogVersion ?? 0)\(took).")
        case "partial":
            print("\(noun) \(final.syncID) partial: \(counts); catalog version \(final.catalogVersion ?? 0)\(took).")
            throw fail("sync \(final.syncID) partial: \(final.error ?? "unknown error")")
        default:
            throw fail("sync \(final.syncID) failed: \(final.error ?? "unknown error")")
        }
    }
}

/// A live bar on a terminal, plain lines otherwise.
final class ProgressDisplay: @unchecked Sendable {
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastPlain = Date.distantPast
    private var drawn = false

    func message(_ text: String) {
        done()
        FileHandle.standardError.write(Data("\(text)\n".utf8))
    }

    func update(_ event: ControlProtocol.SyncEvent) {
        let line = event.line ?? ""
        guard (event.processed ?? 0) > 0 else { return }
        if isTerminal {
            var bar = ""
            if let total = event.total, total > 0, let processed = event.processed {
                let filled = min(30, processed * 30 / total)
                bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled) + "] "
            }
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(bar)\(line)".utf8))
            drawn = true
        } else if Date().timeIntervalSince(lastPlain) >= 1 {
            lastPlain = Date()
            FileHandle.standardError.write(Data("\(line)\n".utf8))
        }
    }

    func done() {
        if drawn {
            FileHandle.standardError.write(Data("\n".utf8))
            drawn = false
        }
    }
}
