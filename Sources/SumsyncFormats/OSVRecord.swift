#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One OSV record (the Open Source Vulnerability schema, ossf/osv-schema): the fields sumsync maps
/// (docs/sources.md). Everything else in a record is checked to be JSON and skipped.
package struct OSVRecord: Sendable {
    package struct Severity: Sendable, Equatable {
        /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, …
        package var type: String
        /// A CVSS vector, or a distribution's word (`Ubuntu`: `medium`).
        package var score: String
    }

    package struct Reference: Sendable, Equatable {
        package var type: String
        package var url: String
    }

    /// One `affected[]` entry.
    package struct Affected: Sendable, Equatable {
        package var ecosystem: String
        package var name: String
        /// Every `fixed` event of its ranges, in order.
        package var fixed: [String]
        package var severity: [Severity]
    }

    package var id = ""
    /// `modified`, as epoch seconds.
    package var modified: Int64 = 0
    package var published: Int64?
    package var withdrawn: Int64?
    package var summary: String?
    package var details: String?
    package var aliases: [String] = []
    package var upstream: [String] = []
    package var severity: [Severity] = []
    package var affected: [Affected] = []
    package var references: [Reference] = []
    /// `database_specific.severity` when it is a string (AlmaLinux, Debian's and others' own word).
    package var databaseSeverity: String?
}

/// A record that is not valid OSV: where (a JSON path such as `$.affected[2].package.ecosystem`) and why.
package struct OSVRecordError: Error, Sendable, CustomStringConvertible, Equatable {
    package var path: String
    package var message: String
    package var description: String { "at \(path): \(message)" }
}

