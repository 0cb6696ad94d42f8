/// A byte-level JSON tokenizer over one catalog line.
///
/// It never builds a tree: the record parser asks for the next key and then for a value of the type it
/// expects, and everything else (unknown fields, nested or not) is validated and skipped in place.
/// Strings are returned as byte ranges; only the fields a record keeps become `String`s. This is what
/// makes the parser several times faster than `JSONDecoder` and free of per-field allocations.
package struct JSONScanner {
    /// A string token: the bytes between the quotes, still escaped when `hasEscapes`.
    struct StringToken {
        var start: Int
        var end: Int
        var hasEscapes: Bool
        var count: Int { end - start }
    }

    /// A number token and, when it is an integer that fits, its value.
    struct NumberToken {
        var start: Int
        var end: Int
        var integer: Int64?
    }

    let base: UnsafePointer<UInt8>
    let end: Int
    let line: Int
    var pos = 0

    /// Deep nesting in unknown fields is legal JSON but never useful in a catalog; the cap keeps the
    /// recursive skipper's stack use bounded.
    static let maxDepth = 64

    /// Eight bytes at `i` (unaligned), byte `i` in the low bits.
    @inline(__always)
    func word(at i: Int) -> UInt64 { UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) }

    /// The high bit of each byte of `w` that is `"`, `\\`, below 0x20 or non-ASCII (Mycroft's
    /// has-zero-byte trick). Bits above the lowest set one may be false positives; the lowest is exact.
    @inline(__always)
    static func specialBytes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let quote = w ^ (ones &* 0x22)
        let backslash = w ^ (ones &* 0x5C)
        return (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((w &- ones &* 0x20) & ~w) | w)
            & high
    }

    init(base: UnsafePointer<UInt8>, count: Int, line: Int) {
        self.base = base
        self.end = count
        self.line = line
    }

    /// The byte at `i`, or 0 past the end: 0 is invalid everywhere in JSON, so callers need no separate
    /// bounds check.
    @inline(__always)
    func byte(_ i: Int) -> UInt8 { i < end ? base[i] : 0 }

    @inline(__always)
    var current: UInt8 { byte(pos) }

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < end {
            let b = base[pos]
            if b > 0x20 { return }  // the usual case: no whitespace between tokens
            guard b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D else { return }
            pos += 1
        }
    }

    // MARK: Errors

    /// `invalid JSON at column C: …`; at the end of the line it says so, since that usually means the
    /// line was truncated.
    func syntaxError(_ expected: String, at position: Int? = nil) -> CatalogError {
        let at = position ?? pos
        let what: String
        if at >= end {
            what = "unexpected end of line, expected \(expected)"
        } else {
            let b = base[at]
            let shown = b >= 0x20 && b < 0x7F ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
            what = "expected \(expected), found \(shown)"
        }
        return CatalogError(line: line, message: "invalid JSON at column \(at + 1): \(what)", code: .invalidJSON)
    }

    func utf8Error(at offset: Int) -> CatalogError {
        CatalogError(line: line, message: "not valid UTF-8 (byte offset \(offset))", code: .invalidUTF8)
    }

    /// The JSON text of `start..<end`, shortened for messages (`"x"`, `[1,2]`, `{"a":…`).
    func excerpt(_ start: Int, _ stop: Int) -> String {
        let limit = 40
        if stop - start <= limit {
            return String(decoding: UnsafeBufferPointer(start: base + start, count: stop - start), as: UTF8.self)
        }
        var cut = start + limit - 1
        while cut > start, base[cut] & 0xC0 == 0x80 { cut -= 1 }  // don't split a UTF-8 sequence
        return String(decoding: UnsafeBufferPointer(start: base + start, count: cut - start), as: UTF8.self) + "…"
    }

    // MARK: Strings

    /// Scans a string starting at the opening quote; leaves `pos` after the closing quote.
    /// Validates escapes (including surrogate pairs), control characters and UTF-8.
    mutating func scanString() throws(CatalogError) -> StringToken {
        guard current == 0x22 else { throw syntaxError("a string") }
        var i = pos + 1
        let start = i
        var hasEscapes = false
        while true {
            // Fast path: skip plain ASCII (no quote, backslash, control or non-ASCII) sixteen bytes at a
            // time, and land exactly on the first byte that needs a look. SWAR rather than SIMD16<UInt8>:
            // Swift 6.3 scalarises those generic vector operations into a per-byte loop (30× slower).
            while i + 16 <= end {
                let first = Self.specialBytes(word(at: i))
                let second = Self.specialBytes(word(at: i + 8))
                if first | second != 0 {
                    i += first != 0 ? first.trailingZeroBitCount >> 3 : 8 + second.trailingZeroBitCount >> 3
                    break
                }
                i += 16
            }
            if i + 16 > end {
                while i + 8 <= end {
                    let mask = Self.specialBytes(word(at: i))
                    if mask != 0 {
                        i += mask.trailingZeroBitCount >> 3
                        break
                    }
                    i += 8
                }
            }
            guard i < end else { throw syntaxError("'\"' to end the string", at: end) }
            let b = base[i]
            if b == 0x22 { break }
            if b == 0x5C {
                hasEscapes = true
                i = try scanEscape(at: i)
            } else if b < 0x20 {
                throw syntaxError("a string without raw control characters (escape them)", at: i)
            } else if b < 0x80 {
                i += 1
            } else {
                guard let length = UTF8Validator.sequenceLength(base + i, available: end - i) else {
                    throw utf8Error(at: i)
                }
                i += length
            }
        }
        pos = i + 1
        return StringToken(start: start, end: i, hasEscapes: hasEscapes)
    }

    /// Validates the escape at `i` (the backslash) and returns the index after it.
    private func scanEscape(at i: Int) throws(CatalogError) -> Int {
        switch byte(i + 1) {
        case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:  // " \ / b f n r t
            return i + 2
        case 0x75:  // u
            guard let unit = hex4(at: i + 2) else {
                var bad = i + 2
                while bad < i + 6, byte(bad).isHexDigit { bad += 1 }
                throw syntaxError("four hex digits after \\u", at: bad)
            }
            if unit >= 0xDC00 && unit <= 0xDFFF {
                throw syntaxError("a high surrogate before the low surrogate \\u\(String(unit, radix: 16))", at: i)
            }
            if unit >= 0xD800 && unit <= 0xDBFF {
                // A high surrogate must be followed by a low one; a lone surrogate has no UTF-8 form.
                guard byte(i + 6) == 0x5C, byte(i + 7) == 0x75, let low = hex4(at: i + 8),
                    low >= 0xDC00 && low <= 0xDFFF
                else { throw syntaxError("a low surrogate \\uDC00-\\uDFFF after a high surrogate", at: i + 6) }
                return i + 12
            }
            return i + 6
        default:
            throw syntaxError("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", at: i + 1)
        }
    }

    @inline(__always)
    func hex4(at i: Int) -> UInt32? {
        guard i + 4 <= end else { return nil }
        var value: UInt32 = 0
        for k in i..<(i + 4) {
            let b = base[k]
            let digit: UInt8
            switch b {
            case 0x30...0x39: digit = b - 0x30
            case 0x41...0x46: digit = b - 0x41 + 10
            case 0x61...0x66: digit = b - 0x61 + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// The decoded `String` of a scanned token. Without escapes the bytes are already valid UTF-8 and are
    /// copied as is; with escapes they are decoded first into scratch space of the raw length (decoding
    /// never grows the text).
    func string(_ token: StringToken) -> String {
        if !token.hasEscapes {
            return String(decoding: UnsafeBufferPointer(start: base + token.start, count: token.count), as: UTF8.self)
        }
        // Scratch on the stack (heap for huge values), then one copy into the String:
        // `String(unsafeUninitializedCapacity:)` measured twice as slow, as it re-validates generically.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: token.count) { scratch in
            let count = decode(token, into: scratch.baseAddress!)
            return String(decoding: UnsafeBufferPointer(rebasing: scratch[..<count]), as: UTF8.self)
        }
    }

    /// Decodes an already validated token into `out` and returns the number of bytes written.
    func decode(_ token: StringToken, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var i = token.start
        var n = 0
        while i < token.end {
            // Copy the run up to the next backslash in one go.
            var run = i
            while run < token.end, base[run] != 0x5C { run += 1 }
            if run > i {
                (out + n).update(from: base + i, count: run - i)
                n += run - i
                i = run
                if i == token.end { break }
            }
            let e = base[i + 1]
            i += 2
            switch e {
            case 0x62:
                out[n] = 0x08
                n += 1
            case 0x66:
                out[n] = 0x0C
                n += 1
            case 0x6E:
                out[n] = 0x0A
                n += 1
            case 0x72:
                out[n] = 0x0D
                n += 1
            case 0x74:
                out[n] = 0x09
                n += 1
            case 0x75:
                var scalar = hex4(at: i)!
                i += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = hex4(at: i + 2)!
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                for unit in UTF8.encode(Unicode.Scalar(scalar)!)! {
                    out[n] = unit
                    n += 1
                }
            default:
                out[n] = e
                n += 1  // " \ /
            }
        }
        return n
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool { self &- 0x30 < 10 || (self | 0x20) &- 0x61 < 6 }
}
