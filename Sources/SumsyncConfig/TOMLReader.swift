import SumsyncModel
import TOMLKit

/// Reads typed values out of one TOML table, recording type errors and unknown keys as ``ConfigIssue``s.
///
/// Every key that is read is marked as known; ``finish()`` reports the rest, so a typo never passes.
package struct TOMLReader {
    let table: TOMLTable
    let path: String
    let file: String
    private(set) var known: Set<String> = []
    var issues: [ConfigIssue] = []

    init(table: TOMLTable, path: String, file: String) {
        self.table = table
        self.path = path
        self.file = file
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    mutating func fail(_ key: String?, _ message: String) {
        issues.append(ConfigIssue(file: file, keyPath: key.map(keyPath) ?? path, message: message))
    }

    private mutating func value(_ key: String, expected: TOMLType, name: String) -> (any TOMLValueConvertible)? {
        known.insert(key)
        guard let value = table[key] else { return nil }
        guard value.type == expected else {
            fail(key, "expected \(name), found \(Self.describe(value.type))")
            return nil
        }
        return value
    }

    mutating func string(_ key: String) -> String? {
        value(key, expected: .string, name: "a string")?.string
    }

    /// A string that must not be empty.
    mutating func nonEmptyString(_ key: String) -> String? {
        guard let text = string(key) else { return nil }
        if text.trimmingCharacters(in: .whitespaces).isEmpty {
            fail(key, "must not be empty")
            return nil
        }
        return text
    }

    mutating func bool(_ key: String) -> Bool? {
        value(key, expected: .bool, name: "true or false")?.bool
    }

    mutating func int(_ key: String, range: ClosedRange<Int>) -> Int? {
        guard let number = value(key, expected: .int, name: "an integer")?.int else { return nil }
        guard range.contains(number) else {
            fail(key, "\(number) is out of range (\(range.lowerBound)…\(range.upperBound))")
            return nil
        }
        return number
    }

    mutating func strings(_ key: String) -> [String]? {
        guard let array = value(key, expected: .array, name: "a list of strings")?.array else { return nil }
        var result: [String] = []
        for (index, element) in array.enumerated() {
            guard let text = element.string else {
                fail("\(key)[\(index)]", "expected a string, found \(Self.describe(element.type))")
                return nil
            }
            result.append(text)
        }
        return result
    }

    mutating func timeSpan(_ key: String) -> TimeSpan? {
        guard let text = string(key) else { return nil }
        guard let span = TimeSpan.parse(text) else {
            fail(key, "'\(text)' is not a time span (examples: 90s, 15min, 2h 30min, 1d)")
            return nil
        }
        return span
    }

    /// A time span of at least one second; a shorter one is an issue.
    mutating func positiveTimeSpan(_ key: String) -> TimeSpan? {
        guard let span = timeSpan(key) else { return nil }
        guard span.seconds >= 1 else {
            fail(key, "must be at least 1s")
            return nil
        }
        return span
    }

    mutating func table(_ key: String) -> TOMLTable? {
        value(key, expected: .table, name: "a table")?.table
    }

    /// Marks `key` as known without reading it.
    mutating func allow(_ key: String) { known.insert(key) }

    /// Reports every key that was never read.
    mutating func finish() {
        for key in table.keys.sorted() where !known.contains(key) {
            fail(key, "unknown key")
        }
    }

    static func describe(_ type: TOMLType) -> String {
        switch type {
        case .table: "a table"
        case .array: "a list"
        case .string: "a string"
        case .int: "an integer"
        case .double: "a floating-point number"
        case .bool: "a boolean"
        case .date: "a date"
        case .time: "a time"
        case .dateTime: "a date-time"
        }
    }
}