/// Reads one OSV record through the project's JSON scanner: the required fields (`id`, `modified`) and
/// the types of every field sumsync reads are checked, as the schema states them.
package enum OSVRecordParser {
    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(OSVRecordError) -> OSVRecord {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw OSVRecordError(path: "$", message: "empty, expected a JSON object")
        }
        var parser = OSVParser(
            scanner: JSONScanner(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, line: 1))
        return try parser.record()
    }

    package static func parse(_ text: String) throws(OSVRecordError) -> OSVRecord {
        var copy = text
        let result: Result<OSVRecord, OSVRecordError> = copy.withUTF8 { utf8 in
            do throws(OSVRecordError) {
                return .success(try parse(UnsafeRawBufferPointer(utf8)))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    package static func parse(bytes: [UInt8]) throws(OSVRecordError) -> OSVRecord {
        let result: Result<OSVRecord, OSVRecordError> = bytes.withUnsafeBytes { raw in
            do throws(OSVRecordError) {
                return .success(try parse(raw))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// A key of the object being read, matched against literals without making a `String`.
struct OSVKey {
    let bytes: UnsafeBufferPointer<UInt8>

    static func ~= (pattern: StaticString, key: OSVKey) -> Bool {
        pattern.utf8CodeUnitCount == key.bytes.count
            && memcmp(pattern.utf8Start, key.bytes.baseAddress!, key.bytes.count) == 0
    }
}

/// A pull parser over the scanner that knows where it is (for error messages).
struct OSVParser {
    var scanner: JSONScanner
    /// Each open object's key or array's index, innermost last.
    private var path: [PathPart] = []
    /// Decoded keys that had escapes, alive until the record is read (``record()`` frees them).
    private var escapedKeys: [UnsafeMutableBufferPointer<UInt8>] = []

    private enum PathPart {
        case key(UnsafeBufferPointer<UInt8>)
        case index(Int)
    }

    init(scanner: JSONScanner) {
        self.scanner = scanner
        path.reserveCapacity(8)
    }

    mutating func record() throws(OSVRecordError) -> OSVRecord {
        defer {
            for key in escapedKeys { key.deallocate() }
            escapedKeys = []
        }
        var record = OSVRecord()
        var hasID = false
        var hasModified = false
        try members("an object (an OSV record)", nullable: false) { p, key throws(OSVRecordError) in
            switch key {
            case "id":
                record.id = try p.nonEmptyString()
                hasID = true
            case "modified":
                record.modified = try p.timestamp()
                hasModified = true
            case "published": record.published = try p.optionalTimestamp()
            case "withdrawn": record.withdrawn = try p.optionalTimestamp()
            case "summary": record.summary = try p.optionalString()
            case "details": record.details = try p.optionalString()
            case "aliases": record.aliases = try p.strings()
            case "upstream": record.upstream = try p.strings()
            case "related": _ = try p.strings()
            case "schema_version": _ = try p.optionalString()
            case "severity": record.severity = try p.severities()
            case "affected":
                try p.elements("an array of objects or null", nullable: true) { p, _ throws(OSVRecordError) in
                    record.affected.append(try p.affected())
                }
            case "references":
                try p.elements("an array of objects or null", nullable: true) { p, _ throws(OSVRecordError) in
                    var reference = OSVRecord.Reference(type: "", url: "")
                    try p.members("an object", nullable: false) { p, key throws(OSVRecordError) in
                        switch key {
                        case "type": reference.type = try p.string()
                        case "url": reference.url = try p.string()
                        default: try p.skip()
                        }
                    }
                    record.references.append(reference)
                }
            case "database_specific":
                try p.members("an object or null", nullable: true) { p, key throws(OSVRecordError) in
                    if case "severity" = key, p.scanner.current == 0x22 {
                        record.databaseSeverity = try p.string()
                    } else {
                        try p.skip()
                    }
                }
            default: try p.skip()
            }
        }
        scanner.skipWhitespace()
        guard scanner.pos == scanner.end else { throw syntax("the end of the record after the object") }
        guard hasID else { throw OSVRecordError(path: "$", message: "missing required field \"id\"") }
        guard hasModified else { throw OSVRecordError(path: "$", message: "missing required field \"modified\"") }
        return record
    }

    private mutating func affected() throws(OSVRecordError) -> OSVRecord.Affected {
        var item = OSVRecord.Affected(ecosystem: "", name: "", fixed: [], severity: [])
        var hasPackage = false
        try members("an object", nullable: false) { p, key throws(OSVRecordError) in
            switch key {
            case "package":
                hasPackage = true
                var hasEcosystem = false
                var hasName = false
                try p.members("an object", nullable: false) { p, key throws(OSVRecordError) in
                    switch key {
                    case "ecosystem":
                        item.ecosystem = try p.nonEmptyString()
                        hasEcosystem = true
                    case "name":
                        item.name = try p.nonEmptyString()
                        hasName = true
                    case "purl": _ = try p.optionalString()
                    default: try p.skip()
                    }
                }
                guard hasEcosystem, hasName else {
                    throw p.invalid("missing required field \"\(hasEcosystem ? "name" : "ecosystem")\"")
                }
            case "severity": item.severity = try p.severities()
            case "ranges":
                try p.elements("an array of objects", nullable: true) { p, _ throws(OSVRecordError) in
                    try p.members("an object", nullable: false) { p, key throws(OSVRecordError) in
                        switch key {
                        case "type", "repo": _ = try p.string()
                        case "events":
                            try p.elements("an array of objects", nullable: false) { p, _ throws(OSVRecordError) in
                                try p.members("an object", nullable: false) { p, key throws(OSVRecordError) in
                                    switch key {
                                    case "fixed": item.fixed.append(try p.string())
                                    case "introduced", "last_affected", "limit": _ = try p.string()
                                    default: try p.skip()
                                    }
                                }
                            }
                        default: try p.skip()
                        }
                    }
                }
            case "versions": _ = try p.strings(keep: false)
            default: try p.skip()
            }
        }
        // Since schema 1.6 an affected entry may name no package (a git range alone); sumsync has nothing
        // to install then, so it is left out.
        if !hasPackage { item.ecosystem = "" }
        return item
    }

    private mutating func severities() throws(OSVRecordError) -> [OSVRecord.Severity] {
        var result: [OSVRecord.Severity] = []
        try elements("an array of objects or null", nullable: true) { p, _ throws(OSVRecordError) in
            var entry = OSVRecord.Severity(type: "", score: "")
            try p.members("an object", nullable: false) { p, key throws(OSVRecordError) in
                switch key {
                case "type": entry.type = try p.string()
                case "score": entry.score = try p.string()
                default: try p.skip()
                }
            }
            result.append(entry)
        }
        return result
    }

    // MARK: Structure

    /// Reads an object (or null when `nullable`), calling `body` at each member's value.
    mutating func members(
        _ expected: String, nullable: Bool, _ body: (inout OSVParser, OSVKey) throws(OSVRecordError) -> Void
    ) throws(OSVRecordError) {
        scanner.skipWhitespace()
        if nullable, try null() { return }
        guard scanner.current == 0x7B else { throw invalid("expected \(expected)") }
        scanner.pos += 1
        scanner.skipWhitespace()
        if scanner.current == 0x7D {
            scanner.pos += 1
            return
        }
        while true {
            guard scanner.current == 0x22 else { throw syntax("a field name in double quotes") }
            let key = try keyBytes()
            scanner.skipWhitespace()
            guard scanner.current == 0x3A else { throw syntax("':' after the field name") }
            scanner.pos += 1
            scanner.skipWhitespace()
            path.append(.key(key))
            try body(&self, OSVKey(bytes: key))
            path.removeLast()
            scanner.skipWhitespace()
            if scanner.current == 0x2C {
                scanner.pos += 1
                scanner.skipWhitespace()
            } else if scanner.current == 0x7D {
                scanner.pos += 1
                return
            } else {
                throw syntax("',' or '}'")
            }
        }
    }

    /// Reads an array (or null when `nullable`), calling `body` at each element.
    mutating func elements(
        _ expected: String, nullable: Bool, _ body: (inout OSVParser, Int) throws(OSVRecordError) -> Void
    ) throws(OSVRecordError) {
        scanner.skipWhitespace()
        if nullable, try null() { return }
        guard scanner.current == 0x5B else { throw invalid("expected \(expected)") }
        scanner.pos += 1
        scanner.skipWhitespace()
        if scanner.current == 0x5D {
            scanner.pos += 1
            return
        }
        var index = 0
        while true {
            path.append(.index(index))
            try body(&self, index)
            path.removeLast()
            index += 1
            scanner.skipWhitespace()
            if scanner.current == 0x2C {
                scanner.pos += 1
                scanner.skipWhitespace()
            } else if scanner.current == 0x5D {
                scanner.pos += 1
                return
            } else {
                throw syntax("',' or ']'")
            }
        }
    }

    private mutating func keyBytes() throws(OSVRecordError) -> UnsafeBufferPointer<UInt8> {
        let token: JSONScanner.StringToken
        do {
            token = try scanner.scanString()
        } catch {
            throw syntax(error)
        }
        guard token.hasEscapes else {
            return UnsafeBufferPointer(start: scanner.base + token.start, count: token.count)
        }
        let decoded = Array(scanner.string(token).utf8)
        let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(decoded.count, 1))
        _ = copy.initialize(from: decoded)
        escapedKeys.append(copy)
        return UnsafeBufferPointer(start: copy.baseAddress, count: decoded.count)
    }

    // MARK: Values

    private mutating func null() throws(OSVRecordError) -> Bool {
        guard scanner.current == 0x6E else { return false }
        do {
            _ = try scanner.scanLiteral()
        } catch {
            throw syntax(error)
        }
        return true
    }

    mutating func skip() throws(OSVRecordError) {
        do {
            try scanner.skipValue(depth: path.count)
        } catch {
            throw syntax(error)
        }
    }

    mutating func string() throws(OSVRecordError) -> String {
        guard scanner.current == 0x22 else { throw invalid("expected a string") }
        do {
            return scanner.string(try scanner.scanString())
        } catch {
            throw syntax(error)
        }
    }

    mutating func nonEmptyString() throws(OSVRecordError) -> String {
        let text = try string()
        guard !text.isEmpty else { throw invalid("expected a non-empty string") }
        return text
    }

    mutating func optionalString() throws(OSVRecordError) -> String? {
        if try null() { return nil }
        return try string()
    }

    /// An array of strings or null; `keep: false` checks and skips them.
    mutating func strings(keep: Bool = true) throws(OSVRecordError) -> [String] {
        var result: [String] = []
        try elements("an array of strings or null", nullable: true) { p, _ throws(OSVRecordError) in
            guard p.scanner.current == 0x22 else { throw p.invalid("expected a string") }
            do throws(CatalogError) {
                let token = try p.scanner.scanString()
                if keep { result.append(p.scanner.string(token)) }
            } catch {
                throw p.syntax(error)
            }
        }
        return result
    }

    /// An RFC 3339 timestamp (the schema's `timestamp`), as epoch seconds.
    mutating func timestamp() throws(OSVRecordError) -> Int64 {
        guard scanner.current == 0x22 else { throw invalid("expected an RFC 3339 timestamp string") }
        let start = scanner.pos
        let text = try string()
        guard let epoch = RFC3339.epochSeconds(text) else {
            throw invalid(
                "\(scanner.excerpt(start, scanner.pos)) is not an RFC 3339 timestamp such as \"2026-11-11T18:00:00Z\"")
        }
        return epoch
    }

    mutating func optionalTimestamp() throws(OSVRecordError) -> Int64? {
        if try null() { return nil }
        return try timestamp()
    }

    // MARK: Errors

    /// `$.affected[2].package`.
    private func pathText() -> String {
        var text = "$"
        for part in path {
            switch part {
            case .key(let bytes): text += "." + String(decoding: bytes, as: UTF8.self)
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }

    /// A value of the wrong type (or, at the end of the entry, a record cut short).
    func invalid(_ message: String) -> OSVRecordError {
        if scanner.pos >= scanner.end { return syntax("a value") }
        return OSVRecordError(path: pathText(), message: message)
    }

    /// Where the scanner stands, as line and column of the entry.
    private func position() -> String {
        var line = 1
        var column = 1
        var i = 0
        while i < min(scanner.pos, scanner.end) {
            if scanner.base[i] == 0x0A {
                line += 1
                column = 1
            } else if scanner.base[i] & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return "line \(line), column \(column)"
    }

    func syntax(_ expected: String) -> OSVRecordError {
        let found = scanner.pos < scanner.end ? "" : " (the entry ends there)"
        return OSVRecordError(path: pathText(), message: "invalid JSON at \(position()): expected \(expected)\(found)")
    }

    /// The scanner's own message, placed by line and column rather than its byte column.
    func syntax(_ error: CatalogError) -> OSVRecordError {
        var message = error.message
        if message.hasPrefix("invalid JSON at column "), let colon = message.firstIndex(of: ":") {
            message = String(message[message.index(after: colon)...]).trimmed
        }
        return OSVRecordError(path: pathText(), message: "invalid JSON at \(position()): \(message)")
    }
}
