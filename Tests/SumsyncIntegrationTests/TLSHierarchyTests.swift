import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Testing

/// Sites over https with certificates bound to their codes (issue 14): real daemons on loopback, real
/// TLS, certificates from `sumsyncctl pki` and from openssl, answers checked with openssl.
@Suite("site-to-site TLS", .serialized)
struct TLSHierarchyTests {
    static func statusJSON(_ tree: HierarchyFixture, _ code: String) throws -> [String: Any] {
        let result = try tree.ctl(code, ["status", "--json"])
        guard result.status == 0,
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        else { throw TestFailure("status at \(code): \(result.stderr)") }
        return object
    }

    @Test("a 1 + 2 + 2 tree over https converges and mirrors; plain http to an https site is refused and logged")
    func treeOverHTTPS() async throws {
        let tree = try HierarchyFixture(
            label: "tls-tree", codes: [("CAS", nil), ("PR1", "CAS"), ("PR2", "CAS"), ("SE1", "PR1"), ("SE2", "PR2")],
            tls: true)
        try tree.writeCatalog((1...300).map { catalogLine($0) })
        try await tree.startAll()
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await tree.waitForConvergence(version: 1)
        try tree.writeCatalog((1...300).map { catalogLine($0, revision: $0 % 3 == 0 ? 2 : 1) })
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await tree.waitForConvergence(version: 2)
        let reference = try tree.updates("CAS")
        for code in ["PR1", "PR2", "SE1", "SE2"] {
            #expect(try tree.updates(code) == reference, "\(code) does not mirror CAS")
        }
        // Status flows up over TLS, each site with its certificate's expiry; no link is plain http.
        try await waitUntil("five sites in CAS's status") {
            ((try Self.statusJSON(tree, "CAS"))["sites"] as? [[String: Any]])?.count == 5
        }
        let status = try Self.statusJSON(tree, "CAS")
        let sites = try #require(status["sites"] as? [[String: Any]])
        #expect(sites.allSatisfy { ($0["cert_expires"] as? String)?.hasPrefix("20") == true }, "\(sites)")
        #expect((status["insecure_links"] as? [Any])?.isEmpty == true)
        // The certificate CAS serves is the one pki issued, as openssl sees it.
        #expect(
            try TestPKI.servedFingerprint(port: tree.hierarchy.port("CAS"))
                == TestPKI.fingerprint(of: tree.tlsFolder.appendingPathComponent("CAS.crt")))

