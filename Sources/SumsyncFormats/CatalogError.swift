/// A catalog that cannot be read, or one line of it that cannot be used.
///
/// `line` is set for problems with one line (the sync engine may skip those when `skip-invalid` is on)
/// and nil for problems with the whole file (unreadable, not a gzip stream, empty), which always fail a sync.
public struct CatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line number in the (decompressed) catalog, or nil for whole-file problems.
    public var line: Int?
    /// What is wrong, without the line prefix: `missing required field "product"`.
    public var message: String
    /// What kind of problem this is, for callers that react differently (skip a line, stop the sync).
    public var code: Code

    /// Creates an error; `code` defaults to `.invalidRecord`.
    public init(line: Int?, message: String, code: Code = .invalidRecord) {
        self.line = line
        self.message = message
        self.code = code
    }

    /// `line 17: missing required field "product"`, or just the message for whole-file problems.
    public var description: String {
        if let line { return "line \(line): \(message)" }
        return message
    }

    /// The catalog yielded no updates. The line reader itself does not throw this (an empty file simply
    /// has no lines); the sync engine does, because an empty snapshot would remove everything.
    public static let empty = CatalogError(
        line: nil,
        message: "the catalog is empty (no updates); refusing to treat it as a snapshot that removes everything",
        code: .empty
    )

    /// The kind of a `CatalogError`. A struct around a private enum so kinds can be added without breaking
    /// callers' switches.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidJSON, invalidRecord, invalidUTF8, lineTooLong, unreadable, invalidGzip, empty, cannotWrite
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The line is not well-formed JSON (syntax), or is not a JSON object.
        public static let invalidJSON = Code(.invalidJSON)
        /// The line is JSON but a field is missing, has the wrong type or an invalid value.
        public static let invalidRecord = Code(.invalidRecord)
        /// The line is not valid UTF-8.
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// The line is longer than the reader's limit.
        public static let lineTooLong = Code(.lineTooLong)
        /// The file cannot be opened or read.
        public static let unreadable = Code(.unreadable)
        /// The file starts like gzip but does not decompress.
        public static let invalidGzip = Code(.invalidGzip)
        /// The catalog has no updates.
        public static let empty = Code(.empty)
        /// A catalog file could not be written (the generator).
        public static let cannotWrite = Code(.cannotWrite)

        public var description: String { base.rawValue }
    }
}
