import Foundation
import PackagePlugin

/// Writes `SumsyncVersion.swift` from the package's `VERSION` file before the target compiles, so the version
/// lives in one place: `sumsyncd --version`, `sumsyncctl --version`, the `User-Agent` of site-to-site requests
/// and the packages (`make deb`, `make rpm`) all read that file.
@main
struct SumsyncVersionPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let version = context.package.directoryURL.appending(path: "VERSION")
        let output = context.pluginWorkDirectoryURL.appending(path: "SumsyncVersion.swift")
        return [
            .buildCommand(
                displayName: "Writing SumsyncVersion.swift from VERSION",
                executable: try context.tool(named: "sumsync-version-source").url,
                arguments: [version.path(percentEncoded: false), output.path(percentEncoded: false)],
                inputFiles: [version],
                outputFiles: [output]
            )
        ]
    }
}
