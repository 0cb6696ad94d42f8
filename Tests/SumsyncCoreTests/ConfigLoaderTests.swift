import Foundation
import Testing

@testable import SumsyncConfig
@testable import SumsyncModel
@testable import SumsyncSync

/// Broken configs, each with the message the admin must see.
@Suite("hierarchy config")
struct ConfigLoaderTests {
    static let folder: URL = {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "sumsync-config-tests-\(getpid())")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try! Data("secret-secret-secret\n".utf8).write(to: url.appendingPathComponent("hierarchy.key"))
        try! Data("\n  \n".utf8).write(to: url.appendingPathComponent("empty.key"))
        return url
    }()

    static var file: String { folder.appendingPathComponent("hierarchy.toml").path }

    static let header = """
        [hierarchy]
        name = "t"
        key-file = "hierarchy.key"
        [upstream]
        catalog = "file:///srv/catalog.ndjson"

        """
    static let cas = "[[site]]\ncode = \"CAS\"\nurl = \"http://127.0.0.1:8531\"\n"
    static let pr1 = "[[site]]\ncode = \"PR1\"\nparent = \"CAS\"\nurl = \"http://127.0.0.1:8532\"\n"

    func load(_ text: String, credentials: String? = nil) throws(ConfigError) -> HierarchyConfig {
        try ConfigLoader(credentialsDirectory: credentials).parse(text, file: Self.file)
    }

    @Test func validHierarchy() throws {
        let config = try load(Self.header + Self.cas + Self.pr1)
        #expect(config.topSite.code == "CAS")
        #expect(config.children(of: "CAS").map(\.code) == ["PR1"])
        #expect(config.hierarchy.key == Data("secret-secret-secret".utf8))
        #expect(config.sync.retryInterval.seconds == 3_600)
        #expect(config.sync.effectiveStaleAfter.seconds == 7_200)
        #expect(config.site("PR1")?.port == 8532)
    }

    @Test func theExampleConfigIsValid() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/hierarchy.toml")
        let text = try String(contentsOf: example, encoding: .utf8)
        let config = try load(text)
        #expect(config.sites.count == 5)
        #expect(config.subtree(of: "CAS").map(\.code.rawValue) == ["CAS", "PR1", "PR2", "SE1", "SE2"])
    }

    @Test func credentialWinsOverKeyFile() throws {
        let credentials = Self.folder.appendingPathComponent("creds")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
        try Data("from-credential".utf8).write(to: credentials.appendingPathComponent("hierarchy.key"))
        let config = try load(
            Self.header.replacingOccurrences(of: "hierarchy.key", with: "missing.key") + Self.cas + Self.pr1,
            credentials: credentials.path)
        #expect(config.hierarchy.key == Data("from-credential".utf8))
    }

    /// (what is broken, the config text, the expected line).
    static let broken: [(String, String, String)] = [
        ("syntax error", header + "[[site]\ncode = \"CAS\"\n", "hierarchy.toml:6:"),
        (
            "unknown parent",
            header + cas + "[[site]]\ncode = \"PR1\"\nparent = \"XXX\"\nurl = \"http://127.0.0.1:8532\"\n",
            "hierarchy.toml: site[2].parent: unknown parent site XXX"
        ),
        (
            "cycle",
            header + cas
                + "[[site]]\ncode = \"PR1\"\nparent = \"PR2\"\nurl = \"http://127.0.0.1:8532\"\n[[site]]\ncode = \"PR2\"\nparent = \"PR1\"\nurl = \"http://127.0.0.1:8533\"\n",
            "cycle: "
        ),
        (
            "duplicate site code", header + cas + cas.replacingOccurrences(of: "8531", with: "8539"),
            "site[2].code: duplicate site code CAS (also site[1])"
        ),
        (
            "two top-level sites", header + cas + "[[site]]\ncode = \"CA2\"\nurl = \"http://127.0.0.1:8532\"\n",
            "site: 2 top-level sites (CAS, CA2): exactly one [[site]] may have no parent"
        ),
        (
            "no top-level site",
            header + "[[site]]\ncode = \"PR1\"\nparent = \"PR1\"\nurl = \"http://127.0.0.1:8532\"\n",
            "site: no top-level site"
        ),
        ("no sites", header, "site: missing: list at least one [[site]]"),
        (
            "bad URL", header + "[[site]]\ncode = \"CAS\"\nurl = \"ftp://host\"\n",
            "site[1].url: 'ftp://host' is not a site URL; write https://HOST:PORT or http://HOST:PORT"
        ),
        (
            "duplicate URL", header + cas + pr1.replacingOccurrences(of: "8532", with: "8531"),
            "site[2].url: duplicate URL http://127.0.0.1:8531 (also site[1])"
        ),
        (
            "unknown classification",
            header + "[sync]\nclassifications = [\"Security Updates\", \"Securty Updates\"]\n" + cas,
            "sync.classifications[1]: unknown classification 'Securty Updates'"
        ),
        (
            "unreadable key file", header.replacingOccurrences(of: "hierarchy.key", with: "nope.key") + cas,
            "hierarchy.key-file: cannot read key file"
        ),
        (
            "empty key file", header.replacingOccurrences(of: "hierarchy.key", with: "empty.key") + cas,
            "hierarchy.key-file: key file"
        ),
        (
            "a device as key file", header.replacingOccurrences(of: "hierarchy.key", with: "/dev/zero") + cas,
            "hierarchy.key-file: key file /dev/zero is not a regular file"
        ),
        (
            "invalid site code", header + "[[site]]\ncode = \"cas1\"\nurl = \"http://127.0.0.1:8531\"\n",
            "site[1].code: invalid site code 'cas1': use 3 characters of A–Z and 0–9"
        ),
        (
            "string where a list belongs", header + "[sync]\nproducts = \"Windows 11\"\n" + cas,
            "sync.products: expected a list of strings, found a string"
        ),
        (
            "negative months", header + "[sync]\nexpire-superseded-after-months = -1\n" + cas,
            "sync.expire-superseded-after-months: -1 is out of range (0…120)"
        ),
        (
            "time span that does not parse", header + "[sync]\nretry-interval = \"an hour\"\n" + cas,
            "sync.retry-interval: 'an hour' is not a time span"
        ),
        (
            "unknown key (typo)", header + "[sync]\nretry-intervall = \"1h\"\n" + cas,
            "sync.retry-intervall: unknown key"
        ),
        ("unknown table", header + "[alert]\non-failure = \"/bin/true\"\n" + cas, "hierarchy.toml: alert: unknown key"),
        (
            "wrong type in a site", header + "[[site]]\ncode = 7\nurl = \"http://127.0.0.1:8531\"\n",
            "site[1].code: expected a string, found an integer"
        ),
        (
            "missing key file with several sites", "[upstream]\ncatalog = \"file:///x\"\n" + cas + pr1,
            "hierarchy: missing: a hierarchy of several sites needs [hierarchy] key-file"
        ),
        (
            "missing catalog", "[hierarchy]\nkey-file = \"hierarchy.key\"\n" + cas,
            "upstream.catalog: missing: the top-level site CAS needs a catalog URL"
        ),
        (
            "bad catalog URL",
            header.replacingOccurrences(of: "file:///srv/catalog.ndjson", with: "catalog.ndjson") + cas,
            "upstream.catalog: 'catalog.ndjson' is not a file://, http:// or https:// URL"
        ),
        (
            "bad metrics address", header + cas + "metrics-listen = \"9464\"\n",
            "site[1].metrics-listen: '9464' is not HOST:PORT"
        ),
        (
            "https without a CA", header + cas.replacingOccurrences(of: "http:", with: "https:"),
            "hierarchy.ca-file: missing: site CAS uses https"
        ),
        (
            "unreadable CA file",
            header.replacingOccurrences(of: "name = \"t\"", with: "ca-file = \"no-such-ca.crt\"")
                + cas.replacingOccurrences(of: "http:", with: "https:"),
            "hierarchy.ca-file: cannot read"
        ),
        (
            "an http site under require-tls (the default with a CA)",
            header.replacingOccurrences(of: "name = \"t\"", with: "ca-file = \"hierarchy.key\"")
                + cas.replacingOccurrences(of: "http:", with: "https:") + pr1,
            "site PR1 uses http://127.0.0.1:8532, but [hierarchy] require-tls is true"
        ),
        (
            "a zero header timeout",
            header.replacingOccurrences(of: "name = \"t\"", with: "header-timeout = \"0s\"") + cas,
            "hierarchy.header-timeout: must be at least 1s"
        ),
    ]

    @Test("TLS settings: require-tls follows ca-file, false keeps http links and lists them")
    func tlsSettings() throws {
        let https = Self.cas.replacingOccurrences(of: "http:", with: "https:")
        let withCA = Self.header.replacingOccurrences(
            of: "name = \"t\"", with: "ca-file = \"hierarchy.key\"\ntls-dir = \"tls\"")
        var config = try load(withCA + https + Self.pr1.replacingOccurrences(of: "http:", with: "https:"))
        #expect(config.hierarchy.requireTLS)
        #expect(config.hierarchy.caFile == Self.folder.appendingPathComponent("hierarchy.key").path)
        #expect(config.sites.allSatisfy(\.usesTLS) && config.insecureLinks.isEmpty)
        #expect(
            config.hierarchy.certificateFiles(for: "PR1")?.key == Self.folder.appendingPathComponent("tls/PR1.key").path
        )
        #expect(config.hierarchy.headerTimeout.seconds == 30 && config.hierarchy.idleTimeout.seconds == 120)
        config = try load(
            withCA.replacingOccurrences(of: "tls-dir", with: "require-tls = false\ntls-dir") + https + Self.pr1)
        #expect(!config.hierarchy.requireTLS)
        #expect(config.insecureLinks.map { "\($0.parent.code)-\($0.child.code)" } == ["CAS-PR1"])
        config = try load(Self.header + Self.cas + Self.pr1)
        #expect(!config.hierarchy.requireTLS && config.hierarchy.caFile == nil)
        #expect(SiteConfig(code: "CAS", name: "", parent: nil, url: "HTTPS://h:1", host: "h", port: 1).usesTLS)
    }

    /// The `[upstream]` of a config with sources instead of `catalog`.
    static func sources(_ tables: String, sync: String = "") -> String {
        "[hierarchy]\nname = \"t\"\nkey-file = \"hierarchy.key\"\n\(sync)[upstream]\n\(tables)\n" + cas
    }

    static let rpm = "[[upstream.source]]\nname = \"rocky9\"\nformat = \"rpm\"\nurl = \"https://m.example.org/9/\"\n"

    @Test func upstreamSources() throws {
        var config = try load(Self.header + Self.cas)
        #expect(
            config.upstream.sources == [
                UpstreamSourceConfig(name: "catalog", format: .catalog, url: "file:///srv/catalog.ndjson")
            ])
        config = try load(
            Self.sources(
                Self.rpm + "product = \"Rocky Linux 9\"\n"
                    + "[[upstream.source]]\nname = \"epel-9.x86_64\"\nformat = \"rpm\"\nurl = \"file:///srv/epel/\"\n"
                    + "[[upstream.source]]\nname = \"own\"\nformat = \"catalog\"\nurl = \"http://c.example.org/c.ndjson\"\n",
                sync: "[sync]\nclassifications = [\"security\", \"bugfix\", \"Updates\"]\n"))
        #expect(config.upstream.sources.map(\.name) == ["rocky9", "epel-9.x86_64", "own"])
        #expect(config.upstream.sources.map(\.product) == ["Rocky Linux 9", "epel-9.x86_64", "own"])
        #expect(config.upstream.sources.map(\.format) == [.rpm, .rpm, .catalog])
        #expect(config.upstream.maxMetadataSize == 4 << 30 && config.upstream.catalog == nil)
        config = try load(Self.sources("max-metadata-size = \"512 MiB\"\n" + Self.rpm))
        #expect(config.upstream.maxMetadataSize == 512 << 20)
        config = try load(Self.sources("max-metadata-size = 2000000\n" + Self.rpm))
        #expect(config.upstream.maxMetadataSize == 2_000_000)
        config = try load(
            Self.sources(
                Self.osv + "ecosystems = [\"Debian:12\", \"Ubuntu:\"]\n"
                    + Self.osv.replacingOccurrences(of: "debian", with: "all"),
                sync: "[sync]\nclassifications = [\"bugfix\"]\n"))
        #expect(config.upstream.sources.map(\.format) == [.osv, .osv])
        #expect(config.upstream.sources.map(\.ecosystems) == [["Debian:12", "Ubuntu:"], []])
        #expect(config.upstream.sources.map(\.product) == ["Debian:12,Ubuntu:", "*"])
        #expect(config.sync.classifications == ["bugfix"])
    }

    static let osv =
        "[[upstream.source]]\nname = \"debian\"\nformat = \"osv\"\nurl = \"file:///feeds/Debian/all.zip\"\n"

    /// (what is broken, the config text, the expected words).
    static let brokenSources: [(String, String, String)] = [
        (
            "catalog and sources", header.replacingOccurrences(of: "[upstream]\n", with: "[upstream]\n") + rpm + cas,
            "upstream.source: use either [upstream] catalog or [[upstream.source]] tables, not both"
        ),
        (
            "no name", sources("[[upstream.source]]\nformat = \"rpm\"\nurl = \"file:///r/\"\n"),
            "upstream.source[1].name: missing"
        ),
        (
            "bad name", sources(rpm.replacingOccurrences(of: "rocky9", with: "Rocky 9")),
            "'Rocky 9' is not a source name"
        ),
        ("duplicate name", sources(rpm + rpm), "upstream.source[2].name: 'rocky9' names two sources"),
        (
            "unknown format", sources(rpm.replacingOccurrences(of: "\"rpm\"", with: "\"deb\"")),
            "unknown format 'deb'; known: catalog, rpm, osv"
        ),
        (
            "bad url", sources(rpm.replacingOccurrences(of: "https://m.example.org/9/", with: "ftp://m/")),
            "is not a file://, http:// or https:// URL"
        ),
        (
            "unreadable gpg-key", sources(rpm + "gpg-key = \"keys/missing.asc\"\n"),
            "upstream.source[1].gpg-key: cannot read"
        ),
        (
            "gpg-key on a catalog",
            sources(
                "[[upstream.source]]\nname = \"c\"\nformat = \"catalog\"\nurl = \"file:///c\"\ngpg-key = \"hierarchy.key\"\n"
            ), "only rpm sources are signed"
        ),
        ("unknown source key", sources(rpm + "mirror = \"x\"\n"), "upstream.source[1].mirror"),
        (
            "rpm type without rpm source", header + "[sync]\nclassifications = [\"security\"]\n" + cas,
            "'security' needs an rpm or osv [[upstream.source]]"
        ),
        ("tiny size cap", sources("max-metadata-size = \"10 KiB\"\n" + rpm), "is not a size of at least 1 MiB"),
        (
            "product on an osv source", sources(osv + "product = \"Debian\"\n"),
            "upstream.source[1].product: an osv source's records name their own product"
        ),
        (
            "ecosystems on an rpm source", sources(rpm + "ecosystems = [\"Debian:12\"]\n"),
            "only osv sources have ecosystems"
        ),
        (
            "blank ecosystem", sources(osv + "ecosystems = [\"Debian:12\", \" \"]\n"),
            "upstream.source[1].ecosystems: ' ' is not an ecosystem"
        ),
        ("ecosystems not strings", sources(osv + "ecosystems = [12]\n"), "upstream.source[1].ecosystems"),
        (
            "no upstream at all", "[hierarchy]\nname = \"t\"\n[upstream]\n" + cas,
            "needs a catalog URL or [[upstream.source]] tables"
        ),
    ]

    @Test(arguments: brokenSources)
    func rejectsSources(kind: String, text: String, expected: String) {
        do {
            _ = try load(text)
            Issue.record("\(kind): accepted")
        } catch {
            #expect(error.description.contains(expected), "\(kind): got \(error.description)")
        }
    }

    @Test(arguments: broken)
    func rejects(kind: String, text: String, expected: String) {
        do {
            _ = try load(text)
            Issue.record("\(kind): accepted")
        } catch {
            #expect(error.description.contains(expected), "\(kind): got \(error.description)")
            #expect(error.issues.allSatisfy { $0.description.hasPrefix(Self.file + ":") })
        }
    }

    @Test func reportsEveryProblemAtOnce() {
        let text =
            Self.header + "[sync]\nretry-interval = \"x\"\nproducts = 3\n"
            + "[[site]]\ncode = \"bad\"\nurl = \"http://h:1\"\n"
        #expect(throws: ConfigError.self) { try load(text) }
        do { _ = try load(text) } catch { #expect(error.issues.count >= 3) }
    }
}

