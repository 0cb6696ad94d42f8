import Crypto
import Foundation
import GRDB
import Testing
import _CryptoExtras

@testable import SumsyncFormats
@testable import SumsyncModel
@testable import SumsyncStore
@testable import SumsyncTestSupport

/// The state digest (LtHash16) kept by triggers in O(changes) must equal a from-scratch recomputation after
/// every kind of change, at the top and at a child; signed roots must refuse what they do not vouch for.
@Suite("verified catalogs")
struct CatalogDigestTests {
    // MARK: The hash itself

    @Test func latticeHashIsAMultisetHash() {
        func element(_ text: String) -> [UInt8] { Array(text.utf8) }
        var a = CatalogDigest()
        var b = CatalogDigest()
        let items = (0..<50).map { element("row \($0)") }
        for item in items { item.withUnsafeBytes { a.combine(encoding: $0, sign: 1) } }
        for item in items.reversed() { item.withUnsafeBytes { b.combine(encoding: $0, sign: 1) } }
        #expect(a == b, "order must not matter")
        #expect(!a.isZero && a.text.count == 64)
        // Removing what was added gives the empty digest back; removing one element changes it.
        var c = a
        items[7].withUnsafeBytes { c.combine(encoding: $0, sign: -1) }
        #expect(c != a)
        for (index, item) in items.enumerated() where index != 7 {
            item.withUnsafeBytes { c.combine(encoding: $0, sign: -1) }
        }
        #expect(c.isZero && c.text == CatalogDigest().text)
        // A multiset, not a set: the same element twice is not the element once.
        var once = CatalogDigest()
        var twice = CatalogDigest()
        items[0].withUnsafeBytes { once.combine(encoding: $0, sign: 1) }
        items[0].withUnsafeBytes { twice.combine(encoding: $0, sign: 1) }
        items[0].withUnsafeBytes { twice.combine(encoding: $0, sign: 1) }
        #expect(once != twice)
        // Parts combine: the sum of two halves is the whole.
        var left = CatalogDigest()
        var right = CatalogDigest()
        for (index, item) in items.enumerated() {
            item.withUnsafeBytes {
                index < 25 ? left.combine(encoding: $0, sign: 1) : right.combine(encoding: $0, sign: 1)
            }
        }
        left.combine(right)
        #expect(left == a)
    }

    /// The element function is pinned (docs/security.md): SHA-256 of the domain and encoding keys a
    /// ChaCha20 keystream whose 2,048 bytes are the lanes. Recomputed here from swift-crypto's primitives.
    @Test func elementFollowsTheDocumentedConstruction() throws {
        let encoding = Array("an encoding".utf8)
        var digest = CatalogDigest()
        encoding.withUnsafeBytes { digest.combine(encoding: $0, sign: 1) }
        let seed = SHA256.hash(data: Array("sumsync lthash16 v1\n".utf8) + encoding)
        let keystream = try Insecure.ChaCha20CTR.encrypt(
            Data(count: 2_048), using: SymmetricKey(data: seed),
            nonce: Insecure.ChaCha20CTR.Nonce(data: Data(count: 12)))
        #expect(digest.bytes == Array(keystream))
        let published = SHA256.hash(data: Array("sumsync catalog digest v1\n".utf8) + Array(keystream))
        #expect(digest.text == Hex.string(published))
    }

    // MARK: Kept digest against recomputation

    enum Step: String, CaseIterable, Sendable {
        case new, revised, expired, superseded, removed, filterChange, fullResync, importBundle
    }

