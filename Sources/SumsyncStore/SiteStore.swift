import Foundation
import GRDB
import Synchronization

/// The site database: one SQLite file per site in its state folder, in WAL mode, with versioned migrations.
///
/// The daemon opens it read-write; `sumsyncctl` opens it read-only to list updates and history while the
/// daemon runs or is stopped.
public final class SiteStore: Sendable {
    /// The file name inside the state folder.
    public static let fileName = "site.sqlite"

    /// The underlying pool: one writer, concurrent readers; only this module runs SQL on it (the layers
    /// above call its intent methods).
    let pool: DatabasePool
    /// The database file.
    public let path: String
    /// A connection of its own for checkpoints, so they never hold up the pool's writer (nil when read-only).
    private let checkpointer: DatabaseQueue?
    /// Moves on with every ``checkpointSoon(after:)``; only the latest one checkpoints.
    private let checkpointGeneration = Mutex(0)
    /// How this site trusts catalog versions (``setCatalogTrust(_:)``).
    let trustBox = Mutex<CatalogTrust?>(nil)
    /// How opening went for incremental auto-vacuum: how long converting an earlier release's database
    /// took, or why it could not be converted (the daemon logs either; the site works on without).
    public let vacuumConversion: Result<Duration, StoreError>?

    /// Opens (creating and migrating when writable) the database at `path`.
    public convenience init(path: String, readOnly: Bool = false) throws(StoreError) {
        try self.init(path: path, readOnly: readOnly, keepsDigest: true)
    }

    /// `keepsDigest: false` (only `sumsync-bench digest-cost`, to measure what keeping it costs): no
    /// triggers keep the state digest, which then goes stale.
    package init(path: String, readOnly: Bool, keepsDigest: Bool) throws(StoreError) {
        self.path = path
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            if !db.configuration.readonly {
                // Checkpoints run after a sync (``checkpointSoon()``), not inside the commit that the next
                // site in the tree waits for; SQLite's own checkpoint on commit is only a backstop, for a
                // log past 128 MB (32,768 pages).
                // The log is cut back to 64 MB when it starts over after a checkpoint, not to nothing: a
                // delta's commit then writes over blocks the file already has instead of growing it.
                try db.execute(
                    sql:
                        "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 32768; PRAGMA journal_size_limit = 67108864"
                )
                // The state digest's functions (its triggers are made by the first sync).
                try CatalogState.register(db, keeps: keepsDigest)
            }
        }
        if readOnly, !FileManager.default.fileExists(atPath: path) {
            throw StoreError(
                .missing, path: path, message: "no site database at \(path); has sumsyncd run for this site?")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            var checkpointing = Configuration()
            checkpointing.busyMode = .timeout(10)
            checkpointer = readOnly ? nil : try DatabaseQueue(path: path, configuration: checkpointing)
            if !readOnly {
                var conversion: Result<Duration, StoreError>?
                do {
                    conversion = try Self.enableIncrementalVacuum(pool).map { .success($0) }
                } catch {
                    conversion = .failure(
                        StoreError(
                            .open, path: path,
                            message:
                                "cannot convert \(path) to incremental auto-vacuum (it needs free space for a copy of the file): \(error); it works on as it was, and the next start tries again"
                        ))
                }
                vacuumConversion = conversion
                try Self.migrator.migrate(pool)
            } else if try pool.read({ try !Self.migrator.hasCompletedMigrations($0) }) {
                throw StoreError(
                    .schema, path: path,
                    message: "the site database at \(path) needs a newer sumsyncd to migrate it first")
            } else {
                vacuumConversion = nil
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.open, path: path, message: "cannot open site database \(path): \(error)")
        }
    }

    /// Opens the site database in `stateDirectory`.
    public convenience init(stateDirectory: String, readOnly: Bool = false) throws(StoreError) {
        try self.init(path: (stateDirectory as NSString).appendingPathComponent(Self.fileName), readOnly: readOnly)
    }

    /// The site's catalog version: 0 before the first sync that changed anything.
    public func catalogVersion() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT catalog_version FROM site_state WHERE id = 1") ?? 0 }
    }

    /// Copies the write-ahead log back into the database file once the site has been quiet for
    /// `after` (a passive checkpoint on the low-priority housekeeping thread, on a connection of its own:
    /// it never waits for readers). Called after each sync; a sync within `after` of the last one moves
    /// the checkpoint on, because a checkpoint in progress holds up the next write for a moment. SQLite
    /// also checkpoints when it closes.
    public func checkpointSoon(after delay: Duration = .seconds(5)) {
        guard let checkpointer else { return }
        let generation = checkpointGeneration.withLock { value -> Int in
            value += 1
            return value
        }
        Task {
            try? await Task.sleep(for: delay)
            guard checkpointGeneration.withLock({ $0 }) == generation else { return }
            BackgroundThread.shared.run {
                _ = try? checkpointer.inDatabase { db in try db.checkpoint(.passive) }
            }
        }
    }

    /// The connection of its own for checkpoints (nil when read-only).
    var checkpointerConnection: DatabaseQueue? { checkpointer }

    /// Copies the write-ahead log back into the database file now and has the next write start it over:
    /// after a bulk load (a first sync), whose log is as large as the database, so later reads need not
    /// search it. The file is cut to the 64 MB `journal_size_limit` when the next write commits, so the
    /// first delta after a first sync writes into blocks the file has.
    package func checkpointNow() async {
        guard let checkpointer else { return }
        _ = try? await checkpointer.writeWithoutTransaction { db in try db.checkpoint(.restart) }
    }

    /// Sets the page cache of a write for a delta (`large`: up to 256 MB rather than SQLite's 2 MB
    /// default, and reads through a memory map), so its scattered row changes do not spill dirty pages to
    /// the log again and again; the cache only grows as far as the delta touches. Call again with
    /// `false` when the write ends, also on failure. A first sync takes ``setFirstSyncCache(_:)`` instead:
    /// its peak memory counts.
    package static func setLargeCache(_ large: Bool, _ db: Database) throws {
        try db.execute(
            sql: large
                ? "PRAGMA cache_size = -262144; PRAGMA mmap_size = 1073741824"
                : "PRAGMA cache_size = -2000; PRAGMA mmap_size = 0")
    }

    /// A first sync's page cache: 32 MB, enough for the id index's pages that random inserts touch, with
    /// no memory map (its writes go through the log in one pass). `setLargeCache(false, _)` resets it.
    package static func setFirstSyncCache(_ db: Database) throws {
        try db.execute(sql: "PRAGMA cache_size = -32768; PRAGMA mmap_size = 0")
    }

    /// `PRAGMA integrity_check`'s answer: `ok` for a whole database.
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n") }
    }
}
