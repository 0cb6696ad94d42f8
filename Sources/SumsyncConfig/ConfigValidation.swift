import Foundation
import SumsyncFormats
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

        let upstream = readUpstream(upstreamTable)
        let sync = readSync(syncTable, advisories: upstream.sources.contains { $0.format.isAdvisory })
        let alerts = readAlerts(alertsTable)
        let sites = readSites(siteTables)
        let hierarchy = readHierarchy(hierarchyTable, sites: sites, siteCount: siteTables.count)
        checkTree(sites)
        if let top = sites.first(where: { $0.parent == nil }), sites.filter({ $0.parent == nil }).count == 1,
            !upstream.disconnected, upstream.sources.isEmpty,
            !issues.contains(where: { $0.keyPath?.hasPrefix("upstream") == true })
        {
            fail(
                "upstream.catalog",
                "missing: the top-level site \(top.code) needs a catalog URL or [[upstream.source]] tables (or disconnected = true)"
            )
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
            if let path = reader.nonEmptyString("catalog-key").map(resolve) {
                settings.catalogKeyFile = path
                do {
                    let raw = try KeyArmor.read(path, kind: .publicKey, what: "catalog key")
                    if CatalogRoot.isPublicKey(raw) {
                        settings.catalogKey = raw
                    } else {
                        reader.fail("catalog-key", "\(path) holds no valid Ed25519 public key")
                    }
                } catch {
                    reader.fail("catalog-key", error.message)
                }
            }
            settings.catalogSigningKeyFile = reader.nonEmptyString("catalog-signing-key").map(resolve)
            reader.finish()
            issues += reader.issues
        } else if siteCount > 1 {
            fail("hierarchy", "missing: a hierarchy of several sites needs [hierarchy] key-file")
        }
        if let credentials = loader.credentialsDirectory, !credentials.isEmpty {
            let path = (credentials as NSString).appendingPathComponent("catalog-signing.key")
            if FileManager.default.fileExists(atPath: path) { settings.catalogSigningKeyFile = path }
        }
        if settings.catalogSigningKeyFile != nil && settings.catalogKeyFile == nil
            && !issues.contains(where: { $0.keyPath == "hierarchy.catalog-key" })
        {
            fail(
                "hierarchy.catalog-key",
                "missing: a catalog signing key is configured, so every site needs its public half as catalog-key")
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

    /// The largest key file read (a hex secret is 64 bytes).
    static let maxKeyFileSize = 4_096

    mutating func readKey(_ path: String, keyPath: String) -> Data? {
        // A key is a few dozen bytes: a device, a FIFO or a huge file named by mistake is refused unread.
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path) {
            if attributes[.type] as? FileAttributeType != .typeRegular {
                fail(keyPath, "key file \(path) is not a regular file")
                return nil
            }
            if let size = attributes[.size] as? Int, size > Self.maxKeyFileSize {
                fail(keyPath, "key file \(path) holds \(size) bytes; a key file holds at most \(Self.maxKeyFileSize)")
                return nil
            }
        }
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

    /// `advisories`: an rpm or osv source is configured, so advisory types are classifications to select.
    mutating func readSync(_ table: TOMLTable?, advisories: Bool) -> SyncSettings {
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
        if let schedule = reader.nonEmptyString("verify-schedule") {
            if schedule == "off" {
                settings.verifySchedule = nil
            } else if let problem = loader.validateSchedule(schedule) {
                reader.fail("verify-schedule", problem)
            } else {
                settings.verifySchedule = schedule
            }
        }
        if let span = reader.positiveTimeSpan("retry-interval") { settings.retryInterval = span }
        if let span = reader.timeSpan("randomized-delay") { settings.randomizedDelay = span }
        if let span = reader.positiveTimeSpan("stale-after") { settings.staleAfter = span }
        if let span = reader.positiveTimeSpan("pull-stall-timeout") { settings.pullStallTimeout = span }
        if let span = reader.timeSpan("purge-expired-after") {
            settings.purgeExpiredAfter = span.seconds == 0 ? nil : span
        }
        if let span = reader.positiveTimeSpan("history-retention") { settings.historyRetention = span }
        if let products = reader.strings("products") { settings.products = products }
        if let classifications = reader.strings("classifications") {
            let known = Classification.all + (advisories ? Classification.rpmTypes : [])
            for (index, name) in classifications.enumerated() where !known.contains(name) {
                let hint =
                    !advisories && Classification.rpmTypes.contains(name)
                    ? " ('\(name)' needs an rpm or osv [[upstream.source]])" : ""
                reader.fail(
                    "classifications[\(index)]",
                    "unknown classification '\(name)'\(hint); known: \(known.joined(separator: ", "))"
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
            if Self.isUpstreamURL(catalog) {
                settings.catalog = catalog
            } else {
                reader.fail("catalog", "'\(catalog)' is not a file://, http:// or https:// URL")
            }
        }
        reader.allow("source")
        if let value = table["source"] {
            if let array = value.array, array.allSatisfy({ $0.type == .table }) {
                if settings.catalog != nil {
                    reader.fail(
                        "source",
                        "use either [upstream] catalog or [[upstream.source]] tables, not both (catalog means one catalog source named \"catalog\")"
                    )
                } else {
                    settings.sources = readSources(array.compactMap(\.table))
                }
            } else {
                reader.fail(
                    "source",
                    "expected an array of tables ([[upstream.source]]), found \(TOMLReader.describe(value.type))")
            }
        }
        // Plain bytes (an integer) or a size with a unit (a string).
        let sizeText: String?
        if let value = table["max-metadata-size"], value.type == .int, let bytes = value.int {
            reader.allow("max-metadata-size")
            sizeText = String(bytes)
        } else {
            sizeText = reader.nonEmptyString("max-metadata-size")
        }
        if let text = sizeText {
            if let bytes = Self.byteSize(text), bytes >= 1 << 20 {
                settings.maxMetadataSize = bytes
            } else {
                reader.fail(
                    "max-metadata-size", "'\(text)' is not a size of at least 1 MiB (e.g. \"4 GiB\", \"512 MiB\")")
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

    /// The `[[upstream.source]]` tables, in order.
    mutating func readSources(_ tables: [TOMLTable]) -> [UpstreamSourceConfig] {
        var sources: [UpstreamSourceConfig] = []
        var names: Set<String> = []
        for (offset, table) in tables.enumerated() {
            // Counted from 1, as [[site]] tables are.
            let index = offset + 1
            var reader = TOMLReader(table: table, path: "upstream.source[\(index)]", file: file)
            let name = reader.nonEmptyString("name")
            let formatText = reader.nonEmptyString("format")
            let url = reader.nonEmptyString("url")
            let product = reader.nonEmptyString("product")
            let gpgKey = reader.nonEmptyString("gpg-key").map(resolve)
            let ecosystems = reader.strings("ecosystems")
            reader.finish()
            issues += reader.issues
            guard let name else {
                fail("upstream.source[\(index)].name", "missing: every source needs a name")
                continue
            }
            guard Self.isSourceName(name) else {
                fail("upstream.source[\(index)].name", "'\(name)' is not a source name: [a-z0-9][a-z0-9._-]*")
                continue
            }
            guard names.insert(name).inserted else {
                fail("upstream.source[\(index)].name", "'\(name)' names two sources; names must be unique")
                continue
            }
            guard let formatText else {
                fail("upstream.source[\(index)].format", "missing: \"catalog\", \"rpm\" or \"osv\"")
                continue
            }
            guard let format = SourceFormat(rawValue: formatText) else {
                fail("upstream.source[\(index)].format", "unknown format '\(formatText)'; known: catalog, rpm, osv")
                continue
            }
            guard let url else {
                let what =
                    switch format {
                    case .rpm: "the repository's base URL"
                    case .osv: "the URL of the zip of records (or file:// to a zip or a folder of *.json)"
                    case .catalog: "the catalog's URL"
                    }
                fail("upstream.source[\(index)].url", "missing: \(what)")
                continue
            }
            guard Self.isUpstreamURL(url) else {
                fail("upstream.source[\(index)].url", "'\(url)' is not a file://, http:// or https:// URL")
                continue
            }
            if let gpgKey {
                if format != .rpm {
                    fail("upstream.source[\(index)].gpg-key", "only rpm sources are signed (repodata/repomd.xml.asc)")
                } else if !FileManager.default.isReadableFile(atPath: gpgKey) {
                    fail(
                        "upstream.source[\(index)].gpg-key",
                        "cannot read \(gpgKey): \(FileManager.default.fileExists(atPath: gpgKey) ? "permission denied" : "no such file")"
                    )
                }
            }
            if format == .osv, product != nil {
                fail(
                    "upstream.source[\(index)].product",
                    "an osv source's records name their own product (the ecosystem, such as Debian:12); choose them with ecosystems"
                )
            }
            if let ecosystems {
                if format != .osv {
                    fail("upstream.source[\(index)].ecosystems", "only osv sources have ecosystems")
                } else if let bad = ecosystems.first(where: {
                    $0.trimmingCharacters(in: .whitespaces).isEmpty || $0 != $0.trimmingCharacters(in: .whitespaces)
                }) {
                    fail(
                        "upstream.source[\(index)].ecosystems",
                        "'\(bad)' is not an ecosystem (such as \"Debian:12\", or a prefix ending in ':' such as \"Ubuntu:\")"
                    )
                }
            }
            sources.append(
                UpstreamSourceConfig(
                    name: name, format: format, url: url, product: product, gpgKey: gpgKey, ecosystems: ecosystems ?? []
                ))
        }
        return sources
    }

    static func isUpstreamURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(),
            ["file", "http", "https"].contains(scheme)
        else { return false }
        return url.host != nil || scheme == "file"
    }

    /// `[a-z0-9][a-z0-9._-]*`.
    static func isSourceName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 64 else { return false }
        func allowed(_ byte: UInt8, first: Bool) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): !first
            default: false
            }
        }
        return allowed(first, first: true) && name.utf8.dropFirst().allSatisfy { allowed($0, first: false) }
    }

    /// `4 GiB`, `512MiB`, `100 MB`, `1G`, or plain bytes.
    static func byteSize(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isNumber }
        guard let number = Int64(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let factor: Int64
        switch unit {
        case "", "b": factor = 1
        case "k", "kib": factor = 1 << 10
        case "kb": factor = 1000
        case "m", "mib": factor = 1 << 20
        case "mb": factor = 1_000_000
        case "g", "gib": factor = 1 << 30
        case "gb": factor = 1_000_000_000
        case "t", "tib": factor = 1 << 40
        default: return nil
        }
        let (value, overflow) = number.multipliedReportingOverflow(by: factor)
        return overflow ? nil : value
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
