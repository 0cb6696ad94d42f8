import ArgumentParser
import Foundation
import SumsyncControl
import SumsyncModel

/// `sumsyncctl ping`: asks the running daemon who and how it is.
struct PingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping", abstract: "Ask the site's running daemon whether it is up.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print the answer as JSON.")
    var json = false

    func run() async throws {
        let body = try await global.fetch(ControlProtocol.pingPath)
        if json {
            FileHandle.standardOutput.write(body)
            return
        }
        let ping = try JSONDecoder().decode(ControlProtocol.Ping.self, from: body)
        print("site:     \(ping.site)")
        print("pid:      \(ping.pid)")
        print("uptime:   \(TimeSpan(seconds: Int64(ping.uptimeSeconds)))")
        print("state:    \(ping.state)")
        print("catalog:  v\(ping.catalogVersion)")
        if let next = ping.nextSync { print("next sync: \(next)") }
        print("status:   \(ping.status)")
    }
}
