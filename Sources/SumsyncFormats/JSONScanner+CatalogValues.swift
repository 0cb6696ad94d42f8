import SumsyncModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Typed value readers for catalog fields: each reads the value at `pos`, validates it against the
/// field's rules and produces the stored form, or throws a message naming the field and quoting the value.
extension JSONScanner {
    /// The allowed values' bytes, for matching without creating a String.
    private static let classificationBytes = CatalogRecord.classifications.map { Array($0.utf8) }
    private static let severityBytes = CatalogRecord.severities.map { Array($0.utf8) }
    private static let allLanguages = ["all"]

    /// Consumes a `null` literal if there is one.
    @inline(__always)
    private mutating func consumeNull() throws(CatalogError) -> Bool {
        guard current == 0x6E else { return false }
        _ = try scanLiteral()
        return true
    }

    mutating func nonEmptyString(_ name: String) throws(CatalogError) -> String {
        let start = pos
        guard current == 0x22 else { throw invalid(name, "a non-empty string", from: start) }
        let token = try scanString()
        guard token.count > 0 else { throw invalid(name, "a non-empty string", from: start) }
        return string(token)
    }

    mutating func optionalString(_ name: String) throws(CatalogError) -> String? {
        if try consumeNull() { return nil }
        guard current == 0x22 else { throw invalid(name, "a string or null", from: pos) }
        return string(try scanString())
    }

    mutating func integerValue(
        _ name: String, minimum: Int64, expected: String, nullable: Bool
    ) throws(CatalogError) -> Int64? {
        let start = pos
        if nullable, try consumeNull() { return nil }
        let b = current
        guard b == 0x2D || b &- 0x30 < 10 else { throw invalid(name, expected, from: start) }
        let number = try scanNumber()
        guard let value = number.integer, value >= minimum, value <= Int64(Int.max) else {
            throw invalid(name, expected, from: start)
        }
        return value
    }

    mutating func boolValue(_ name: String) throws(CatalogError) -> Bool {
        switch current {
        case 0x74, 0x66, 0x6E: return try scanLiteral() == 0x74
        default: throw invalid(name, "true, false or null", from: pos)
        }
    }

    /// The classification, returned as the shared `CatalogRecord.classifications` string.
    /// Advisory sources' lowercase types (`security`, `bugfix`, …) are accepted as written.
    mutating func classificationValue() throws(CatalogError) -> String {
        let start = pos
        if current == 0x22 {
            let token = try scanString()
            if !token.hasEscapes {
                let bytes = UnsafeBufferPointer(start: base + token.start, count: token.count)
                for (k, candidate) in Self.classificationBytes.enumerated()
                where candidate.count == token.count && memcmp(base + token.start, candidate, token.count) == 0 {
                    return CatalogRecord.classifications[k]
                }
                if let first = bytes.first, first >= 0x61, first <= 0x7A {
                    let text = String(decoding: bytes, as: UTF8.self)
                    if Classification.isAdvisoryType(text) { return text }
                }
            }
            pos = start
        }
        return try enumValue(
            "classification", Self.classificationBytes, CatalogRecord.classifications, nullable: false)!
    }

    /// An array of strings, or null for none (`cves`, `packages`).
    mutating func stringArrayValue(_ name: String) throws(CatalogError) -> [String] {
        try arrayValue(name, expected: "an array of strings or null") { scanner throws(CatalogError) in
            scanner.string(try scanner.scanString())
        }
    }

    /// An array (or null for none) whose elements, each at a string's opening quote, `element` reads.
    private mutating func arrayValue(
        _ name: String, expected: String, element: (inout JSONScanner) throws(CatalogError) -> String
    ) throws(CatalogError) -> [String] {
        let start = pos
        if try consumeNull() { return [] }
        guard current == 0x5B else { throw invalid(name, expected, from: start) }
        pos += 1
        skipWhitespace()
        var result: [String] = []
        if current == 0x5D {
            pos += 1
            return result
        }
        while true {
            guard current == 0x22 else { throw invalid(name, expected, from: start) }
            result.append(try element(&self))
            skipWhitespace()
            if current == 0x2C {
                pos += 1
                skipWhitespace()
            } else if current == 0x5D {
                pos += 1
                return result
            } else {
                throw syntaxError("',' or ']'")
            }
        }
    }