/// `[hierarchy] catalog-key` / `catalog-signing-key` and `[sync] verify-schedule`: docs/security.md.
@Suite("hierarchy config: verified catalogs")
struct CatalogKeyConfigTests {
    static let folder = ConfigLoaderTests.folder

    func load(_ hierarchy: String, sync: String = "", credentials: String? = nil) throws(ConfigError)
        -> HierarchyConfig
    {
        _ = Self.keys  // the key files the configs name
        let text =
            ConfigLoaderTests.header.replacingOccurrences(
                of: "key-file = \"hierarchy.key\"\n", with: "key-file = \"hierarchy.key\"\n\(hierarchy)\n")
            + (sync.isEmpty ? "" : "[sync]\n\(sync)\n") + ConfigLoaderTests.cas + ConfigLoaderTests.pr1
        return try ConfigLoader(credentialsDirectory: credentials).parse(text, file: ConfigLoaderTests.file)
    }

    /// A real key pair from `sumsyncctl keygen`'s code.
    static let keys: (private: String, public: String) = {
        let path = folder.appendingPathComponent("catalog.key").path
        if !FileManager.default.fileExists(atPath: path) {
            try! BundleSigningKey.generate().write(to: path, purpose: "catalog")
        }
        try! Data("not a key\n".utf8).write(to: folder.appendingPathComponent("garbage.pub"))
        return (path, path + ".pub")
    }()

