import ArgumentParser
import Foundation
import SumsyncConfig
import SumsyncControl
import SumsyncFormats
import SumsyncModel
import SumsyncStore

/// `sumsyncctl`: the admin's command line for a sumsync site.
@main
struct SumsyncControlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sumsyncctl",
        abstract: "Control and inspect sumsync sites.",
        version: SumsyncVersion.string,
        subcommands: [
            CheckConfigCommand.self, PingCommand.self, SyncCommand.self, UpdatesCommand.self, HistoryCommand.self,
            CategoriesCommand.self, StatusCommand.self, ScheduleCommand.self, KeygenCommand.self, ExportCommand.self,
            ImportCommand.self, PKICommand.self, SourcesCommand.self, VerifyCommand.self, PurgeCommand.self,
        ]
    )

    // Declared here too so that the global options may stand before the subcommand's name.
    @OptionGroup var global: GlobalOptions
}

/// `--config FILE --site CODE [--state-dir DIR] [--runtime-dir DIR]`, accepted by every subcommand.
struct GlobalOptions: ParsableArguments {
    @Option(help: "The hierarchy config.", completion: .file(extensions: ["toml"]))
    var config = "/etc/sumsync/hierarchy.toml"

    @Option(
        help: "The site to talk to (default: $SUMSYNC_SITE, else the config's only site).",
        completion: .custom { words, _, prefix in SiteCodeCompletion.candidates(words: words, prefix: prefix) })
    var site: String?

    @Option(help: "The site's state folder (default: $STATE_DIRECTORY, else /var/lib/sumsync/SITE).")
    var stateDir: String?

    @Option(help: "The site's runtime folder (default: $RUNTIME_DIRECTORY, else /run/sumsync/SITE).")
    var runtimeDir: String?

    /// The site code to use, or a clear error.
    func siteCode() throws -> SiteCode {
        if let text = site ?? ProcessInfo.processInfo.environment["SUMSYNC_SITE"] {
            guard let code = SiteCode(text) else { throw CLIError("invalid site code '\(text)'") }
            return code
        }
        if let config = try? ConfigLoader().load(path: config), config.sites.count == 1 {
            return config.sites[0].code
        }
        throw CLIError("say which site with --site CODE")
    }

    /// A client for the site's running daemon, or a clear error.
    func controlClient() throws -> ControlClient {
        do {
            let site = try siteCode()
            return ControlClient(socketPath: try paths().controlSocket, site: site.rawValue)
        } catch let error as ExitCode {
            throw error
        } catch {
            throw fail("\(error)")
        }
    }

    /// `GET path` on the running daemon; the body of a 200 answer, else a clear error and exit 1.
    func fetch(_ path: String) async throws -> Data {
        let client = try controlClient()
        let answer: (status: Int, body: Data)
        do {
            answer = try await client.send(path: path)
        } catch {
            throw fail(error.description)
        }
        guard answer.status == 200 else { throw fail(ErrorBody.message(answer.body)) }
        return answer.body
    }

    func paths() throws -> SitePaths {
        SitePaths(site: try siteCode(), stateDirectory: stateDir, runtimeDirectory: runtimeDir)
    }
}

/// A failure printed as `sumsyncctl: message` with exit 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("sumsyncctl: \(message)\n".utf8))
    return ExitCode(1)
}
