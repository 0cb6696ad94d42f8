import Foundation
import GRDB
import GRDBSQLite
import SumsyncFormats
import SumsyncModel
import Synchronization

/// The site's state digest (``CatalogDigest``) kept in O(changes), and the signed root of its version.
///
/// Every change to a digested column of `updates`, by whatever statement, reaches the digest: temporary
/// triggers on the writer connection (never in the database file, so `sqlite3` and the read-only
/// `sumsyncctl` see none) hand the old and new row to the SQL function `sumsync_digest`, which adds or
/// removes their elements in a per-connection delta. ``fold(_:)`` (called by ``ChangeLog/commit``) adds
/// the delta to `site_state.catalog_digest` inside the same transaction; a transaction that rolls back
/// leaves its delta behind, and the next sync's ``ChangeLog/begin(_:)`` clears it.
package enum CatalogState {
    /// The digested columns, in the order of their encoding: the record's columns in a change stream's
    /// line (what every site mirrors), so a child's rows digest the same as its parent's.
    package static let columns = UpdateColumn.lineColumns.map(\.name)

    // MARK: The per-connection delta

    /// Registers the digest's SQL functions on a writable connection (from `prepareDatabase`).
    static func register(_ db: Database, keeps: Bool = true) throws {
        let keeper = Unmanaged.passRetained(DigestKeeper()).toOpaque()
        let flags = SQLITE_UTF8
        db.add(function: DatabaseFunction("sumsync_digest_kept", argumentCount: 0, pure: true) { _ in keeps })
        var code = sqlite3_create_function_v2(
            db.sqliteConnection, "sumsync_digest", Int32(columns.count + 1), flags, keeper,
            { context, count, values in DigestKeeper.from(context).record(count, values) }, nil, nil,
            { pointer in if let pointer { Unmanaged<DigestKeeper>.fromOpaque(pointer).release() } })
        guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code)) }
        code = sqlite3_create_function_v2(
            db.sqliteConnection, "sumsync_digest_fold", 1, flags, keeper,
            { context, _, values in DigestKeeper.from(context).fold(context, values![0]) }, nil, nil, nil)
        guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code)) }
        code = sqlite3_create_function_v2(
            db.sqliteConnection, "sumsync_digest_reset", 0, flags, keeper,
            { context, _, _ in
                DigestKeeper.from(context).reset()
                sqlite3_result_null(context)
            }, nil, nil, nil)
        guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code)) }
    }

    /// Makes the triggers (once per connection) and clears the delta: at the start of a sync's transaction.
    static func begin(_ db: Database) throws {
        let new = columns.map { "NEW.\($0)" }.joined(separator: ", ")
        let old = columns.map { "OLD.\($0)" }.joined(separator: ", ")
        let digested = columns.dropFirst().joined(separator: ", ")
        guard try Bool.fetchOne(db, sql: "SELECT sumsync_digest_kept()") ?? true else { return }
        try db.execute(
            sql: """
                CREATE TEMP TRIGGER IF NOT EXISTS sumsync_digest_insert AFTER INSERT ON main.updates
                    BEGIN SELECT sumsync_digest(1, \(new)); END;
                CREATE TEMP TRIGGER IF NOT EXISTS sumsync_digest_delete AFTER DELETE ON main.updates
                    BEGIN SELECT sumsync_digest(-1, \(old)); END;
                CREATE TEMP TRIGGER IF NOT EXISTS sumsync_digest_update AFTER UPDATE OF id, \(digested) ON main.updates
                    BEGIN SELECT sumsync_digest(-1, \(old)), sumsync_digest(1, \(new)); END;
                SELECT sumsync_digest_reset();
                """
        )
    }

    /// Adds this transaction's delta to the stored digest.
    static func fold(_ db: Database) throws {
        try db.execute(
            sql: "UPDATE site_state SET catalog_digest = sumsync_digest_fold(catalog_digest) WHERE id = 1")
    }

    /// Replaces the stored digest by one computed from every row (after a full snapshot, which mirrors the
    /// parent whatever the site held: a digest kept by deltas would carry any damage along).
    static func rebuild(_ db: Database) throws {
        let digest = try recompute(db)
        try db.execute(sql: "SELECT sumsync_digest_reset()")
        try db.execute(
            sql: "UPDATE site_state SET catalog_digest = ? WHERE id = 1", arguments: [Data(digest.bytes)])
    }

    /// Drops the triggers for the rest of this transaction (the next ``begin(_:)`` makes them again): a
    /// bulk load that ends with ``rebuild(_:)`` hashes each final row once, in parallel, rather than
    /// every write of it through a trigger.
    static func suspend(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP TRIGGER IF EXISTS temp.sumsync_digest_insert;
                DROP TRIGGER IF EXISTS temp.sumsync_digest_delete;
                DROP TRIGGER IF EXISTS temp.sumsync_digest_update;
                """)
    }

    /// The digest of every row, from scratch. This thread reads and encodes the rows; batches of them are
    /// hashed on other threads (the element function is most of the cost), and the parts are added up.
    package static func recompute(_ db: Database) throws -> CatalogDigest {
        let rows = try RawStatement(db, sql: "SELECT \(columns.joined(separator: ", ")) FROM updates")
        defer { rows.reset() }
        let hashing = ParallelDigest()
        var encoding = RowEncoding()
        var ends: [Int] = []
        let count = Int32(columns.count)
        let handle = rows.handle
        while try rows.step() {
            for column in 0..<count {
                // A column's value as the trigger's function sees it (`sqlite3_column_value`).
                encoding.append(sqlite3_column_value(handle, column))
            }
            ends.append(encoding.bytes.count)
            if ends.count == ParallelDigest.batchRows {
                hashing.submit(encoding.bytes, ends: ends)
                encoding.begin()
                ends.removeAll(keepingCapacity: true)
            }
        }
        hashing.submit(encoding.bytes, ends: ends)
        return hashing.finish()
    }

    /// The stored digest (the empty catalog's when none is stored).
    static func stored(_ db: Database) throws -> CatalogDigest {
        let data = try Data.fetchOne(db, sql: "SELECT catalog_digest FROM site_state WHERE id = 1")
        return data.flatMap { CatalogDigest(bytes: $0) } ?? CatalogDigest()
    }
}

extension RowEncoding {
    /// Appends one SQLite value, by its storage class.
    mutating func append(_ value: OpaquePointer?) {
        switch sqlite3_value_type(value) {
        case SQLITE_NULL: null()
        case SQLITE_INTEGER: integer(sqlite3_value_int64(value))
        case SQLITE_FLOAT: real(sqlite3_value_double(value))
        case SQLITE_BLOB:
            text(
                UnsafeRawBufferPointer(start: sqlite3_value_blob(value), count: Int(sqlite3_value_bytes(value))),
                blob: true)
        default:
            text(UnsafeRawBufferPointer(start: sqlite3_value_text(value), count: Int(sqlite3_value_bytes(value))))
        }
    }
}

/// Hashes batches of encoded rows on the global concurrent queue, at most a few batches in flight, and
/// adds up their parts.
private final class ParallelDigest: Sendable {
    static let batchRows = 2_048
    private let group = DispatchGroup()
    private let inFlight = DispatchSemaphore(value: 4)
    private let total = Mutex(CatalogDigest())

    /// Rows encoded back to back in `bytes`, each ending at the offset in `ends`.
    func submit(_ bytes: [UInt8], ends: [Int]) {
        guard !ends.isEmpty else { return }
        inFlight.wait()
        group.enter()
        DispatchQueue.global().async { [self] in
            var part = CatalogDigest()
            bytes.withUnsafeBytes { all in
                var start = 0
                for end in ends {
                    part.combine(encoding: UnsafeRawBufferPointer(rebasing: all[start..<end]), sign: 1)
                    start = end
                }
            }
            total.withLock { $0.combine(part) }
            inFlight.signal()
            group.leave()
        }
    }

    func finish() -> CatalogDigest {
        group.wait()
        return total.withLock { $0 }
    }
}

/// One writable connection's digest delta; SQLite calls it only on that connection's thread, one call at
/// a time (GRDB serializes the writer).
///
/// The trigger only encodes the row; batches of encodings are hashed on other threads while the sync
/// goes on writing (the element function is most of the cost), and ``takeDelta()`` adds them up.
private final class DigestKeeper: @unchecked Sendable {
    /// Rows added (index 0) and removed (1), encoded back to back, each ending at its offset in `ends`.
    private var pending = [RowEncoding(), RowEncoding()]
    private var ends: [[Int]] = [[], []]
    private var hashing = [ParallelDigest(), ParallelDigest()]
    static let batchRows = 256

    /// Forgets the delta (a transaction that rolled back left it).
    func reset() {
        _ = takeDelta()
    }

    /// The delta since the last call: what was added less what was removed.
    func takeDelta() -> CatalogDigest {
        for side in 0..<2 { flush(side) }
        var delta = hashing[0].finish()
        delta.combine(hashing[1].finish(), sign: -1)
        hashing = [ParallelDigest(), ParallelDigest()]
        return delta
    }

    private func flush(_ side: Int) {
        hashing[side].submit(pending[side].bytes, ends: ends[side])
        pending[side].begin()
        ends[side].removeAll(keepingCapacity: true)
    }

    static func from(_ context: OpaquePointer?) -> DigestKeeper {
        Unmanaged<DigestKeeper>.fromOpaque(sqlite3_user_data(context)!).takeUnretainedValue()
    }

    /// `sumsync_digest(sign, columns…)`.
    func record(_ count: Int32, _ values: UnsafeMutablePointer<OpaquePointer?>?) {
        guard let values, count > 1 else { return }
        let side = sqlite3_value_int64(values[0]) < 0 ? 1 : 0
        // Appended in place (an array element's mutation does not copy it).
        for index in 1..<Int(count) { pending[side].append(values[index]) }
        ends[side].append(pending[side].bytes.count)
        if ends[side].count == Self.batchRows { flush(side) }
    }

    /// `sumsync_digest_fold(stored)`: the stored state (or zero) plus the delta, which starts over.
    func fold(_ context: OpaquePointer?, _ stored: OpaquePointer?) {
        var digest = CatalogDigest()
        if sqlite3_value_type(stored) == SQLITE_BLOB, let blob = sqlite3_value_blob(stored),
            let parsed = CatalogDigest(
                bytes: UnsafeRawBufferPointer(start: blob, count: Int(sqlite3_value_bytes(stored))))
        {
            digest = parsed
        }
        digest.combine(takeDelta())
        digest.bytes.withUnsafeBytes { bytes in
            sqlite3_result_blob(context, bytes.baseAddress, Int32(bytes.count), rawTransient)
        }
    }
}
