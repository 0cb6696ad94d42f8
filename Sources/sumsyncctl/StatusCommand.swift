import ArgumentParser
import Foundation
import SumsyncControl
import SumsyncFormats
import SumsyncModel

/// `sumsyncctl status [--json]`: this site and its descendants.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the sync state of this site and every site below it."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "One JSON object {\"sites\":[…]}.")
    var json = false

    func run() async throws {
        let body = try await global.fetch(ControlProtocol.statusPath)
        if json {
            FileHandle.standardOutput.write(body)
            return
        }
        let report = try JSONDecoder().decode(StatusReport.self, from: body)
        let rows = report.sites.map { status -> [String] in
            var state = status.state.rawValue
            if status.stale { state += " (stale)" }
            return [
                status.site, status.parent ?? "-", state, "v\(status.catalogVersion)", "\(status.updates)",
                status.lag == 0 ? "0" : "\(status.lag) behind", status.link.rawValue,
                status.verified.map { $0 ? "yes" : "NO" } ?? "unverified", status.lastSuccess ?? "never",
                status.nextSync ?? "", status.lastError ?? "",
            ]
        }
        Table.print(
            header: [
                "SITE", "PARENT", "STATE", "CATALOG", "UPDATES", "LAG", "LINK", "VERIFIED", "LAST SUCCESS", "NEXT SYNC",
                "LAST ERROR",
            ],
            rows: rows
        )
        // Below the table: what needs an admin soon, and links that are not TLS.
        let soon = Date().addingTimeInterval(14 * 86_400)
        for status in report.sites {
            guard let text = status.certExpires, let expires = RFC3339.parse(text), expires < soon
            else { continue }
            print(
                expires < Date()
                    ? "Certificate of \(status.site) expired on \(text): issue a new one (sumsyncctl pki issue)."
                    : "Certificate of \(status.site) expires on \(text): issue a new one (sumsyncctl pki issue).")
        }
        if report.sites.allSatisfy({ $0.verified == nil }) {
            print("Catalogs are unverified in this hierarchy: no [hierarchy] catalog-key (docs/security.md).")
        }
        for status in report.sites where status.verified == false {
            print(
                "Catalog of \(status.site) not verified: \(status.verifyError ?? status.lastError ?? "never checked").")
        }
        for link in report.insecureLinks ?? [] {
            print(
                "Plain-http link \(link.parent) → \(link.child) (\(link.urls.joined(separator: ", "))): \(link.exposure)."
            )
        }
    }
}