    @Test func keysAndScheduleAreRead() throws {
        let config = try load(
            "catalog-key = \"catalog.key.pub\"\ncatalog-signing-key = \"catalog.key\"",
            sync: "verify-schedule = \"daily\"")
        #expect(config.hierarchy.catalogKey?.count == 32 && config.hierarchy.catalogKeyFile == Self.keys.public)
        #expect(config.hierarchy.catalogSigningKeyFile == Self.keys.private)
        #expect(config.sync.verifySchedule == "daily")
        #expect(try load("").sync.verifySchedule == "weekly" && load("").hierarchy.catalogKey == nil)
        #expect(try load("", sync: "verify-schedule = \"off\"").sync.verifySchedule == nil)
        // The credential wins over the configured path.
        let credentials = Self.folder.appendingPathComponent("catalog-creds")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
        try? FileManager.default.copyItem(
            atPath: Self.keys.private, toPath: credentials.appendingPathComponent("catalog-signing.key").path)
        let fromCredential = try load(
            "catalog-key = \"catalog.key.pub\"\ncatalog-signing-key = \"elsewhere.key\"", credentials: credentials.path)
        #expect(fromCredential.hierarchy.catalogSigningKeyFile?.hasSuffix("catalog-creds/catalog-signing.key") == true)
    }

