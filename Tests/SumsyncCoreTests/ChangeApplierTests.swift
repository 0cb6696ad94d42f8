import Foundation
import GRDB
import Testing

@testable import SumsyncCore

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
            let fromParent = try ChangeFeed.write(store: parent.store, site: "CAS", since: version - 1, to: folder + "/p.feed")
            #expect(fromChild.upserts == fromParent.upserts && fromChild.removals == fromParent.removals, "\(step)")
        }
        #expect(try child.integrityCheck() == "ok")
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
            + Row.fetchAll(db, sql: "SELECT target, by_id, by_released FROM supersessions ORDER BY target, by_id").map(\.description)
        }
    }

    private func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }
}
