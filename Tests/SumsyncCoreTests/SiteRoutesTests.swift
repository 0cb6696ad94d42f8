import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import SystemdKit
import Testing

@testable import SumsyncDaemon
@testable import SumsyncModel
@testable import SumsyncSync

/// The site-to-site routes in process (HummingbirdTesting's router framework, no sockets): the same
/// application the daemon serves, built from a real config and site database.
@Suite("site-to-site routes in process")
struct SiteRoutesTests {
    static let key = Data("0123456789abcdef0123456789abcdef".utf8)

    /// A CAS → PR1 hierarchy; the daemon of `site`, not running, with its state in a scratch folder.
    static func daemon(_ site: String) throws -> (SiteDaemon, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sumsync-routes-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Self.key.write(to: folder.appendingPathComponent("hierarchy.key"))
        let config = folder.appendingPathComponent("hierarchy.toml").path
        try """
        [hierarchy]
        key-file = "hierarchy.key"
        [upstream]
        catalog = "file:///dev/null"
        [[site]]
        code = "CAS"
        url = "http://127.0.0.1:1"
        [[site]]
        code = "PR1"
        parent = "CAS"
        url = "http://127.0.0.1:2"
        [[site]]
        code = "PR2"
        parent = "CAS"
        url = "http://127.0.0.1:3"
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let options = DaemonOptions(
            configPath: config, site: site, stateDirectory: folder.appendingPathComponent("state").path,
            runtimeDirectory: folder.appendingPathComponent("run").path)
        let daemon = try SiteDaemon(
            options: options, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            notifier: Notifier(environment: [:]))
        return (daemon, folder)
    }

    /// Runs `test` against the site application of `site`'s daemon, then shuts the daemon's HTTP client
    /// down (the daemon's run loop would) and removes its folder.
    static func withRoutes(
        of site: String, _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let (daemon, folder) = try Self.daemon(site)
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            try await daemon.makeSiteApplication(tls: nil, onRunning: {}).test(.router, test)
        } catch {
            try await daemon.httpClient.shutdown()
            throw error
        }
        try await daemon.httpClient.shutdown()
    }

    /// Headers signed by `site` for a request to `path`.
    static func signed(
        _ method: String, _ path: String, query: String = "", by site: SiteCode, to receiver: SiteCode,
        body: Data = Data()
    )
        -> HTTPFields
    {
        var fields = HTTPFields()
        for (name, value) in RequestSigner(key: key).headers(
            method: method, path: path, query: query, site: site, receiver: receiver, body: body)
        {
            fields[HTTPField.Name(name)!] = value
        }
        return fields
    }

    @Test("GET /v1/health answers unsigned with the site and its catalog version")
    func health() async throws {
        try await Self.withRoutes(of: "CAS") { client in
            try await client.execute(uri: "/v1/health", method: .get) { response in
                #expect(response.status == .ok)
                let body = try JSONDecoder().decode([String: String].self, from: Data(buffer: response.body))
                #expect(body == ["site": "CAS", "status": "ok", "catalog_version": "0"])
            }
        }
    }

    @Test("the signed routes refuse an unsigned request with 401 and nothing else")
    func unsignedIsRefused() async throws {
        try await Self.withRoutes(of: "CAS") { client in
            for (uri, method) in [
                ("/v1/changes?since=0", HTTPRequest.Method.get), ("/v1/status", .get), ("/v1/status", .post),
                ("/v1/sync-requests", .post),
            ] {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .unauthorized, "\(method) \(uri)")
                }
            }
        }
    }

    @Test("a child's signed GET /v1/status answers the subtree; a sibling may not report status (403)")
    func signedStatus() async throws {
        try await Self.withRoutes(of: "CAS") { client in
            try await client.execute(
                uri: "/v1/status", method: .get, headers: Self.signed("GET", "/v1/status", by: "PR1", to: "CAS")
            ) { response in
                #expect(response.status == .ok)
                let report = try JSONDecoder().decode(StatusReport.self, from: Data(buffer: response.body))
                #expect(report.sites.map(\.site) == ["CAS", "PR1", "PR2"])
            }
        }
        // PR1 is not PR2's parent: PR2's own daemon refuses PR1's report.
        let body = try JSONEncoder().encode(StatusReport(sites: []))
        try await Self.withRoutes(of: "PR2") { client in
            try await client.execute(
                uri: "/v1/status", method: .post,
                headers: Self.signed("POST", "/v1/status", by: "PR1", to: "PR2", body: body),
                body: ByteBuffer(data: body)
            ) { response in
                #expect(response.status == .forbidden)
            }
        }
    }
}