    static let broken: [(String, String, String, String)] = [
        ("missing catalog key file", "catalog-key = \"nowhere.pub\"", "", "hierarchy.catalog-key"),
        ("not a key", "catalog-key = \"garbage.pub\"", "", "hierarchy.catalog-key"),
        ("a private key as catalog key", "catalog-key = \"catalog.key\"", "", "hierarchy.catalog-key"),
        (
            "signing key without catalog key", "catalog-signing-key = \"catalog.key\"", "",
            "every site needs its public half as catalog-key"
        ),
        ("bad verify schedule", "", "verify-schedule = \"sometimes\"", "sync.verify-schedule"),
        ("purge span not a span", "", "purge-expired-after = \"soon\"", "sync.purge-expired-after"),
        ("purge span not a string", "", "purge-expired-after = 90", "sync.purge-expired-after"),
        ("history retention of nothing", "", "history-retention = \"0\"", "sync.history-retention"),
        (
            "pull stall timeout below 1s", "", "pull-stall-timeout = \"0\"",
            "sync.pull-stall-timeout: must be at least 1s"
        ),
        ("pull stall timeout not a span", "", "pull-stall-timeout = \"long\"", "sync.pull-stall-timeout"),
    ]

    /// `[sync] purge-expired-after` and `history-retention` (docs/configuration.md).
    @Test func housekeepingSpansAreRead() throws {
        let defaults = try load("").sync
        #expect(defaults.purgeExpiredAfter?.seconds == 90 * 86_400 && defaults.historyRetention.seconds == 400 * 86_400)
        let set = try load("", sync: "purge-expired-after = \"30d\"\nhistory-retention = \"2w\"").sync
        #expect(set.purgeExpiredAfter?.seconds == 30 * 86_400 && set.historyRetention.seconds == 14 * 86_400)
        #expect(try load("", sync: "purge-expired-after = \"0\"").sync.purgeExpiredAfter == nil)
    }

    /// `[sync] pull-stall-timeout`: 60 s unless set.
    @Test func pullStallTimeoutIsRead() throws {
        #expect(try load("").sync.pullStallTimeout.seconds == 60)
        #expect(try load("", sync: "pull-stall-timeout = \"5s\"").sync.pullStallTimeout.seconds == 5)
    }

    @Test(arguments: broken)
    func rejects(kind: String, hierarchy: String, sync: String, expected: String) {
        do {
            _ = try load(hierarchy, sync: sync)
            Issue.record("\(kind): accepted")
        } catch {
            #expect(error.description.contains(expected), "\(kind): got \(error.description)")
        }
    }
}