    /// The severity (or nil for null), returned as the shared `CatalogRecord.severities` string.
    mutating func severityValue() throws(CatalogError) -> String? {
        try enumValue("severity", Self.severityBytes, CatalogRecord.severities, nullable: true)
    }

    /// A value from a fixed list, matched on the raw bytes so a valid value costs no allocation.
    private mutating func enumValue(
        _ name: String, _ names: [[UInt8]], _ values: [String], nullable: Bool
    ) throws(CatalogError) -> String? {
        let start = pos
        if nullable, try consumeNull() { return nil }
        guard current == 0x22 else {
            let list = values.joined(separator: ", ")
            throw invalid(name, nullable ? "one of \(list) or null" : "a string, one of \(list)", from: start)
        }
        let token = try scanString()
        if token.hasEscapes {
            if let match = values.firstIndex(of: string(token)) { return values[match] }
        } else {
            for (k, candidate) in names.enumerated()
            where candidate.count == token.count && memcmp(base + token.start, candidate, token.count) == 0 {
                return values[k]
            }
        }
        let list = values.joined(separator: ", ")
        if nullable { throw invalid(name, "one of \(list) or null", from: start) }
        throw CatalogError(line: line, message: "unknown \(name) \(excerpt(start, pos)) (expected one of: \(list))")
    }

    /// A GUID string, validated (8-4-4-4-12 hex digits) and lowercased.
    mutating func guidValue(_ name: String) throws(CatalogError) -> String {
        let start = pos
        guard current == 0x22 else { throw invalid(name, "a GUID string", from: start) }
        guard let guid = guid(try scanString()) else {
            throw CatalogError(
                line: line,
                message: "\"\(name)\" is not a GUID (8-4-4-4-12 hex digits), found \(excerpt(start, pos))")
        }
        return guid
    }

    /// The lowercased GUID in a string token, or nil. Escapes are legal JSON, so they are decoded first.
    private func guid(_ token: StringToken) -> String? {
        guard token.hasEscapes else { return Self.lowercasedGUID(base + token.start, token.count) }
        var decoded = string(token)
        return decoded.withUTF8 { Self.lowercasedGUID($0.baseAddress, $0.count) }
    }