        var plain = HTTPClientRequest(url: "http://127.0.0.1:\(tree.hierarchy.port("CAS"))/v1/health")
        plain.method = .GET
        await #expect(throws: (any Error).self) { _ = try await HTTPClient.shared.execute(plain, timeout: .seconds(5)) }
        try await waitUntil("CAS logs the plain-http connection") {
            tree.daemons["CAS"]!.log.contains("plain http sent to an https site")
        }
        // Health answers over https without a client certificate.
        let probe = SignedClient(
            tls: try TestPKI.client(ca: tree.pki.appendingPathComponent("ca.crt"), certificateOf: nil))
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(tree.hierarchy.port("CAS"))/v1/health")
        request.tlsConfiguration = probe.tls
        let answer = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        #expect(answer.status == .ok)
    }

    @Test("PR2's certificate claiming PR1 gets 403; foreign, expired and missing client certificates are refused")
    func clientCertificates() async throws {
        let tree = try HierarchyFixture(
            label: "tls-clients", codes: [("CAS", nil), ("PR1", "CAS"), ("PR2", "CAS")], tls: true)
        try tree.writeCatalog((1...5).map { catalogLine($0) })
        let cas = try await tree.start("CAS")
        let port = tree.hierarchy.port("CAS")
        let caFile = tree.pki.appendingPathComponent("ca.crt")
        let forged = Data(
            #"{"sites":[{"site":"PR1","parent":"CAS","url":"x","state":"failed","catalog_version":123456,"updates":0,"last_error":"FORGED","link":"healthy","lag":0,"stale":false}]}"#
                .utf8)
        // PR2's real certificate, a valid signature, but the request claims to come from PR1.
        let impostor = SignedClient(
            site: "PR1", receiver: "CAS", tls: try TestPKI.client(ca: caFile, certificateOf: "PR2", in: tree.tlsFolder))
        var answer = try await impostor.send(
            port: port, path: "/v1/status", body: forged, headers: impostor.headers(path: "/v1/status", body: forged))
        #expect(answer.status == 403 && answer.body.contains("certificate is that of site PR2"), "\(answer.body)")
        #expect(cas.log.contains("its TLS certificate is that of site PR2"))
        // With require-tls, a signed request without a client certificate is refused too.
        let anonymous = SignedClient(
            site: "PR1", receiver: "CAS", tls: try TestPKI.client(ca: caFile, certificateOf: nil))
        answer = try await anonymous.send(
            port: port, path: "/v1/status", body: forged, headers: anonymous.headers(path: "/v1/status", body: forged))
        #expect(answer.status == 403 && answer.body.contains("no client certificate"), "\(answer.body)")
        // Signed for PR2, sent to CAS: refused.
        let misdirected = SignedClient(
            site: "PR1", receiver: "PR2", tls: try TestPKI.client(ca: caFile, certificateOf: "PR1", in: tree.tlsFolder))
        answer = try await misdirected.send(
            port: port, path: "/v1/status", body: forged, headers: misdirected.headers(path: "/v1/status", body: forged)
        )
        #expect(answer.status == 401 && answer.body.contains("signed for another site than CAS"), "\(answer.body)")
        // A certificate from another CA, and an expired one from the right CA, never get past the handshake.
        let foreignFolder = tree.folder.appendingPathComponent("foreign")
        try TestPKI.foreign("PR1", into: foreignFolder)
        let expiredFolder = tree.folder.appendingPathComponent("expired")
        try TestPKI.issue(
            "PR1", ca: tree.pki, into: expiredFolder, validFrom: Date().addingTimeInterval(-10 * 86_400), days: 2)
        for folder in [foreignFolder, expiredFolder] {
            let client = SignedClient(
                site: "PR1", receiver: "CAS", tls: try TestPKI.client(ca: caFile, certificateOf: "PR1", in: folder))
            await #expect(throws: (any Error).self) {
                _ = try await client.send(
                    port: port, path: "/v1/status", body: forged,
                    headers: client.headers(path: "/v1/status", body: forged))
            }
        }
        try await waitUntil("two refused handshakes in CAS's log") {
            cas.log.components(separatedBy: "Refused a TLS connection").count - 1 >= 2
        }
        #expect(cas.log.contains("does not chain to the hierarchy CA, or is expired"), "\(cas.log)")
        let sites = try #require(try Self.statusJSON(tree, "CAS")["sites"] as? [[String: Any]])
        #expect(!sites.contains { $0["last_error"] as? String == "FORGED" }, "a refused report changed nothing")
    }

    @Test(
        "a child refuses a parent with another CA's certificate (a man in the middle) or another host's; nothing applied, link error"
    )
    func childRefusesParent() async throws {
        let tree = try HierarchyFixture(label: "tls-mitm", codes: [("CAS", nil), ("PR1", "CAS")], tls: true)
        let foreign = tree.folder.appendingPathComponent("mitm")
        try TestPKI.foreign("CAS", into: foreign)
        let wrongHost = tree.folder.appendingPathComponent("wrong-host")
        try TestPKI.issue("CAS", host: "127.0.0.2", ca: tree.pki, into: wrongHost)
        for (folder, expected) in [(foreign, "certificate"), (wrongHost, "certificate")] {
            // openssl's own TLS server on CAS's address, answering anything with a page of its own.
            let server = Process()
            server.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            server.arguments = [
                "s_server", "-quiet", "-www", "-accept", "127.0.0.1:\(tree.hierarchy.port("CAS"))", "-cert",
                folder.appendingPathComponent("CAS.crt").path, "-key", folder.appendingPathComponent("CAS.key").path,
            ]
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle.nullDevice
            try server.run()
            defer {
                // s_server does not stop on SIGTERM.
                kill(server.processIdentifier, SIGKILL)
                server.waitUntilExit()
            }
            try await waitUntil("openssl s_server listening") {
                TestEnvironment.isListening(port: tree.hierarchy.port("CAS"))
            }
            let child = try await tree.start("PR1")
            try await waitUntil("PR1's failed catch-up") {
                try tree.history("PR1").contains { $0["result"] as? String == "failed" }
            }
            let failed = try #require(try tree.history("PR1").first { $0["result"] as? String == "failed" })
            let error = failed["error"] as? String ?? ""
            #expect(error.lowercased().contains(expected), "\(error)")
            #expect(try tree.version("PR1") == 0)
            let own = try #require((try Self.statusJSON(tree, "PR1")["sites"] as? [[String: Any]])?.first)
            #expect(own["state"] as? String == "failed")
            child.stop()
            _ = try await child.waitForExit()
        }
    }

    @Test("the site's own certificate is checked at start: expired, wrong host, another site's, readable key")
    func startChecks() async throws {
        let tree = try HierarchyFixture(label: "tls-start", codes: [("CAS", nil)], tls: true)
        try tree.writeCatalog([catalogLine(1)])
        let credentials = tree.folder.appendingPathComponent("creds")
        func attempt(_ make: () throws -> Void, _ expected: String) async throws {
            try? FileManager.default.removeItem(at: credentials)
            try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
            try make()
            for name in ["crt", "key"] {
                try? FileManager.default.moveItem(
                    at: credentials.appendingPathComponent("CAS.\(name)"),
                    to: credentials.appendingPathComponent("site.\(name)"))
            }
            let daemon = try await tree.start(
                "CAS", wait: false, environment: ["CREDENTIALS_DIRECTORY": credentials.path])
            #expect(try await daemon.waitForExit() == 78, "\(expected)")
            #expect(daemon.log.contains(expected), "\(daemon.log)")
        }
        try await attempt(
            {
                try TestPKI.issue(
                    "CAS", ca: tree.pki, into: credentials, validFrom: Date().addingTimeInterval(-9 * 86_400), days: 1)
            },
            "expired on")
        try await attempt(
            { try TestPKI.issue("CAS", host: "127.0.0.2", ca: tree.pki, into: credentials) }, "does not name 127.0.0.1")
        try await attempt(
            {
                try TestPKI.issue("PR9", ca: tree.pki, into: credentials)
                try FileManager.default.moveItem(
                    at: credentials.appendingPathComponent("PR9.crt"), to: credentials.appendingPathComponent("CAS.crt")
                )
                try FileManager.default.moveItem(
                    at: credentials.appendingPathComponent("PR9.key"), to: credentials.appendingPathComponent("CAS.key")
                )
            }, "is the certificate of site PR9, not of CAS")
        try await attempt(
            {
                try TestPKI.issue("CAS", ca: tree.pki, into: credentials)
                chmod(credentials.appendingPathComponent("CAS.key").path, 0o644)
            }, "readable by others")
        // From the credentials, a good certificate starts (they win over tls-dir).
        try? FileManager.default.removeItem(at: credentials)
        try TestPKI.issue("CAS", ca: tree.pki, into: credentials)
        for name in ["crt", "key"] {
            try FileManager.default.moveItem(
                at: credentials.appendingPathComponent("CAS.\(name)"),
                to: credentials.appendingPathComponent("site.\(name)"))
        }
        let daemon = try await tree.start("CAS", environment: ["CREDENTIALS_DIRECTORY": credentials.path])
        #expect(
            try TestPKI.servedFingerprint(port: tree.hierarchy.port("CAS"))
                == TestPKI.fingerprint(of: credentials.appendingPathComponent("site.crt")))
        daemon.stop()
    }

    @Test("require-tls refuses an http site; require-tls = false runs, warns and lists the plain links")
    func requireTLS() async throws {
        let tree = try HierarchyFixture(label: "tls-mixed", codes: [("CAS", nil), ("PR1", "CAS")], tls: true)
        tree.hierarchy.sites[1].plainHTTP = true
        try tree.hierarchy.write()
        let check = try CLI.run(["check-config", tree.hierarchy.configPath])
        #expect(check.status != 0 && check.stderr.contains("but [hierarchy] require-tls is true"), "\(check.stderr)")
        let refused = try await tree.start("PR1", wait: false)
        #expect(try await refused.waitForExit() == 78)

        tree.hierarchy.hierarchyExtra = "require-tls = false"
        try tree.hierarchy.write()
        try tree.writeCatalog((1...10).map { catalogLine($0) })
        try await tree.startAll()
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await tree.waitForConvergence(version: 1)
        #expect(tree.daemons["CAS"]!.log.contains("Link CAS → PR1 is plain http"))
        let links = try #require(try Self.statusJSON(tree, "CAS")["insecure_links"] as? [[String: Any]])
        #expect(links.count == 1 && links[0]["child"] as? String == "PR1", "\(links)")
        #expect((links[0]["exposure"] as? String)?.contains("unencrypted") == true)
    }

    @Test("SIGHUP serves a new certificate to new connections while a long sync keeps running to success")
    func rotation() async throws {
        let tree = try HierarchyFixture(label: "tls-rotate", codes: [("CAS", nil)], tls: true)
        try tree.writeCatalog((1...150_000).map { catalogLine($0) })
        let cas = try await tree.start("CAS")
        let port = tree.hierarchy.port("CAS")
        let before = try TestPKI.servedFingerprint(port: port)
        #expect(try tree.ctl("CAS", ["sync"]).status == 0)
        try await waitUntil("the sync running") {
            (try tree.ctl("CAS", ["ping", "--json"])).stdout.contains(#""state":"synchronizing""#)
        }
        try TestPKI.issue("CAS", ca: tree.pki, into: tree.tlsFolder, force: true)
        cas.signal(SIGHUP)
        try await waitUntil("the reload") { cas.log.contains("TLS reloaded") }
        let after = try TestPKI.servedFingerprint(port: port)
        #expect(after != before)
        #expect(after == (try TestPKI.fingerprint(of: tree.tlsFolder.appendingPathComponent("CAS.crt"))))
        #expect(
            (try tree.ctl("CAS", ["ping", "--json"])).stdout.contains(#""state":"synchronizing""#),
            "the sync should still run after the reload (make the catalog bigger)")
        try await waitUntil("the sync to finish", timeout: .seconds(240)) {
            try tree.history("CAS").first?["result"] as? String == "succeeded"
        }
        // A broken certificate on reload is refused; the current one keeps being served.
        try Data("not a certificate".utf8).write(to: tree.tlsFolder.appendingPathComponent("CAS.crt"))
        cas.signal(SIGHUP)
        try await waitUntil("the refused reload") { cas.log.contains("TLS reload refused") }
        #expect(try TestPKI.servedFingerprint(port: port) == after)
    }

    @Test("pki: clear errors for a bad code, no host, a missing or foreign CA; existing files kept without --force")
    func pkiRefusals() throws {
        let folder = TestEnvironment.scratch("pki")
        defer { try? FileManager.default.removeItem(at: folder) }
        let ca = folder.appendingPathComponent("ca")
        let out = folder.appendingPathComponent("out")
        func pki(_ arguments: [String]) throws -> CLI.Result { try CLI.run(["pki"] + arguments) }
        var result = try pki(["issue", "PR1", "--host", "127.0.0.1", "--ca", ca.path, "--output", out.path])
        #expect(result.status != 0 && result.stderr.contains("make them with `sumsyncctl pki init"), "\(result.stderr)")
        #expect(try pki(["init", "--output", ca.path]).status == 0)
        let caBefore = try Data(contentsOf: ca.appendingPathComponent("ca.key"))
        result = try pki(["init", "--output", ca.path])
        #expect(result.status != 0 && result.stderr.contains("exists; not overwriting it"), "\(result.stderr)")
        #expect(try Data(contentsOf: ca.appendingPathComponent("ca.key")) == caBefore)
        result = try pki(["issue", "pr-1", "--host", "127.0.0.1", "--ca", ca.path, "--output", out.path])
        #expect(result.status != 0 && result.stderr.contains("invalid site code"), "\(result.stderr)")
        result = try pki(["issue", "PR1", "--ca", ca.path, "--output", out.path])
        #expect(result.status != 0 && result.stderr.contains("--host"), "\(result.stderr)")
        // A CA key that is not the CA certificate's.
        let other = folder.appendingPathComponent("other")
        #expect(try pki(["init", "--output", other.path]).status == 0)
        try FileManager.default.removeItem(at: ca.appendingPathComponent("ca.key"))
        try FileManager.default.copyItem(
            at: other.appendingPathComponent("ca.key"), to: ca.appendingPathComponent("ca.key"))
        result = try pki(["issue", "PR1", "--host", "127.0.0.1", "--ca", ca.path, "--output", out.path])
        #expect(result.status != 0 && result.stderr.contains("does not match the CA certificate"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("PR1.key").path))
    }
}