    /// After every kind of change, at the top and at a child that mirrors it through change streams, the
    /// digest kept by the triggers equals a from-scratch recomputation, and the child's equals the top's.
    @Test(arguments: [(UInt64(41), 700), (UInt64(42), 1_500), (UInt64(43), 300)])
    func keptDigestEqualsRecomputation(seed: UInt64, count: Int) async throws {
        let top = try SyncHarness(months: 1)
        let folder = top.folder.path
        try FileManager.default.createDirectory(atPath: folder + "/child", withIntermediateDirectories: true)
        let child = try SiteStore(stateDirectory: folder + "/child")
        let generator = CatalogGenerator(seed: seed, count: count)
        try generator.write(to: folder + "/base")
        var current = try lines(folder + "/base")
        try await top.sync(current)
        try await check(top.store, child, folder: folder, "first sync")
        var changeSeed: UInt64 = 1
        for step in Step.allCases {
            switch step {
            case .new, .revised, .removed:
                // writeChanged mixes new, revised, removed, expired and superseded lines.
                try generator.writeChanged(to: folder + "/next", changed: count / 5, changeSeed: changeSeed)
                changeSeed += 1
                current = try lines(folder + "/next")
                try await top.sync(current)
            case .expired:
                current = current.enumerated().map { index, line in
                    index % 7 == 0 && !line.contains(#""expired":true"#)
                        ? String(line.dropLast()) + #","expired":true}"# : line
                }
                let outcome = try await top.sync(current)
                #expect(outcome.counts.expired > 0)
            case .superseded:
                // Superseded updates expire once their successor is older than a month.
                top.now = top.now.addingTimeInterval(400 * 86_400)
                try await top.sync(current)
            case .filterChange:
                let products = try await top.store.pool.read { db in
                    try String.fetchAll(db, sql: "SELECT DISTINCT product FROM updates ORDER BY product")
                }
                top.config.sync.products = Array(products.prefix(max(1, products.count / 2)))
                try await top.sync(current)
                #expect(try top.store.updateCount() > 0)
            case .fullResync:
                top.config.sync.products = []
                top.full = true
                try await top.sync(current)
                top.full = false
            case .importBundle:
                // A site fed by a bundle applies the same stream through the same applier; here a second,
                // empty site takes a full snapshot and then a delta.
                try FileManager.default.createDirectory(
                    atPath: folder + "/imported", withIntermediateDirectories: true)
                let imported = try SiteStore(stateDirectory: folder + "/imported")
                _ = try await pull(into: imported, from: top.store, folder: folder)
                try generator.writeChanged(to: folder + "/next", changed: count / 3, changeSeed: 99)
                try await top.sync(try lines(folder + "/next"))
                _ = try await pull(into: imported, from: top.store, folder: folder)
                try await check(top.store, imported, folder: folder, "import")
            }
            try await check(top.store, child, folder: folder, step.rawValue)
        }
    }

    /// A child's full snapshot over a damaged database repairs the digest along with the rows.
    @Test func fullSnapshotRepairsADamagedChild() async throws {
        let top = try SyncHarness(months: 1)
        let folder = top.folder.path
        try FileManager.default.createDirectory(atPath: folder + "/child", withIntermediateDirectories: true)
        let child = try SiteStore(stateDirectory: folder + "/child")
        try CatalogGenerator(seed: 44, count: 400).write(to: folder + "/base")
        try await top.sync(try lines(folder + "/base"))
        _ = try await pull(into: child, from: top.store, folder: folder)
        // Behind sumsync's back: no trigger on this connection.
        let queue = try DatabaseQueue(path: child.path)
        try await queue.write { db in try db.execute(sql: "UPDATE updates SET title = 'forged' WHERE rowid = 3") }
        let damaged = try child.checkCatalog(keys: [])
        #expect(!damaged.isValid && damaged.digest != damaged.kept)
        _ = try await pull(into: child, from: top.store, folder: folder, full: true)
        let repaired = try child.checkCatalog(keys: [])
        #expect(repaired.isValid, "\(repaired.problems)")
        #expect(repaired.digest == (try top.store.checkCatalog(keys: [])).digest)
    }

    // MARK: Signed roots

    /// A child of a verified hierarchy takes a stream only with a root signed by the catalog key, for the
    /// version the stream ends at, vouching for what applying it leaves; anything else rolls back.
    @Test func childRefusesRootsThatDoNotVouchForTheStream() async throws {
        let key = Curve25519.Signing.PrivateKey()
        let other = Curve25519.Signing.PrivateKey()
        let trust = CatalogTrust(
            hierarchy: "test", catalogKeys: [key.publicKey.rawRepresentation], signingKey: key.rawRepresentation)
        let top = try SyncHarness(months: 1)
        top.store.setCatalogTrust(trust)
        let folder = top.folder.path
        try FileManager.default.createDirectory(atPath: folder + "/child", withIntermediateDirectories: true)
        let child = try SiteStore(stateDirectory: folder + "/child")
        child.setCatalogTrust(CatalogTrust(hierarchy: "test", catalogKeys: [key.publicKey.rawRepresentation]))
        let generator = CatalogGenerator(seed: 45, count: 500)
        try generator.write(to: folder + "/base")
        try await top.sync(try lines(folder + "/base"))
        let firstRoot = try #require(CatalogRoot.decode(try top.store.catalogTrustState().root))
        #expect(firstRoot.version == 1 && firstRoot.isSigned(by: key.publicKey.rawRepresentation))
        _ = try await pull(into: child, from: top.store, folder: folder)
        #expect(try child.catalogTrustState().verified == true)
        try generator.writeChanged(to: folder + "/next", changed: 80, changeSeed: 3)
        try await top.sync(try lines(folder + "/next"))
        let goodRoot = try #require(CatalogRoot.decode(try top.store.catalogTrustState().root))
        #expect(goodRoot.version == 2)

        let feed = folder + "/changes.feed"
        _ = try ChangeFeed.write(store: top.store, site: "CAS", since: 1, to: feed)
        let genuine = try String(contentsOfFile: feed, encoding: .utf8)
        let before = try child.checkCatalog(keys: [])
        func resigned(_ root: CatalogRoot, with signer: Curve25519.Signing.PrivateKey) -> CatalogRoot {
            CatalogRoot.signed(
                hierarchy: root.hierarchy, version: root.version, updates: root.updates, digest: root.digest,
                signedAt: Date(), signingKey: signer.rawRepresentation)!
        }
        var wrongDigest = goodRoot
        wrongDigest.digest = String(repeating: "0", count: 64)
        var wrongCount = goodRoot
        wrongCount.updates += 1
        let forgedRoots: [(String, CatalogRoot?)] = [
            ("another key", resigned(goodRoot, with: other)),
            ("an older root replayed", firstRoot),
            (
                "a root for another version",
                resigned(
                    {
                        var r = goodRoot
                        r.version = 3
                        return r
                    }(), with: key)
            ),
            ("a digest it does not vouch for", resigned(wrongDigest, with: key)),
            ("a count it does not vouch for", resigned(wrongCount, with: key)),
            (
                "an altered field under a valid signature",
                {
                    var r = goodRoot
                    r.updates += 1
                    return r
                }()
            ),
            ("no root", nil),
        ]
        for (what, root) in forgedRoots {
            try replaceRoot(in: genuine, with: root).write(toFile: feed, atomically: true, encoding: .utf8)
            var forged = ChangeApplier(path: feed, source: "parent CAS")
            forged.trust = child.catalogTrust
            let applier = forged
            await #expect(throws: CatalogRefusal.self, "\(what)") {
                _ = try await child.pool.write { db in try applier.apply(db, progress: SyncProgress()) }
            }
            #expect(try child.checkCatalog(keys: []) == before, "\(what): the refused stream changed something")
            #expect(try child.catalogVersion() == 1)
        }
        try genuine.write(toFile: feed, atomically: true, encoding: .utf8)
        var genuineApplier = ChangeApplier(path: feed, source: "parent CAS")
        genuineApplier.trust = child.catalogTrust
        let applier = genuineApplier
        _ = try await child.pool.write { db in try applier.apply(db, progress: SyncProgress()) }
        let after = try child.checkCatalog(keys: [key.publicKey.rawRepresentation])
        #expect(after.isValid && after.version == 2 && after.digest == goodRoot.digest, "\(after.problems)")
    }