    /// The GUID in `bytes` (8-4-4-4-12 hex digits, either case), lowercased; nil for anything else.
    package static func lowercasedGUID(_ bytes: UnsafeRawBufferPointer) -> String? {
        lowercasedGUID(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
    }

    private static func lowercasedGUID(_ p: UnsafePointer<UInt8>?, _ count: Int) -> String? {
        guard count == 36, let p, p[8] == 0x2D, p[13] == 0x2D, p[18] == 0x2D, p[23] == 0x2D else { return nil }
        // Check the 32 hex digits eight at a time (SWAR), in five overlapping words; the bytes known to
        // be hyphens are masked out of each word's check.
        var invalid: UInt64 = 0
        var upper: UInt64 = 0
        @inline(__always) func check(_ offset: Int, hyphens: UInt64) {
            let w = UInt64(littleEndian: UnsafeRawPointer(p + offset).loadUnaligned(as: UInt64.self))
            let (hex, isUpper) = Self.hexBytes(w)
            invalid |= ~(hex | hyphens) & 0x8080_8080_8080_8080
            upper |= isUpper & ~hyphens
        }
        check(0, hyphens: 0)  // 0–7
        check(9, hyphens: 0x80 << 32)  // 9–16, '-' at 13
        check(17, hyphens: 0x80 << 8 | 0x80 << 48)  // 17–24, '-' at 18 and 23
        check(25, hyphens: 0)  // 25–32
        check(28, hyphens: 0)  // 28–35
        if invalid != 0 { return nil }
        if upper == 0 { return String(decoding: UnsafeBufferPointer(start: p, count: 36), as: UTF8.self) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 36) { lowered in
            for k in 0..<36 {
                let b = p[k]
                lowered[k] = b &- 0x41 < 6 ? b | 0x20 : b
            }
            return String(decoding: lowered, as: UTF8.self)
        }
    }

    /// Per byte of `w`, the high bit set if it is a hex digit (`hex`) and if it is `A`–`F` (`upper`).
    /// Range tests without branches: for ASCII `x`, `x + (0x80 - lo)` has its high bit set iff `x >= lo`.
    @inline(__always)
    private static func hexBytes(_ w: UInt64) -> (hex: UInt64, upper: UInt64) {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let ascii = ~w & high
        let x = w & ~high
        @inline(__always) func within(_ v: UInt64, _ low: UInt64, _ top: UInt64) -> UInt64 {
            (v &+ ones &* (0x80 - low)) & ~(v &+ ones &* (0x7F - top)) & high
        }
        let digit = within(x, 0x30, 0x39)
        let letter = within(x | ones &* 0x20, 0x61, 0x66)
        return ((digit | letter) & ascii, within(x, 0x41, 0x46) & ascii)
    }

    /// A non-empty array of non-empty strings; `["all"]` is shared rather than allocated per line.
    mutating func languagesValue() throws(CatalogError) -> [String] {
        let start = pos
        let expected = "a non-empty array of language codes (strings), or [\"all\"]"
        guard current == 0x5B else { throw invalid("languages", expected, from: start) }
        pos += 1
        skipWhitespace()
        var result: [String] = []
        while true {
            guard current == 0x22 else { throw invalid("languages", expected, from: start) }
            let token = try scanString()
            guard token.count > 0 else { throw invalid("languages", expected, from: start) }
            skipWhitespace()
            if current == 0x5D, result.isEmpty, !token.hasEscapes, token.count == 3,
                base[token.start] == 0x61, base[token.start + 1] == 0x6C, base[token.start + 2] == 0x6C  // all
            {
                pos += 1
                return Self.allLanguages
            }
            result.append(string(token))
            if current == 0x2C {
                pos += 1
                skipWhitespace()
            } else if current == 0x5D {
                pos += 1
                return result
            } else {
                throw syntaxError("',' or ']'")
            }
        }
    }

    /// An array of GUID strings (lowercased), or null for none.
    mutating func supersedesValue() throws(CatalogError) -> [String] {
        try arrayValue("supersedes", expected: "an array of GUID strings or null") { scanner throws(CatalogError) in
            let elementStart = scanner.pos
            let token = try scanner.scanString()
            guard let guid = scanner.guid(token) else {
                throw CatalogError(
                    line: scanner.line,
                    message: "\"supersedes\" contains a value that is not a GUID (8-4-4-4-12 hex digits): "
                        + scanner.excerpt(elementStart, scanner.pos))
            }
            return guid
        }
    }

    /// An RFC 3339 timestamp string, kept as written, with its epoch seconds.
    mutating func timestampValue(
        _ name: String, nullable: Bool
    ) throws(CatalogError) -> (text: String, epoch: Int64)? {
        let start = pos
        if nullable, try consumeNull() { return nil }
        // Only built on failure: string concatenation per line would cost more than the parse.
        var expected: String { "an RFC 3339 timestamp such as \"2026-11-11T18:00:00Z\"" + (nullable ? " or null" : "") }
        guard current == 0x22 else { throw invalid(name, expected, from: start) }
        let token = try scanString()
        let text = string(token)
        let epoch =
            token.hasEscapes
            ? RFC3339.epochSeconds(text)  // legal JSON, if odd: decode first
            : RFC3339.epochSeconds(UnsafeRawBufferPointer(start: base + token.start, count: token.count))
        guard let epoch else { throw invalid(name, expected, from: start) }
        return (text, epoch)
    }
}
