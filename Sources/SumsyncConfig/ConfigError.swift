/// One problem found in a config file.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    /// The config file.
    public var file: String
    /// Line and column, for syntax errors.
    public var line: Int?
    public var column: Int?
    /// The key path, for semantic errors: `site[2].parent`, `sync.retry-interval`.
    public var keyPath: String?
    /// What is wrong, and where useful what to do.
    public var message: String

    /// `FILE:LINE:COL: message` or `FILE: key.path: message`.
    public var description: String {
        if let line, let column { return "\(file):\(line):\(column): \(message)" }
        if let keyPath { return "\(file): \(keyPath): \(message)" }
        return "\(file): \(message)"
    }

    package init(file: String, line: Int? = nil, column: Int? = nil, keyPath: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }
}

/// A config that cannot be used, with every problem found in it.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The problems, in file order where known.
    public var issues: [ConfigIssue]

    /// One line per problem.
    public var description: String { issues.map(\.description).joined(separator: "\n") }

    /// A one-line summary for `STATUS=` and journal entries.
    public var summary: String {
        guard let first = issues.first else { return "invalid config" }
        return issues.count == 1 ? first.description : "\(first.description) (and \(issues.count - 1) more)"
    }

    package init(issues: [ConfigIssue]) {
        self.issues = issues
    }
}
