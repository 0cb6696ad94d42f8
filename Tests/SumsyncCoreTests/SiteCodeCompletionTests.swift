import Foundation
import Testing

@testable import SumsyncConfig

/// `--site<Tab>`: the site codes of the config the command line names, read without validating the file.
/// The real shells run the generated scripts in Tests/package/run.
@Suite("site code completion")
struct SiteCodeCompletionTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("complete-\(UUID().uuidString).toml")
            .path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let hierarchy = """
        [hierarchy]
        key-file = "/nonexistent/hierarchy.key"
        no-such-key = 1
        [[site]]
        code = "CAS"
        url = "http://127.0.0.1:1"
        [[site]]
        code = "PR1"
        parent = "CAS"
        url = "http://127.0.0.1:2"
        [[site]]
        code = "SE1"
        parent = "PR1"
        url = "http://127.0.0.1:3"
        """

    @Test("every code in file order, even when the file would not validate or its key is unreadable")
    func codesOfAnInvalidFile() throws {
        let path = try write(Self.hierarchy)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(SiteCodeCompletion.siteCodes(configPath: path) == ["CAS", "PR1", "SE1"])
        #expect(
            SiteCodeCompletion.candidates(words: ["sumsyncctl", "--config", path, "--site", ""], prefix: "") == [
                "CAS", "PR1", "SE1",
            ])
        #expect(
            SiteCodeCompletion.candidates(words: ["sumsyncctl", "--config=\(path)", "--site", "p"], prefix: "p") == [
                "PR1"
            ])
        #expect(SiteCodeCompletion.candidates(words: ["sumsyncctl", "--config", "'\(path)'"], prefix: "S") == ["SE1"])
    }

    @Test("the last --config wins; without one, /etc/sumsync/hierarchy.toml")
    func configPath() {
        #expect(SiteCodeCompletion.configPath(words: ["sumsyncctl", "status"]) == "/etc/sumsync/hierarchy.toml")
        #expect(
            SiteCodeCompletion.configPath(words: ["sumsyncctl", "--config", "a.toml", "--config=b.toml"]) == "b.toml")
        #expect(SiteCodeCompletion.configPath(words: ["sumsyncd", "--config", "\"/x y.toml\""]) == "/x y.toml")
        #expect(SiteCodeCompletion.configPath(words: ["sumsyncctl", "--config"]) == "/etc/sumsync/hierarchy.toml")
    }

    @Test("a missing file or one that is not TOML offers nothing")
    func nothingToOffer() throws {
        #expect(SiteCodeCompletion.siteCodes(configPath: "/nonexistent/hierarchy.toml").isEmpty)
        let path = try write("[[site]\ncode = ")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(SiteCodeCompletion.siteCodes(configPath: path).isEmpty)
    }
}
