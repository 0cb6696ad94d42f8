import AsyncHTTPClient
import Foundation
import GRDB
import Logging
import Testing

@testable import SumsyncFormats
@testable import SumsyncModel
@testable import SumsyncStore
@testable import SumsyncSync

/// A signing key, its public half on disk, and a disconnected site database to import into.
final class BundleHarness: @unchecked Sendable {
    let folder: URL
    let key = BundleSigningKey.generate()
    let target: SiteStore
    var config: HierarchyConfig

    init(products: [String] = []) throws {
        folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "sumsync-bundle-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try key.write(to: folder.appendingPathComponent("export").path)
        let state = folder.appendingPathComponent("target")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        target = try SiteStore(stateDirectory: state.path)
        var sync = SyncSettings()
        sync.products = products
        var upstream = UpstreamSettings()
        upstream.disconnected = true
        upstream.trustedKeys = [folder.appendingPathComponent("export.pub").path]
        config = HierarchyConfig(
            file: "/dev/null", hierarchy: HierarchySettings(), sync: sync, upstream: upstream, alerts: AlertSettings(),
            sites: [
                SiteConfig(code: "DIS", name: "DIS", parent: nil, url: "http://127.0.0.1:1", host: "127.0.0.1", port: 1)
            ]
        )
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// A bundle of `source` written to `name`.
    @discardableResult
    func export(_ source: SyncHarness, since: Int? = nil, to name: String = "site.bundle") throws -> BundleManifest {
        try BundleExporter.exportSite(
            store: source.store, site: "CAS", since: since, filter: UpdateFilter(source.config.sync), key: key,
            output: path(name)
        )
    }

    /// Imports `name` into the target site, as the daemon does.
    func importBundle(_ name: String = "site.bundle", force: Bool = false) async -> SyncEngine.Outcome {
        let importer = BundleImporter(
            store: target, site: "DIS", stateDirectory: folder.appendingPathComponent("target").path,
            httpClient: .shared
        )
        return await importer.run(
            id: UUID().uuidString, request: .init(path: path(name), force: force), config: config,
            progress: SyncProgress(),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    /// What `sumsyncctl updates --json --include-expired` would print for `store`.
    static func listing(_ store: SiteStore) throws -> [UpdateListing] {
        var all: [UpdateListing] = []
        try store.forEachUpdate(includeExpired: true) { all.append($0) }
        return all
    }

    /// The header of `name`, verified against the harness's key for a site at `version`.
    func verify(_ name: String = "site.bundle", version: Int = 0, keys: [BundlePublicKey]? = nil, force: Bool = false)
        throws -> BundleVerifier.Accepted
    {
        let fd = open(path(name), O_RDONLY)
        defer { close(fd) }
        let header = try BundleHeader.read(from: fd, path: path(name))
        let verifier = BundleVerifier(
            trustedKeys: keys ?? [key.publicKey], filter: UpdateFilter(config.sync), force: force)
        return try verifier.verify(header, currentVersion: version)
    }

    /// Size and digest of the payload of `name`, as the importer computes them.
    func payload(_ name: String = "site.bundle") throws -> (size: Int, sha256: String) {
        let fd = open(path(name), O_RDONLY)
        defer { close(fd) }
        let header = try BundleHeader.read(from: fd, path: path(name))
        return try BundlePayload.copy(from: fd, offset: header.payloadOffset, to: path("payload.copy"))
    }

    func bytes(_ name: String = "site.bundle") throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }
    func write(_ data: Data, _ name: String) throws { try data.write(to: URL(fileURLWithPath: path(name))) }
}

func expectBundleError(
    _ code: BundleError.Code, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        try body()
        Issue.record("expected a \(code) error", sourceLocation: sourceLocation)
    } catch let error as BundleError {
        #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a BundleError, got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("bundles: write, read, import")
struct BundleRoundTripTests {
    @Test func fullThenDeltaMirrorTheSourceSite() async throws {
        let source = try SyncHarness()
        let bundles = try BundleHarness()
        try await source.sync((1...40).map { line($0, supersedes: $0 == 2 ? [1] : []) })
        let full = try bundles.export(source)
        #expect(full.kind == .site && full.full && full.from == 0 && full.to == 1 && full.records == 40)
        #expect(try bundles.verify().manifest == full)
        var outcome = await bundles.importBundle()
        #expect(outcome.result == .succeeded, "\(outcome.error ?? "")")
        #expect(outcome.counts.new == 40 && outcome.catalogVersion == 1)
        #expect(try BundleHarness.listing(bundles.target) == BundleHarness.listing(source.store))

        // Delta: one revised, one removed, one new; the target follows the source's version.
        try await source.sync((2...41).map { line($0, revision: $0 == 5 ? 2 : 1, supersedes: $0 == 2 ? [1] : []) })
        let delta = try bundles.export(source, since: 1, to: "delta.bundle")
        #expect(!delta.full && delta.from == 1 && delta.to == 2 && delta.records == 2 && delta.removals == 1)
        outcome = await bundles.importBundle("delta.bundle")
        #expect(outcome.result == .succeeded, "\(outcome.error ?? "")")
        #expect(outcome.counts.new == 1 && outcome.counts.revised == 1 && outcome.counts.removed == 1)
        #expect(outcome.catalogVersion == 2)
        #expect(try bundles.target.catalogVersion() == 2)
        #expect(try BundleHarness.listing(bundles.target) == BundleHarness.listing(source.store))
        let history = try bundles.target.history(limit: 5)
        #expect(history.map(\.trigger) == ["import", "import"] && history.allSatisfy { $0.result == "succeeded" })
    }

    @Test func catalogBundleImportsLikeACatalogSync() async throws {
        let bundles = try BundleHarness(products: ["Edge"])
        let catalog = bundles.path("catalog.ndjson")
        let lines = (1...30).map { line($0, product: $0 % 3 == 0 ? "Edge" : "Windows 11") }
        try (lines.joined(separator: "\n") + "\n").write(toFile: catalog, atomically: true, encoding: .utf8)
        let manifest = try await BundleExporter.exportCatalog(
            url: "file://\(catalog)", site: "CAS", filter: UpdateFilter(products: ["Edge"]), skipInvalid: false,
            key: bundles.key, output: bundles.path("catalog.bundle")
        )
        #expect(manifest.kind == .catalog && manifest.full && manifest.records == 10)
        let outcome = await bundles.importBundle("catalog.bundle")
        #expect(outcome.result == .succeeded, "\(outcome.error ?? "")")
        #expect(outcome.counts.new == 10 && outcome.catalogVersion == 1)

        let direct = try SyncHarness(products: ["Edge"])
        try await direct.sync(lines)
        #expect(try BundleHarness.listing(bundles.target) == BundleHarness.listing(direct.store))
    }

    @Test func keyFiles() throws {
        let bundles = try BundleHarness()
        let mode = try FileManager.default.attributesOfItem(atPath: bundles.path("export"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let loaded = try BundleSigningKey(contentsOf: bundles.path("export"))
        let trusted = try BundlePublicKey(contentsOf: bundles.path("export.pub"))
        #expect(loaded.keyID == bundles.key.keyID && trusted.keyID == bundles.key.keyID && trusted.keyID.count == 16)
        expectBundleError(.invalidKey) { _ = try BundlePublicKey(contentsOf: bundles.path("export")) }
        expectBundleError(.invalidKey) { _ = try BundleSigningKey(contentsOf: bundles.path("export.pub")) }
        expectBundleError(.invalidKey) { _ = try BundlePublicKey(contentsOf: bundles.path("missing.pub")) }
        expectBundleError(.cannotWrite) { try BundleSigningKey.generate().write(to: bundles.path("export")) }
    }

    @Test func exportRefusesWhatItCannotGive() async throws {
        let source = try SyncHarness()
        let bundles = try BundleHarness()
        try await source.sync([line(1)])
        expectBundleError(.cannotExport) { try bundles.export(source, since: 5) }
        var other = source.config.sync
        other.products = ["Edge"]
        expectBundleError(.cannotExport) {
            _ = try BundleExporter.exportSite(
                store: source.store, site: "CAS", since: nil, filter: UpdateFilter(other), key: bundles.key,
                output: bundles.path("x.bundle")
            )
        }
        #expect(!FileManager.default.fileExists(atPath: bundles.path("x.bundle")))
    }
}

@Suite("bundles: every refusal")
struct BundleRefusalTests {
    /// A harness with a full bundle (`site.bundle`, to version 1) and a delta (`delta.bundle`, 1 → 2).
    static func prepared() async throws -> BundleHarness {
        let source = try SyncHarness()
        let bundles = try BundleHarness()
        try await source.sync((1...20).map { line($0) })
        try bundles.export(source)
        try await source.sync((1...21).map { line($0) })
        try bundles.export(source, since: 1, to: "delta.bundle")
        return bundles
    }

    @Test func badSignature() async throws {
        let bundles = try await Self.prepared()
        var text = try bundles.bytes()
        let range = text.range(of: Data("\"to\":1".utf8))!
        text.replaceSubrange(range, with: Data("\"to\":7".utf8))
        try bundles.write(text, "altered.bundle")
        expectBundleError(.badSignature) { _ = try bundles.verify("altered.bundle") }
    }

    @Test func untrustedKey() async throws {
        let bundles = try await Self.prepared()
        expectBundleError(.untrustedKey) { _ = try bundles.verify(keys: [BundleSigningKey.generate().publicKey]) }
        expectBundleError(.untrustedKey) { _ = try bundles.verify(keys: []) }
        // Any one trusted key that verifies is enough.
        #expect(throws: Never.self) {
            _ = try bundles.verify(keys: [BundleSigningKey.generate().publicKey, bundles.key.publicKey])
        }
    }

    @Test func tamperedPayload() async throws {
        let bundles = try await Self.prepared()
        var data = try bundles.bytes()
        data[data.count - 20] ^= 0x01
        try bundles.write(data, "tampered.bundle")
        let accepted = try bundles.verify("tampered.bundle")
        let payload = try bundles.payload("tampered.bundle")
        expectBundleError(.tamperedPayload) {
            try BundleVerifier(trustedKeys: [], filter: UpdateFilter()).verifyPayload(
                size: payload.size, sha256: payload.sha256, manifest: accepted.manifest
            )
        }
        data = try bundles.bytes()
        data.append(0x0A)
        try bundles.write(data, "longer.bundle")
        let longer = try bundles.payload("longer.bundle")
        expectBundleError(.tamperedPayload) {
            try BundleVerifier(trustedKeys: [], filter: UpdateFilter()).verifyPayload(
                size: longer.size, sha256: longer.sha256, manifest: accepted.manifest
            )
        }
    }

    @Test func truncatedFile() async throws {
        let bundles = try await Self.prepared()
        let data = try bundles.bytes()
        try bundles.write(data.prefix(data.count - 10), "short.bundle")
        let accepted = try bundles.verify("short.bundle")
        let payload = try bundles.payload("short.bundle")
        expectBundleError(.truncated) {
            try BundleVerifier(trustedKeys: [], filter: UpdateFilter()).verifyPayload(
                size: payload.size, sha256: payload.sha256, manifest: accepted.manifest
            )
        }
        for length in [0, 8, 17, 100] {
            try bundles.write(data.prefix(length), "header.bundle")
            expectBundleError(.truncated) { _ = try bundles.verify("header.bundle") }
        }
    }

    @Test func versionGap() async throws {
        let bundles = try await Self.prepared()
        expectBundleError(.versionGap) { _ = try bundles.verify("delta.bundle", version: 0) }
        expectBundleError(.versionGap) { _ = try bundles.verify("delta.bundle", version: 2) }
        #expect(try bundles.verify("delta.bundle", version: 1).manifest.to == 2)
        // A full bundle fits any version.
        #expect(try bundles.verify(version: 9).manifest.full)
    }

    @Test func unknownFormatAndNotABundle() async throws {
        let bundles = try await Self.prepared()
        var data = try bundles.bytes()
        data.replaceSubrange(0..<16, with: Data("sumsync-bundle 2".utf8))
        try bundles.write(data, "v2.bundle")
        expectBundleError(.unknownFormat) { _ = try bundles.verify("v2.bundle") }
        try bundles.write(Data("{\"id\":\"x\"}\n".utf8), "catalog.ndjson")
        expectBundleError(.notABundle) { _ = try bundles.verify("catalog.ndjson") }
    }

    @Test func differentFilterUnlessForced() async throws {
        let bundles = try await Self.prepared()
        bundles.config.sync.products = ["Edge"]
        expectBundleError(.filterMismatch) { _ = try bundles.verify() }
        #expect(try bundles.verify(force: true).forcedFilter)
    }

    @Test func refusedImportChangesNothing() async throws {
        let bundles = try await Self.prepared()
        #expect(await bundles.importBundle().result == .succeeded)
        let before = try BundleHarness.listing(bundles.target)
        var data = try bundles.bytes("delta.bundle")
        data[data.count - 20] ^= 0x01
        try bundles.write(data, "tampered.bundle")
        let outcome = await bundles.importBundle("tampered.bundle")
        #expect(outcome.result == .failed)
        #expect(outcome.error?.contains("tampered payload") == true, "\(outcome.error ?? "")")
        #expect(try BundleHarness.listing(bundles.target) == before)
        #expect(try bundles.target.catalogVersion() == 1)
        #expect(try bundles.target.history(limit: 1).first?.result == "failed")
        // The untouched delta still applies afterwards.
        #expect(await bundles.importBundle("delta.bundle").catalogVersion == 2)
    }
}
