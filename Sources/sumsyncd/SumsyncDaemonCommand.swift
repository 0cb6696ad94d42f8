import ArgumentParser
import Foundation
import Logging
import SumsyncConfig
import SumsyncDaemon
import SumsyncModel
import SystemdKit

/// `sumsyncd`: parses arguments, bootstraps logging and runs one site's daemon.
@main
struct SumsyncDaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sumsyncd",
        abstract: "Synchronize software-update metadata for one site of a sumsync hierarchy.",
        discussion: """
            One sumsyncd runs per site server, normally as the systemd unit sumsyncd@SITE.service, which passes \
            --site SITE. The top-level site syncs from its upstreams on [sync] schedule, on SIGUSR1 or on \
            sumsyncctl sync; every other site pulls each new catalog version from its parent when told. \
            SIGHUP (systemctl reload) re-reads the config; a broken file is refused and the old one kept. \
            SIGTERM stops it. Exit status: 0 after a stop, 78 (EX_CONFIG) for a configuration error, which \
            restarting does not heal, 1 for any other failure. Documentation: /usr/share/doc/sumsync \
            (operations.md, configuration.md), hierarchy.toml(5), sumsyncctl(1).
            """,
        version: SumsyncVersion.string
    )

    @Option(help: "The hierarchy config.", completion: .file(extensions: ["toml"]))
    var config = "/etc/sumsync/hierarchy.toml"

    @Option(
        help: "The code of the site this daemon serves, e.g. CAS.",
        completion: .custom { words, _, prefix in SiteCodeCompletion.candidates(words: words, prefix: prefix) })
    var site: String

    @Option(help: "The state folder (default: $STATE_DIRECTORY, else /var/lib/sumsync/SITE).")
    var stateDir: String?

    @Option(help: "The runtime folder (default: $RUNTIME_DIRECTORY, else /run/sumsync/SITE).")
    var runtimeDir: String?

    @Option(help: "Where to log: auto (the journal under systemd, else stderr), journal or console.")
    var logTarget: LogTarget = .auto

    @Option(
        help: "The lowest level logged: trace, debug, info, notice, warning, error, critical.",
        transform: { text in
            guard let level = Logger.Level(rawValue: text) else {
                throw ValidationError(
                    "unknown log level '\(text)': trace, debug, info, notice, warning, error, critical")
            }
            return level
        }
    )
    var logLevel: Logger.Level = .info

    func run() async throws {
        // Everything the daemon creates (database, socket) is private to its user.
        umask(0o077)
        Heap.configureForDaemon()
        logTarget.bootstrap(label: site, level: logLevel)
        let logger = Logger(label: "sumsyncd")
        let notifier = Notifier()
        let options = DaemonOptions(
            configPath: config, site: site, stateDirectory: stateDir, runtimeDirectory: runtimeDir)
        do {
            let daemon = try SiteDaemon(options: options, logger: logger, notifier: notifier)
            let watchdog = Watchdog(notifier: notifier)
            defer { watchdog.cancel() }
            try await daemon.run()
        } catch {
            logger.critical("\(error.message)", metadata: ["site.code": "\(site)"])
            notifier.failure(errno: error.errno, status: "Failed: \(error.message)")
            if logTarget.resolved() == .journal {
                // Under systemd the journal holds it already; a short line on stderr reaches the console too.
                FileHandle.standardError.write(Data("sumsyncd: \(error.message)\n".utf8))
            }
            throw ExitCode(error.errno == EINVAL || error.errno == ENOENT ? 78 : 1)
        }
    }
}

extension LogTarget: ExpressibleByArgument {}
