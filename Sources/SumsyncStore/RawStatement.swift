import GRDB
import GRDBSQLite
import SumsyncModel

/// A prepared statement that a sync runs once per update, bound and stepped through SQLite's C API.
///
/// GRDB's `execute(arguments:)` and `Row.fetchOne` build an argument array, a row and a column-name
/// table for every call: at a few thousand changed updates per delta that was as much time as SQLite's
/// own work. These statements bind values in place and read columns where they lie. GRDB still prepares
/// and finalizes the statement, and the caller's GRDB transaction wraps every step.
///
/// Use: `bind` every parameter, then ``run()`` (no result rows) or ``step()`` / column reads / ``reset()``.
package struct RawStatement {
    private let statement: Statement
    private let connection: SQLiteConnection?

    init(_ db: Database, sql: String) throws {
        statement = try db.makeStatement(sql: sql)
        connection = db.sqliteConnection
    }

    var handle: SQLiteStatement { statement.sqliteStatement }

    // MARK: Binding (1-based parameter positions, as in `?1`)

    func bind(_ position: Int32, _ text: String) {
        // The byte count, not -1: JSON may carry U+0000 inside a string.
        _ = text.withCString { sqlite3_bind_text(handle, position, $0, Int32(text.utf8.count), rawTransient) }
    }

    func bind(_ position: Int32, _ text: String?) {
        if let text { bind(position, text) } else { sqlite3_bind_null(handle, position) }
    }

    func bind(_ position: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, position, value)
    }

    func bind(_ position: Int32, _ value: Int) {
        sqlite3_bind_int64(handle, position, Int64(value))
    }

    func bind(_ position: Int32, _ value: Int64?) {
        if let value { bind(position, value) } else { sqlite3_bind_null(handle, position) }
    }

    func bind(_ position: Int32, _ value: Bool) {
        sqlite3_bind_int64(handle, position, value ? 1 : 0)
    }

    // MARK: Stepping

    /// Steps once: true when a result row is ready to read. Throws SQLite's error (the statement is
    /// then reset).
    @discardableResult
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            sqlite3_reset(handle)
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
        }
    }

    /// Makes the statement ready to bind and run again (bindings stay until rebound).
    func reset() {
        sqlite3_reset(handle)
    }

    /// Runs a statement that returns no rows (or whose rows are not read).
    func run() throws {
        defer { sqlite3_reset(handle) }
        while try step() {}
    }

    // MARK: Reading the current row (0-based columns)

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    func int64OrNil(_ column: Int32) -> Int64? {
        isNull(column) ? nil : int64(column)
    }

    func bool(_ column: Int32) -> Bool {
        int64(column) != 0
    }

    func text(_ column: Int32) -> String? {
        utf8(column).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The column's text as UTF-8 bytes where SQLite holds them (nil for NULL): valid only until the
    /// next step or reset.
    func utf8(_ column: Int32) -> UnsafeBufferPointer<UInt8>? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        return UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column)))
    }

    /// Whether the column holds exactly `text` (NULL matches nil), compared byte for byte in place.
    func holds(_ column: Int32, _ text: String?) -> Bool {
        guard let text else { return isNull(column) }
        guard sqlite3_column_type(handle, column) == SQLITE_TEXT, let stored = utf8(column) else { return false }
        var expected = text
        return expected.withUTF8 { $0.count == stored.count && $0.elementsEqual(stored) }
    }

    /// Whether the column holds exactly the integer `value` (NULL matches nil).
    func holds(_ column: Int32, _ value: Int64?) -> Bool {
        guard let value else { return isNull(column) }
        return sqlite3_column_type(handle, column) == SQLITE_INTEGER && int64(column) == value
    }
}

/// SQLite copies the bound bytes (the Swift string's buffer lives only during the bind call).
let rawTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
