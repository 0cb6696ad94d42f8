import Foundation
import GRDB
import Testing

@testable import SumsyncModel
@testable import SumsyncStore
@testable import SumsyncTestSupport

/// A child mirrors its parent through change streams: the first full snapshot into an empty site, then
/// deltas. Checked against the parent's database after every step, and the child's own change log must
/// serve its children correctly.
@Suite("change streams")
struct ChangeApplierTests {
    @Test func childMirrorsParentThroughSnapshotAndDeltas() async throws {
        let parent = try SyncHarness(months: 2)
        let childFolder = parent.folder.appendingPathComponent("child")
        try FileManager.default.createDirectory(at: childFolder, withIntermediateDirectories: true)
        let child = try SiteStore(stateDirectory: childFolder.path)
        let generator = CatalogGenerator(seed: 33, count: 1_200)
        let folder = parent.folder.path
        try generator.write(to: folder + "/base")
        try generator.writeChanged(to: folder + "/delta1", changed: 200, changeSeed: 1)
        try generator.writeChanged(to: folder + "/delta2", changed: 200, changeSeed: 2)

        // Two parent syncs before the child's first pull: it takes a full snapshot at version 2.
        try await parent.sync(lines(folder + "/base"))
        try await parent.sync(lines(folder + "/delta1"))
        var counts = try await pull(into: child, from: parent.store, folder: folder)
        let held = try child.updateCount()
        #expect(counts.new == held && held > 1_000 && counts.removed == 0)
        try #expect(child.catalogVersion() == 2)
        try #expect(mirror(child) == mirror(parent.store))
        try #expect(child.updateCount() == parent.store.updateCount())
        // The child's log starts at the snapshot: a grandchild at version 1 must take a full snapshot.
        #expect(throws: ChangeFeed.TooOld.self) {
            try ChangeFeed.write(store: child, site: "PR1", since: 1, to: folder + "/grandchild.feed")
        }
        let fullHeader = try ChangeFeed.write(store: child, site: "PR1", since: 0, to: folder + "/grandchild.feed")
        #expect(fullHeader.full && fullHeader.upserts == held)

