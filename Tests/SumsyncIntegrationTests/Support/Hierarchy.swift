import Foundation

/// A hierarchy config written into a scratch folder, with free loopback ports and a key file.
struct TestHierarchy {
    struct Site {
        var code: String
        var parent: String?
        var port: Int
        var extra: String = ""
        /// This site listens on plain http even in a TLS hierarchy (a migration).
        var plainHTTP = false
    }

    let folder: URL
    var sites: [Site]
    var sync = ""
    var upstream = "catalog = \"file:///dev/null\""
    var extraTables = ""
    /// Sites on https with `ca-file = "pki/ca.crt"` and `tls-dir = "tls"` (made by ``TestPKI``).
    var tls = false
    /// Extra `[hierarchy]` lines, e.g. `require-tls = false`.
    var hierarchyExtra = ""

    init(folder: URL, codes: [(String, String?)]) {
        self.folder = folder
        self.sites = codes.map { Site(code: $0.0, parent: $0.1, port: TestEnvironment.freePort()) }
    }

    var configPath: String { folder.appendingPathComponent("hierarchy.toml").path }

    func text() -> String {
        var text = """
            [hierarchy]
            name = "test"
            key-file = "hierarchy.key"
            \(tls ? "ca-file = \"pki/ca.crt\"\ntls-dir = \"tls\"" : "")
            \(hierarchyExtra)

            [sync]
            \(sync)

            [upstream]
            \(upstream)
            \(extraTables)

            """
        for site in sites {
            text += "\n[[site]]\ncode = \"\(site.code)\"\n"
            if let parent = site.parent { text += "parent = \"\(parent)\"\n" }
            let scheme = tls && !site.plainHTTP ? "https" : "http"
            text += "url = \"\(scheme)://127.0.0.1:\(site.port)\"\n\(site.extra)\n"
        }
        return text
    }

    @discardableResult
    func write() throws -> String {
        let key = folder.appendingPathComponent("hierarchy.key")
        if !FileManager.default.fileExists(atPath: key.path) {
            try Data("0123456789abcdef0123456789abcdef\n".utf8).write(to: key)
        }
        try text().write(toFile: configPath, atomically: true, encoding: .utf8)
        return configPath
    }

    func port(_ code: String) -> Int { sites.first { $0.code == code }!.port }
}
