import ArgumentParser
import Foundation
import SumsyncControl

/// `sumsyncctl import FILE [--force]`: have the running daemon of a disconnected top-level site import a
/// signed bundle, and wait for the result.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a signed export bundle into a disconnected top-level site (trigger import).",
        discussion:
            "The daemon reads FILE itself, as the site's user: the file must be readable by that user. Exit 0 when the bundle was applied, 1 with the reason when it was refused or failed (then nothing changed)."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The bundle file.")
    var file: String

    @Flag(help: "Import a bundle made with a different [sync] filter than this site's.")
    var force = false

    func run() async throws {
        let client = try global.controlClient()
        let absolute = URL(fileURLWithPath: file).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: absolute) else { throw fail("\(absolute): no such file") }
        let progress = ProgressDisplay()
        var final: ControlProtocol.SyncEvent?
        do {
            try await client.stream(
                method: .POST,
                path: ControlProtocol.uri(ControlProtocol.importPath, query: ["path": absolute, "force": "\(force)"])
            ) { line in
                guard let event = try? JSONDecoder().decode(ControlProtocol.SyncEvent.self, from: line) else { return }
                switch event.event {
                case "accepted": progress.message("Importing \(absolute) (sync \(event.syncID)).")
                case "progress": progress.update(event)
                case "finished": final = event
                default: break
                }
            }
        } catch {
            throw fail(error.description)
        }
        progress.done()
        guard let final else { throw fail("the daemon closed the connection before the import ended") }
        guard final.result == "succeeded" else {
            throw fail("import failed: \(final.error ?? "unknown error")")
        }
        let took = final.durationSeconds.map { String(format: " in %.3f s", $0) } ?? ""
        print(
            "Imported \(absolute) (sync \(final.syncID)): \(final.new ?? 0) new, \(final.revised ?? 0) revised, \(final.expired ?? 0) expired, \(final.superseded ?? 0) superseded, \(final.removed ?? 0) removed, \(final.purged ?? 0) purged, \(final.unchanged ?? 0) unchanged; catalog version \(final.catalogVersion ?? 0)\(took)."
        )
    }
}
