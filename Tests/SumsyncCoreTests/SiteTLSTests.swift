import Foundation
import Testing
import X509

@testable import SumsyncModel
@testable import SumsyncTLS

/// The checks a site makes of its own certificate at start and on reload, each failure with its fix;
/// certificates made by `HierarchyPKI` (checked against openssl in the integration tests) and by openssl.
@Suite("site certificates")
struct SiteTLSTests {
    let folder: URL
    let ca: HierarchyPKI.Issued

    init() throws {
        folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("sumsync-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        ca = try HierarchyPKI.makeAuthority(name: "test", days: 30)
        try write(ca.certificatePEM, "ca.crt")
    }

    func write(_ text: String, _ name: String, mode: mode_t = 0o600) throws {
        let path = folder.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, mode)
    }

    func issue(_ code: SiteCode, hosts: [String] = ["127.0.0.1"], from start: Date = Date(), days: Int = 30) throws {
        let issued = try HierarchyPKI.issue(
            code: code, hosts: hosts, authorityPEM: ca.certificatePEM, authorityKeyPEM: ca.keyPEM, days: days,
            now: start)
        try write(issued.certificatePEM, "\(code).crt")
        try write(issued.keyPEM, "\(code).key")
    }

    func settings() -> HierarchySettings {
        var settings = HierarchySettings()
        settings.caFile = folder.appendingPathComponent("ca.crt").path
        settings.tlsDirectory = folder.path
        settings.requireTLS = true
        return settings
    }

    let site = SiteConfig(
        code: "PR1", name: "PR1", parent: "CAS", url: "https://127.0.0.1:8532", host: "127.0.0.1", port: 8532)

    func loadError() async -> String {
        do {
            _ = try await SiteTLS.load(settings: settings(), site: site)
            return "accepted"
        } catch {
            return error.description
        }
    }

    @Test("a certificate from pki issue loads: expiry, server and client configurations")
    func good() async throws {
        try issue("PR1", hosts: ["pr1.example.net", "127.0.0.1"])
        let tls = try #require(try await SiteTLS.load(settings: settings(), site: site))
        #expect(tls.expires.map { abs($0.timeIntervalSinceNow - 30 * 86_400) < 600 } == true)
        #expect(tls.serverConfiguration() != nil)
        #expect(tls.clientConfiguration().certificateChain.count == 1)
        let certificate = try Certificate(
            pemEncoded: try String(contentsOf: folder.appendingPathComponent("PR1.crt"), encoding: .utf8))
        #expect(SiteIdentity.siteCodes(of: certificate) == ["PR1"])
        #expect(SiteIdentity.names(certificate, host: "PR1.example.net"))
        #expect(!SiteIdentity.names(certificate, host: "127.0.0.2"))
    }

    @Test(
        "refused with the fix: readable key, wrong site, wrong host, expired, not yet valid, foreign CA, mismatched key"
    )
    func refusals() async throws {
        try issue("PR1")
        chmod(folder.appendingPathComponent("PR1.key").path, 0o644)
        #expect(await loadError().contains("readable by others (mode 644); run `chmod 600"))

        try issue("PR2")
        try FileManager.default.removeItem(at: folder.appendingPathComponent("PR1.crt"))
        try FileManager.default.copyItem(
            at: folder.appendingPathComponent("PR2.crt"), to: folder.appendingPathComponent("PR1.crt"))
        try FileManager.default.removeItem(at: folder.appendingPathComponent("PR1.key"))
        try FileManager.default.copyItem(
            at: folder.appendingPathComponent("PR2.key"), to: folder.appendingPathComponent("PR1.key"))
        #expect(await loadError().contains("is the certificate of site PR2, not of PR1"))

        try issue("PR1", hosts: ["127.0.0.2"])
        #expect(await loadError().contains("does not name 127.0.0.1"))

        try issue("PR1", from: Date().addingTimeInterval(-10 * 86_400), days: 2)
        #expect(await loadError().contains("expired on"))

        try issue("PR1", from: Date().addingTimeInterval(5 * 86_400), days: 2)
        #expect(await loadError().contains("is not valid before"))

        let other = try HierarchyPKI.makeAuthority(name: "other", days: 30)
        let foreign = try HierarchyPKI.issue(
            code: "PR1", hosts: ["127.0.0.1"], authorityPEM: other.certificatePEM, authorityKeyPEM: other.keyPEM,
            days: 5)
        try write(foreign.certificatePEM, "PR1.crt")
        try write(foreign.keyPEM, "PR1.key")
        #expect(await loadError().contains("does not chain to the hierarchy CA"))

        try issue("PR1")
        try write(try HierarchyPKI.makeAuthority(name: "x", days: 1).keyPEM, "PR1.key")
        #expect(await loadError().contains("is not the key of"))

        try FileManager.default.removeItem(at: folder.appendingPathComponent("PR1.crt"))
        #expect(await loadError().contains("no such file"))

        try issue("PR1")
        try write("not a CA bundle\n", "ca.crt")
        let garbage = await loadError()
        #expect(
            garbage.contains("holds no PEM certificate") || garbage.contains("is not a PEM CA bundle"), "\(garbage)")
        try write("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "ca.crt")
        #expect(await loadError().contains("is not a PEM CA bundle"))
    }

    @Test("a site on http without a certificate loads the CA only; on https it must have one")
    func withoutCertificate() async throws {
        let plain = SiteConfig(
            code: "PR3", name: "PR3", parent: "CAS", url: "http://127.0.0.1:8533", host: "127.0.0.1", port: 8533)
        let tls = try #require(try await SiteTLS.load(settings: settings(), site: plain))
        #expect(tls.key == nil && tls.serverConfiguration() == nil)
        let secure = SiteConfig(
            code: "PR3", name: "PR3", parent: "CAS", url: "https://127.0.0.1:8533", host: "127.0.0.1", port: 8533)
        await #expect(throws: TLSSetupError.self) { try await SiteTLS.load(settings: settings(), site: secure) }
    }
}
