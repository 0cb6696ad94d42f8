import Foundation
import SumsyncModel
import TOMLKit

/// The semantic checks of one config file: types, ranges, references and the shape of the tree.
package struct ConfigValidation {
    let file: String
    let loader: ConfigLoader
    var issues: [ConfigIssue] = []

    init(file: String, loader: ConfigLoader) {
        self.file = file
        self.loader = loader
    }

    var folder: URL { URL(fileURLWithPath: file).deletingLastPathComponent() }

    mutating func run(_ root: TOMLTable) -> HierarchyConfig? {
        var top = TOMLReader(table: root, path: "", file: file)
        let hierarchyTable = top.table("hierarchy")
        let syncTable = top.table("sync")
        let upstreamTable = top.table("upstream")
        let alertsTable = top.table("alerts")
        top.allow("site")
        var siteTables: [TOMLTable] = []
        if let value = root["site"] {
            if let array = value.array, array.allSatisfy({ $0.type == .table }) {
                siteTables = array.compactMap(\.table)
            } else {
                top.fail("site", "expected an array of tables ([[site]]), found \(TOMLReader.describe(value.type))")
            }
        }
        top.finish()
        issues += top.issues

        let sync = readSync(syncTable)
        let upstream = readUpstream(upstreamTable)
        let alerts = readAlerts(alertsTable)
        let sites = readSites(siteTables)
        let hierarchy = readHierarchy(hierarchyTable, sites: sites, siteCount: siteTables.count)
        checkTree(sites)
        if let top = sites.first(where: { $0.parent == nil }), sites.filter({ $0.parent == nil }).count == 1,
            !upstream.disconnected, upstream.catalog == nil
        {
            fail(
                "upstream.catalog",
                "missing: the top-level site \(top.code) needs a catalog URL (or disconnected = true)")
        }
        guard issues.isEmpty else { return nil }
        return HierarchyConfig(
            file: file, hierarchy: hierarchy, sync: sync, upstream: upstream, alerts: alerts, sites: sites
        )
    }

    mutating func fail(_ keyPath: String, _ message: String) {
        issues.append(ConfigIssue(file: file, keyPath: keyPath, message: message))
    }

    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : folder.appendingPathComponent(path).standardizedFileURL.path
    }

    mutating func readHierarchy(_ table: TOMLTable?, sites: [SiteConfig], siteCount: Int) -> HierarchySettings {
        var settings = HierarchySettings()
        var keyFile: String?
        var requireTLS: Bool?
        if let table {
            var reader = TOMLReader(table: table, path: "hierarchy", file: file)
            if let name = reader.nonEmptyString("name") { settings.name = name }
            keyFile = reader.nonEmptyString("key-file")
            settings.caFile = reader.nonEmptyString("ca-file").map(resolve)
            requireTLS = reader.bool("require-tls")
            settings.tlsDirectory = reader.nonEmptyString("tls-dir").map(resolve)
            if let span = reader.positiveTimeSpan("header-timeout") { settings.headerTimeout = span }
            if let span = reader.positiveTimeSpan("idle-timeout") { settings.idleTimeout = span }
            if let count = reader.int("max-connections", range: 16...1_000_000) { settings.maxConnections = count }
            reader.finish()
            issues += reader.issues
        } else if siteCount > 1 {
            fail("hierarchy", "missing: a hierarchy of several sites needs [hierarchy] key-file")
        }
        readKeys(&settings, keyFile: keyFile, siteCount: siteCount, tableMissing: table == nil)
        settings.requireTLS = requireTLS ?? (settings.caFile != nil)
        checkTLS(&settings, sites: sites)
        return settings
    }

    /// The hierarchy key: the `hierarchy.key` credential when present, else `key-file`.
    mutating func readKeys(_ settings: inout HierarchySettings, keyFile: String?, siteCount: Int, tableMissing: Bool) {
        if let credentials = loader.credentialsDirectory, !credentials.isEmpty {
            let path = (credentials as NSString).appendingPathComponent("hierarchy.key")
            if FileManager.default.fileExists(atPath: path) {
                settings.keyFile = path
                settings.key = readKey(path, keyPath: "hierarchy.key-file (credential hierarchy.key)")
                return
            }
        }
        if let keyFile {
            let path = resolve(keyFile)
            settings.keyFile = path
            settings.key = readKey(path, keyPath: "hierarchy.key-file")
        } else if siteCount > 1 && !tableMissing && !issues.contains(where: { $0.keyPath == "hierarchy.key-file" }) {
            fail("hierarchy.key-file", "missing: a hierarchy of several sites needs a shared key file")
        }
    }

    /// `ca-file` is needed once any site is https; `require-tls` refuses any http site. The certificates
    /// themselves are checked by the daemon of each site (they differ per server).
    mutating func checkTLS(_ settings: inout HierarchySettings, sites: [SiteConfig]) {
        // "absent" is the unit's SetCredential= stand-in for a certificate file that does not exist.
        if let credentials = loader.credentialsDirectory, !credentials.isEmpty,
            let data = FileManager.default.contents(
                atPath: (credentials as NSString).appendingPathComponent("site.crt")),
            String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) != "absent"
        {
            settings.tlsCredentialsDirectory = credentials
        }
        let tlsSites = sites.filter(\.usesTLS)
        if let caFile = settings.caFile {
            if !FileManager.default.isReadableFile(atPath: caFile) {
                fail(
                    "hierarchy.ca-file",
                    "cannot read \(caFile): \(FileManager.default.fileExists(atPath: caFile) ? "permission denied" : "no such file")"
                )
            }
        } else if let first = tlsSites.first {
            fail(
                "hierarchy.ca-file",
                "missing: site \(first.code) uses https, so every site needs the hierarchy CA to check its peers; make one with `sumsyncctl pki init --output DIR`"
            )
        }
        if settings.requireTLS {
            for site in sites where !site.usesTLS {
                fail(
                    "site.url",
                    "site \(site.code) uses \(site.url), but [hierarchy] require-tls is true (the default once ca-file is set): use https://, or set require-tls = false while migrating"
                )
            }
        }
    }

    mutating func readKey(_ path: String, keyPath: String) -> Data? {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            fail(keyPath, "cannot read key file \(path): \(ConfigLoader.reason(error))")
            return nil
        }
        let trimmed = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            fail(keyPath, "key file \(path) is empty; write a secret into it, e.g. `openssl rand -hex 32 > \(path)`")
            return nil
        }
        return Data(trimmed.utf8)
    }

    mutating func readSync(_ table: TOMLTable?) -> SyncSettings {
        var settings = SyncSettings()
        guard let table else { return settings }
        var reader = TOMLReader(table: table, path: "sync", file: file)
        if let schedule = reader.nonEmptyString("schedule") {
            if let problem = loader.validateSchedule(schedule) {
                reader.fail("schedule", problem)
            } else {
                settings.schedule = schedule
            }
        }
        if let span = reader.positiveTimeSpan("retry-interval") { settings.retryInterval = span }
        if let span = reader.timeSpan("randomized-delay") { settings.randomizedDelay = span }
        if let span = reader.positiveTimeSpan("stale-after") { settings.staleAfter = span }
        if let products = reader.strings("products") { settings.products = products }
        if let classifications = reader.strings("classifications") {
            for (index, name) in classifications.enumerated() where !Classification.all.contains(name) {
                reader.fail(
                    "classifications[\(index)]",
                    "unknown classification '\(name)'; known: \(Classification.all.joined(separator: ", "))"
                )
            }
            settings.classifications = classifications
        }
        if let languages = reader.strings("languages") { settings.languages = languages }
        if let months = reader.int("expire-superseded-after-months", range: 0...120) {
            settings.expireSupersededAfterMonths = months
        }
        reader.finish()
        issues += reader.issues
        return settings
    }

    mutating func readUpstream(_ table: TOMLTable?) -> UpstreamSettings {
        var settings = UpstreamSettings()
        guard let table else { return settings }
        var reader = TOMLReader(table: table, path: "upstream", file: file)
        if let catalog = reader.nonEmptyString("catalog") {
            if let scheme = URL(string: catalog)?.scheme?.lowercased(), ["file", "http", "https"].contains(scheme),
                URL(string: catalog)?.host != nil || scheme == "file"
            {
                settings.catalog = catalog
            } else {
                reader.fail("catalog", "'\(catalog)' is not a file://, http:// or https:// URL")
            }
        }
        if let disconnected = reader.bool("disconnected") { settings.disconnected = disconnected }
        if let skip = reader.bool("skip-invalid") { settings.skipInvalid = skip }
        if let keys = reader.strings("trusted-keys") { settings.trustedKeys = keys.map(resolve) }
        if let span = reader.positiveTimeSpan("timeout") { settings.timeout = span }
        reader.finish()
        issues += reader.issues
        return settings
    }

    mutating func readAlerts(_ table: TOMLTable?) -> AlertSettings {
        var settings = AlertSettings()
        guard let table else { return settings }
        var reader = TOMLReader(table: table, path: "alerts", file: file)
        if let command = reader.nonEmptyString("on-failure") { settings.onFailure = command }
        if let span = reader.positiveTimeSpan("timeout") { settings.timeout = span }
        reader.finish()
        issues += reader.issues
        return settings
    }
}
