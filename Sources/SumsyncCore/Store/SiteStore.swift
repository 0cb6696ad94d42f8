import Foundation
import GRDB

/// The site database: one SQLite file per site in its state folder, in WAL mode, with versioned migrations.
///
/// The daemon opens it read-write; `sumsyncctl` opens it read-only to list updates and history while the
/// daemon runs or is stopped.
public final class SiteStore: Sendable {
    /// The file name inside the state folder.
    public static let fileName = "site.sqlite"

    /// The underlying pool: one writer, concurrent readers.
    public let pool: DatabasePool
    /// The database file.
    public let path: String

    /// Opens (creating and migrating when writable) the database at `path`.
    public init(path: String, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
        }
        if readOnly, !FileManager.default.fileExists(atPath: path) {
            throw StoreError(.missing, path: path, message: "no site database at \(path); has sumsyncd run for this site?")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            if !readOnly {
                try Self.migrator.migrate(pool)
            } else if try pool.read({ try !Self.migrator.hasCompletedMigrations($0) }) {
                throw StoreError(.schema, path: path, message: "the site database at \(path) needs a newer sumsyncd to migrate it first")
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

    /// `PRAGMA integrity_check`'s answer: `ok` for a whole database.
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n") }
    }
}