    // MARK: Helpers

    private func replaceRoot(in stream: String, with root: CatalogRoot?) throws -> String {
        var lines = stream.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var trailer = try #require(
            try JSONSerialization.jsonObject(with: Data(lines[lines.count - 1].utf8)) as? [String: Any])
        if let root {
            trailer["root"] = try JSONSerialization.jsonObject(with: Data(root.json.utf8))
        } else {
            trailer["root"] = nil
        }
        lines[lines.count - 1] = String(decoding: try JSONSerialization.data(withJSONObject: trailer), as: UTF8.self)
        return lines.joined(separator: "\n") + "\n"
    }

    /// The child pulls, then both digests are checked against recomputation and against each other.
    private func check(_ top: SiteStore, _ child: SiteStore, folder: String, _ what: String) async throws {
        _ = try await pull(into: child, from: top, folder: folder)
        let atTop = try top.checkCatalog(keys: [])
        let atChild = try child.checkCatalog(keys: [])
        #expect(atTop.isValid, "\(what) at the top: \(atTop.problems)")
        #expect(atChild.isValid, "\(what) at the child: \(atChild.problems)")
        #expect(atTop.digest == atChild.digest && atTop.updates == atChild.updates, "\(what): the child differs")
    }

    private func pull(into child: SiteStore, from parent: SiteStore, folder: String, full: Bool = false) async throws
        -> ChangeCounts
    {
        let since = full ? 0 : try child.catalogVersion()
        let path = folder + "/changes.feed"
        _ = try ChangeFeed.write(store: parent, site: "CAS", since: since, to: path)
        var configured = ChangeApplier(path: path, source: "parent CAS")
        configured.trust = child.catalogTrust
        let applier = configured
        return try await child.pool.write { db in try applier.apply(db, progress: SyncProgress()).0 }
    }

    private func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }
}
