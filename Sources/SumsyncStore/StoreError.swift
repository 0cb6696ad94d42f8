/// A site database that cannot be opened or used.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for callers that react differently.
    public struct Code: Sendable, Hashable {
        fileprivate enum Value { case missing, open, schema }
        fileprivate let value: Value
        /// No database file (read-only open).
        public static let missing = Code(value: .missing)
        /// SQLite refused to open or migrate it.
        public static let open = Code(value: .open)
        /// The file's schema is newer or older than this build reads.
        public static let schema = Code(value: .schema)
    }

    /// The kind of failure.
    public let code: Code
    /// The database file.
    public let path: String
    /// What happened and what to do.
    public let message: String

    init(_ code: Code, path: String, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { message }
}