        for step in ["delta2", "base", "delta1"] {
            parent.now = parent.now.addingTimeInterval(40 * 86_400)
            try await parent.sync(lines(folder + "/" + step))
            counts = try await pull(into: child, from: parent.store, folder: folder)
            #expect(counts.changed > 0, "\(step)")
            try #expect(child.catalogVersion() == parent.store.catalogVersion(), "\(step)")
            try #expect(mirror(child) == mirror(parent.store), "\(step): the child does not mirror its parent")
            try #expect(child.updateCount() == parent.store.updateCount())
            // The child's own delta for its children matches the parent's.
            let version = try child.catalogVersion()
            let fromChild = try ChangeFeed.write(store: child, site: "PR1", since: version - 1, to: folder + "/c.feed")
            let fromParent = try ChangeFeed.write(
                store: parent.store, site: "CAS", since: version - 1, to: folder + "/p.feed")
            #expect(fromChild.upserts == fromParent.upserts && fromChild.removals == fromParent.removals, "\(step)")
        }
        #expect(try child.integrityCheck() == "ok")
    }

    /// A child keeps the stream it applied and serves it to its own children as its own (its header
    /// naming the child), without writing it again; a grandchild that applies it mirrors the top.
    @Test func childRelaysTheStreamItAppliedToItsChildren() async throws {
        let parent = try SyncHarness(months: 2)
        let folder = parent.folder.path
        var stores: [SiteStore] = []
        for name in ["child", "grandchild"] {
            try FileManager.default.createDirectory(atPath: folder + "/" + name, withIntermediateDirectories: true)
            stores.append(try SiteStore(stateDirectory: folder + "/" + name))
        }
        let (child, grandchild) = (stores[0], stores[1])
        let generator = CatalogGenerator(seed: 34, count: 800)
        try generator.write(to: folder + "/base")
        try generator.writeChanged(to: folder + "/delta", changed: 150, changeSeed: 5)
        try await parent.sync(lines(folder + "/base"))
        _ = try await pull(into: child, from: parent.store, folder: folder)
        _ = try await pull(into: grandchild, from: child, folder: folder)
        try await parent.sync(lines(folder + "/delta"))

        let download = folder + "/child/changes.download"
        _ = try ChangeFeed.write(store: parent.store, site: "CAS", since: 1, to: download)
        let applier = ChangeApplier(path: download, source: "parent CAS")
        _ = try await child.pool.write { db in try applier.apply(db, progress: SyncProgress()) }
        let cache = ChangeFeedCache(folder: folder + "/child")
        #expect(await cache.adopt(download, since: 1, site: "PR1"))
        #expect(!FileManager.default.fileExists(atPath: download))
        let served = try await cache.stream(since: 1, version: 2) { _, _ in
            Issue.record("the relayed stream was written again")
            throw CancellationError()
        }
        #expect(served.header.site == "PR1" && served.header.from == 1 && served.header.to == 2 && !served.header.full)
        #expect(served.phases.contains("relayed"))

        // What the grandchild downloads is the relayed file, byte for byte.
        var bytes = Data()
        for try await chunk in served.chunks { bytes.append(contentsOf: chunk.readableBytesView) }
        let relayed = folder + "/grandchild/changes.download"
        try bytes.write(to: URL(fileURLWithPath: relayed))
        let firstLine = try #require(
            String(decoding: bytes.prefix(ChangeFeed.headerRoom), as: UTF8.self).split(separator: "\n").first)
        #expect(firstLine.count == ChangeFeed.headerRoom - 1 && firstLine.contains(#""site":"PR1""#))
        let relay = ChangeApplier(path: relayed, source: "parent PR1")
        _ = try await grandchild.pool.write { db in try relay.apply(db, progress: SyncProgress()) }
        try #expect(grandchild.catalogVersion() == 2)
        try #expect(mirror(grandchild) == mirror(parent.store))

        // Anything else is not adopted and stays where it is.
        let other = folder + "/child/other.download"
        try Data("not a change stream\n".utf8).write(to: URL(fileURLWithPath: other))
        #expect(await !cache.adopt(other, since: 2, site: "PR1"))
        #expect(FileManager.default.fileExists(atPath: other))
    }

    /// A stream with a damaged line anywhere (header, record, removal, end) is refused with the line
    /// named, and the child stays exactly as it was.
    @Test(arguments: ["header", "record", "removal", "end"])
    func damagedStreamLineChangesNothing(_ damaged: String) async throws {
        let parent = try SyncHarness(months: 2)
        let folder = parent.folder.path
        try FileManager.default.createDirectory(atPath: folder + "/child", withIntermediateDirectories: true)
        let child = try SiteStore(stateDirectory: folder + "/child")
        let generator = CatalogGenerator(seed: 35, count: 600)
        try generator.write(to: folder + "/base")
        try generator.writeChanged(to: folder + "/delta", changed: 120, changeSeed: 6)
        try await parent.sync(lines(folder + "/base"))
        _ = try await pull(into: child, from: parent.store, folder: folder)
        try await parent.sync(lines(folder + "/delta"))
        let before = try mirror(child)

        let path = folder + "/damaged.feed"
        let header = try ChangeFeed.write(store: parent.store, site: "CAS", since: 1, to: path)
        #expect(header.removals > 0 && header.upserts > 0)
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false
        )
        .map(String.init)
        let index: Int
        switch damaged {
        case "header": index = 0
        case "record": index = 1
        case "removal": index = 1 + header.upserts
        default: index = 1 + header.upserts + header.removals
        }
        lines[index] = "x" + lines[index]
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)

        let applier = ChangeApplier(path: path, source: "parent CAS")
        let error = await #expect(throws: (any Error).self) {
            _ = try await child.pool.write { db in try applier.apply(db, progress: SyncProgress()) }
        }
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains("line \(index + 1)"), "\(message)")
        try #expect(child.catalogVersion() == 1)
        try #expect(mirror(child) == before)
    }

    /// An empty child takes a full snapshot's supersedence as the stream carries it. From a stream
    /// without it (an older parent), or with a record whose tail is not in the writer's shape, it works
    /// supersedence out itself. Each way it mirrors the parent, pairs included.
    @Test(arguments: ["carried", "older parent", "unreadable tail"])
    func firstSnapshotSupersedence(_ variant: String) async throws {
        let parent = try SyncHarness(months: 2)
        let folder = parent.folder.path
        try FileManager.default.createDirectory(atPath: folder + "/child", withIntermediateDirectories: true)
        let child = try SiteStore(stateDirectory: folder + "/child")
        try CatalogGenerator(seed: 36, count: 700).write(to: folder + "/base")
        try await parent.sync(lines(folder + "/base"))

        let path = folder + "/full.feed"
        _ = try ChangeFeed.write(store: parent.store, site: "CAS", since: 0, to: path)
        var feed = try lines(path)
        let tail = try Regex(#","superseded_by":"([0-9a-f-]{36})","superseded_released":(-?[0-9]+)\}$"#)
        let carrying = feed.indices.filter { feed[$0].contains(tail) }
        #expect(carrying.count > 20 && feed[0].contains(#""superseded_by":true"#))
        switch variant {
        case "older parent":
            var header = try JSONDecoder().decode(ChangeFeed.Header.self, from: Data(feed[0].utf8))
            header.supersededBy = nil
            feed[0] = String(decoding: try JSONEncoder().encode(header), as: UTF8.self)
            #expect(!feed[0].contains("superseded_by"))
            for index in carrying { feed[index] = feed[index].replacing(tail, with: "}") }
        case "unreadable tail":
            // Still valid JSON with the same fields, but not where the writer puts them.
            let index = carrying[carrying.count / 2]
            let match = try #require(feed[index].firstMatch(of: tail))
            feed[index] =
                #"{"superseded_by":"\#(match.output[1].substring ?? "")","superseded_released":\#(match.output[2].substring ?? ""),"#
                + feed[index].replacing(tail, with: "}").dropFirst()
        default:
            break
        }
        try (feed.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)

        let applier = ChangeApplier(path: path, source: "parent CAS")
        let phases = try await child.pool.write { db in
            var phases = PhaseTimes()
            _ = try applier.apply(db, progress: SyncProgress(), phases: &phases)
            return phases
        }
        #expect(phases.summary.contains("supersedence (the stream's)") == (variant == "carried"), "\(phases.summary)")
        try #expect(mirror(child) == mirror(parent.store))
        #expect(try child.integrityCheck() == "ok")
    }

    /// A record's supersedence read from the end of its line: found only in the writer's shape; a line
    /// that names the fields anywhere else, or with an id that is not a GUID, is unreadable (the child then
    /// works supersedence out itself); the name inside a JSON string is not a mention.
    @Test(arguments: [
        (
            #"{"id":"a","x":1,"superseded_by":"9A5B2C1E-0000-4000-8000-000000000001","superseded_released":1700000000}"#,
            SupersededTail.Reading.superseded(by: "9a5b2c1e-0000-4000-8000-000000000001", released: 1_700_000_000)
        ),
        (
            #"{"id":"a","superseded_by":"9a5b2c1e-0000-4000-8000-000000000001","superseded_released":-5}"#,
            .superseded(by: "9a5b2c1e-0000-4000-8000-000000000001", released: -5)
        ),
        (#"{"id":"a","title":"x","expired":false}"#, .none),
        (#"{"id":"a","description":"see \"superseded_by\" in the docs"}"#, .none),
        (#"}"#, .none),
        (#"{"superseded_by":"9a5b2c1e-0000-4000-8000-000000000001","superseded_released":1,"id":"a"}"#, .unreadable),
        (#"{"id":"a","superseded_by":"9a5b2c1e-0000-4000-8000-00000000000g","superseded_released":1}"#, .unreadable),
        (#"{"id":"a","superseded_by":"9a5b2c1e-0000-4000-8000-000000000001","superseded_released":"1"}"#, .unreadable),
    ])
    func supersededTail(_ line: String, _ expected: SupersededTail.Reading) {
        var line = line
        let reading = line.withUTF8 { SupersededTail.read(UnsafeRawBufferPointer($0)) }
        #expect(reading == expected)
    }

    /// SQLite's bytes compared in place agree with what was bound: empty text, U+0000 inside text,
    /// non-ASCII, NULL and integers.
    @Test func rawStatementsBindAndCompareInPlace() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (a TEXT, b INTEGER)")
            let insert = try RawStatement(db, sql: "INSERT INTO t (a, b) VALUES (?1, ?2)")
            let select = try RawStatement(db, sql: "SELECT a, b FROM t WHERE rowid = ?1")
            let values: [(String?, Int64?)] = [("", 0), ("a\u{0}b", -7), ("Größe – 更新", Int64.max), (nil, nil)]
            for (row, (text, number)) in values.enumerated() {
                insert.bind(1, text)
                insert.bind(2, number)
                try insert.run()
                select.bind(1, row + 1)
                #expect(try select.step())
                #expect(select.holds(0, text) && select.holds(1, number))
                #expect(select.text(0) == text && select.int64OrNil(1) == number)
                #expect(!select.holds(0, (text ?? "") + "x") && !select.holds(1, (number ?? 0) &- 1))
                select.reset()
            }
            // SQLite's own error reaches the caller, and the statement can run again afterwards.
            let strict = try RawStatement(db, sql: "INSERT INTO t (rowid, a) VALUES (?1, 'x')")
            strict.bind(1, 1)
            #expect(throws: DatabaseError.self) { try strict.run() }
            strict.bind(1, 99)
            try strict.run()
        }
    }

    /// Pulls the parent's changes since the child's version and applies them.
    private func pull(into child: SiteStore, from parent: SiteStore, folder: String) async throws -> ChangeCounts {
        let since = try child.catalogVersion()
        let path = folder + "/changes.feed"
        _ = try ChangeFeed.write(store: parent, site: "CAS", since: since, to: path)
        let applier = ChangeApplier(path: path, source: "parent CAS")
        return try await child.pool.write { db in try applier.apply(db, progress: SyncProgress()).0 }
    }

    /// The update rows a child must hold exactly as its parent does.
    private func mirror(_ store: SiteStore) throws -> [String] {
        try store.pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, revision, title, product, classification, languages, kb, bulletin, severity, released,
                        released_epoch, revised, supersedes, expired, superseded_by, superseded_released, size, url,
                        description FROM updates ORDER BY id
                    """
            ).map(\.description)
                + Row.fetchAll(db, sql: "SELECT target, by_id, by_released FROM supersessions ORDER BY target, by_id")
                .map(\.description)
        }
    }

    private func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }
}
