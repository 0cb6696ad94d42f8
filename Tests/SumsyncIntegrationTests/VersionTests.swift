import Foundation
import SumsyncModel
import Testing

@testable import SumsyncTestSupport

/// The version lives in the VERSION file only: the binaries' `--version` and the `User-Agent` of the requests
/// sumsync makes come from it (SumsyncVersionPlugin). The packages' versions are checked by
/// Tests/package/run.
@Suite("version")
struct VersionTests {
    /// The one line of the repository's VERSION file.
    static func versionFile() throws -> String {
        try String(
            contentsOf: TestEnvironment.repoRoot.appendingPathComponent("VERSION"), encoding: .utf8
        ).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("sumsyncd --version and sumsyncctl --version print the VERSION file")
    func binariesPrintTheVersion() throws {
        let version = try Self.versionFile()
        #expect(!version.isEmpty && SumsyncVersion.string == version)
        for tool in ["sumsyncd", "sumsyncctl"] {
            let result = try CLI.exec(try TestEnvironment.binary(tool), ["--version"])
            #expect(result.status == 0)
            #expect(result.stdout == version + "\n", "\(tool) --version: \(result.stdout)")
        }
    }

    @Test("a top-level site's requests to its HTTP upstream carry User-Agent sumsync/VERSION")
    func upstreamRequestsCarryTheVersion() async throws {
        let version = try Self.versionFile()
        let upstream = try await UpstreamServer()
        defer { upstream.stop() }
        upstream.serve(Data((catalogLine(1) + "\n").utf8), etag: "\"a\"")
        let site = try TopSiteFixture(label: "useragent", catalogURL: upstream.url)
        _ = try await site.start()
        #expect(try site.ctl(["sync", "--wait"]).status == 0)
        #expect(try site.ctl(["sync", "--wait"]).status == 0)
        #expect(upstream.userAgents.count == 2)
        #expect(upstream.userAgents.allSatisfy { $0 == "sumsync/\(version)" }, "\(upstream.userAgents)")
    }
}

/// The build tool of SumsyncVersionPlugin: a VERSION file that is not a version fails the build with a message
/// naming the file, and writes nothing.
@Suite("version source tool")
struct VersionSourceToolTests {
    @Test(
        "a good VERSION becomes SumsyncVersion; a bad one fails with a clear error",
        arguments: ["", "v1.0", "1.0 beta", "1.0\"x"])
    func badVersionFails(_ text: String) throws {
        let folder = TestEnvironment.scratch("version-tool")
        defer { try? FileManager.default.removeItem(at: folder) }
        let tool = try TestEnvironment.binary("sumsync-version-source")
        let input = folder.appendingPathComponent("VERSION").path
        let output = folder.appendingPathComponent("SumsyncVersion.swift").path
        try "1.2.3~rc1\n".write(toFile: input, atomically: true, encoding: .utf8)
        #expect(try CLI.exec(tool, [input, output]).status == 0)
        #expect(try String(contentsOfFile: output, encoding: .utf8).contains(#"userAgent = "sumsync/1.2.3~rc1""#))
        try FileManager.default.removeItem(atPath: output)

        try (text + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let result = try CLI.exec(tool, [input, output])
        #expect(result.status == 65)
        #expect(result.stderr.contains("\(input): '\(text)' is not a version like 0.11.0"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
        #expect(try CLI.exec(tool, [folder.appendingPathComponent("missing").path, output]).status == 66)
    }
}
