#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Numbers, literals, and skipping any JSON value: what unknown fields need, and what typed fields
/// build on. Everything is validated as strictly as RFC 8259 asks, so a line that passes is valid JSON.
extension JSONScanner {
    /// Scans a JSON number; `integer` is set when it has no fraction or exponent and fits in Int64.
    mutating func scanNumber() throws(CatalogError) -> NumberToken {
        let start = pos
        var i = pos
        var negative = false
        if byte(i) == 0x2D {
            negative = true
            i += 1
        }
        guard byte(i) &- 0x30 < 10 else { throw syntaxError("a digit", at: i) }
        var magnitude: UInt64 = 0
        var overflow = false
        if byte(i) == 0x30 {
            i += 1
        } else {
            while byte(i) &- 0x30 < 10 {
                let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(UInt64(byte(i) &- 0x30))
                magnitude = m2
                overflow = overflow || o1 || o2
                i += 1
            }
        }
        var isInteger = true
        if byte(i) == 0x2E {
            isInteger = false
            i += 1
            guard byte(i) &- 0x30 < 10 else { throw syntaxError("a digit after '.'", at: i) }
            while byte(i) &- 0x30 < 10 { i += 1 }
        }
        if byte(i) == 0x65 || byte(i) == 0x45 {
            isInteger = false
            i += 1
            if byte(i) == 0x2B || byte(i) == 0x2D { i += 1 }
            guard byte(i) &- 0x30 < 10 else { throw syntaxError("a digit in the exponent", at: i) }
            while byte(i) &- 0x30 < 10 { i += 1 }
        }
        pos = i
        var integer: Int64?
        if isInteger && !overflow {
            if negative {
                integer = magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
            } else {
                integer = magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
            }
        }
        return NumberToken(start: start, end: i, integer: integer)
    }

    /// Matches `true`, `false` or `null` at `pos` and advances past it.
    mutating func scanLiteral() throws(CatalogError) -> UInt8 {
        let first = current
        let word: StaticString = first == 0x74 ? "true" : first == 0x66 ? "false" : "null"
        let n = word.utf8CodeUnitCount
        guard pos + n <= end, memcmp(base + pos, word.utf8Start, n) == 0 else {
            throw syntaxError("a JSON value")
        }
        pos += n
        return first
    }

    // MARK: Skipping

    /// Validates and skips any JSON value (the values of unknown fields).
    mutating func skipValue(depth: Int = 0) throws(CatalogError) {
        switch current {
        case 0x22: _ = try scanString()
        case 0x2D, 0x30...0x39: _ = try scanNumber()
        case 0x74, 0x66, 0x6E: _ = try scanLiteral()
        case 0x5B, 0x7B:
            guard depth < Self.maxDepth else { throw syntaxError("at most \(Self.maxDepth) levels of nesting") }
            let isObject = current == 0x7B
            let close: UInt8 = isObject ? 0x7D : 0x5D
            pos += 1
            skipWhitespace()
            if current == close {
                pos += 1
                return
            }
            while true {
                if isObject {
                    _ = try scanString()
                    skipWhitespace()
                    guard current == 0x3A else { throw syntaxError("':' after a field name") }
                    pos += 1
                    skipWhitespace()
                }
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if current == 0x2C {
                    pos += 1
                    skipWhitespace()
                } else if current == close {
                    pos += 1
                    return
                } else {
                    throw syntaxError(isObject ? "',' or '}'" : "',' or ']'")
                }
            }
        default:
            throw syntaxError("a JSON value")
        }
    }
}
