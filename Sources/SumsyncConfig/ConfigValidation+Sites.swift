import Foundation
import SumsyncModel
import TOMLKit

extension ConfigValidation {
    mutating func readSites(_ tables: [TOMLTable]) -> [SiteConfig] {
        var sites: [SiteConfig] = []
        var seenCodes: [SiteCode: Int] = [:]
        var seenURLs: [String: Int] = [:]
        for (index, table) in tables.enumerated() {
            let path = "site[\(index + 1)]"
            var reader = TOMLReader(table: table, path: path, file: file)
            var code: SiteCode?
            if let text = reader.string("code") {
                if let valid = SiteCode(text) {
                    code = valid
                    if let first = seenCodes[valid] {
                        reader.fail("code", "duplicate site code \(text) (also site[\(first)])")
                    } else {
                        seenCodes[valid] = index + 1
                    }
                } else {
                    reader.fail("code", "invalid site code '\(text)': use 3 characters of A–Z and 0–9, like CAS or PR1")
                }
            } else if table["code"] == nil {
                reader.fail("code", "missing")
            }
            let name = reader.nonEmptyString("name")
            var parent: SiteCode?
            if let text = reader.string("parent") {
                if let valid = SiteCode(text) {
                    parent = valid
                } else {
                    reader.fail("parent", "invalid site code '\(text)'")
                }
            }
            var endpoint: (url: String, host: String, port: Int)?
            if let url = reader.string("url") {
                if let parsed = Self.parseSiteURL(url) {
                    endpoint = (url, parsed.host, parsed.port)
                    let normalized = "\(parsed.host.lowercased()):\(parsed.port)"
                    if let first = seenURLs[normalized] {
                        reader.fail("url", "duplicate URL \(url) (also site[\(first)])")
                    } else {
                        seenURLs[normalized] = index + 1
                    }
                } else {
                    reader.fail(
                        "url",
                        "'\(url)' is not a site URL; write https://HOST:PORT or http://HOST:PORT, e.g. https://cas.example.net:8531"
                    )
                }
            } else if table["url"] == nil {
                reader.fail("url", "missing")
            }
            var metrics: String?
            if let listen = reader.string("metrics-listen") {
                if Self.parseHostPort(listen) != nil {
                    metrics = listen
                } else {
                    reader.fail("metrics-listen", "'\(listen)' is not HOST:PORT, e.g. 127.0.0.1:9464")
                }
            }
            reader.finish()
            issues += reader.issues
            if let code, let endpoint, reader.issues.isEmpty {
                sites.append(
                    SiteConfig(
                        code: code, name: name ?? code.rawValue, parent: parent, url: endpoint.url,
                        host: endpoint.host, port: endpoint.port, metricsListen: metrics
                    )
                )
            }
        }
        if tables.isEmpty {
            fail("site", "missing: list at least one [[site]]")
        }
        return sites
    }

    /// Checks parents, cycles and that exactly one site is at the top.
    mutating func checkTree(_ sites: [SiteConfig]) {
        guard !sites.isEmpty else { return }
        let byCode = Dictionary(sites.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
        let index = Dictionary(
            sites.enumerated().map { ($0.element.code, $0.offset + 1) }, uniquingKeysWith: { a, _ in a })
        for site in sites {
            guard let parent = site.parent else { continue }
            if parent == site.code {
                fail("site[\(index[site.code]!)].parent", "site \(site.code) cannot be its own parent")
            } else if byCode[parent] == nil {
                fail("site[\(index[site.code]!)].parent", "unknown parent site \(parent)")
            }
        }
        let tops = sites.filter { $0.parent == nil }
        if tops.isEmpty {
            fail("site", "no top-level site: exactly one [[site]] must have no parent")
        } else if tops.count > 1 {
            fail(
                "site",
                "\(tops.count) top-level sites (\(tops.map(\.code.rawValue).joined(separator: ", "))): exactly one [[site]] may have no parent"
            )
        }
        var reported: Set<SiteCode> = []
        for site in sites where !reported.contains(site.code) {
            var seen: [SiteCode] = [site.code]
            var current = site
            while let parent = current.parent, let next = byCode[parent], parent != current.code {
                if let start = seen.firstIndex(of: parent) {
                    let cycle = seen[start...] + [parent]
                    if !cycle.contains(where: reported.contains) {
                        fail(
                            "site[\(index[parent]!)].parent",
                            "cycle: \(cycle.map(\.rawValue).joined(separator: " → "))"
                        )
                    }
                    reported.formUnion(cycle)
                    break
                }
                seen.append(parent)
                current = next
            }
        }
    }

    /// `http://HOST:PORT` with nothing after the port but an optional `/`.
    static func parseSiteURL(_ text: String) -> (host: String, port: Int)? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty, components.user == nil,
            components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil
        else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65_535).contains(port) else { return nil }
        return (host, port)
    }

    /// `HOST:PORT`.
    package static func parseHostPort(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let host = String(text[..<colon])
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else {
            return nil
        }
        return (host, port)
    }
}
