import Foundation
import SumsyncModel

/// Where one site's daemon keeps its state and runtime files.
///
/// The daemon and `sumsyncctl` resolve them the same way: an explicit folder, else the folder systemd
/// made for the unit (`$STATE_DIRECTORY`, `$RUNTIME_DIRECTORY`), else `/var/lib/sumsync/CODE` and
/// `/run/sumsync/CODE`.
public struct SitePaths: Sendable, Equatable {
    /// The state folder: the site database lives here.
    public var stateDirectory: String
    /// The runtime folder: the control socket lives here.
    public var runtimeDirectory: String

    /// Resolves the folders for `site`.
    public init(
        site: SiteCode, stateDirectory: String? = nil, runtimeDirectory: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        // systemd may list several folders separated by ':'; the unit names one.
        func fromEnvironment(_ name: String) -> String? {
            environment[name].flatMap { $0.split(separator: ":").first.map(String.init) }
        }
        self.stateDirectory = stateDirectory ?? fromEnvironment("STATE_DIRECTORY") ?? "/var/lib/sumsync/\(site)"
        self.runtimeDirectory = runtimeDirectory ?? fromEnvironment("RUNTIME_DIRECTORY") ?? "/run/sumsync/\(site)"
    }

    /// The control socket `sumsyncctl` talks to.
    public var controlSocket: String { (runtimeDirectory as NSString).appendingPathComponent("control.sock") }

    /// The site database.
    public var database: String { (stateDirectory as NSString).appendingPathComponent(SiteStore.fileName) }

    /// Creates both folders with mode 0700 when missing.
    public func createDirectories() throws {
        for folder in [stateDirectory, runtimeDirectory] {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
            )
        }
    }
}
