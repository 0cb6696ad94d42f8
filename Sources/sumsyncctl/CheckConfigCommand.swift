import ArgumentParser
import Foundation
import SumsyncConfig

/// `sumsyncctl check-config [FILE]`: exit 0 if valid, else one line per problem and exit 1.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate a hierarchy config."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The file to check (default: --config).")
    var file: String?

    func run() throws {
        let path = file ?? global.config
        do {
            let config = try ConfigLoader().load(path: path)
            print(
                "\(path): OK: hierarchy \(config.hierarchy.name), \(config.sites.count) site(s), top-level site \(config.topSite.code)"
            )
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
    }
}
