/// Strict UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
///
/// The line reader checks every line before the parser sees it, so the common all-ASCII case is tested
/// eight bytes at a time; only lines with non-ASCII text take the per-sequence path.
package enum UTF8Validator {
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The offset of the first byte that does not start a valid UTF-8 sequence, or nil if all are valid.
    static func firstInvalidOffset(_ p: UnsafePointer<UInt8>, count: Int) -> Int? {
        var i = 0
        while i < count {
            // Skip ASCII 32 then 8 bytes at a time; loadUnaligned keeps this legal on any address.
            while i + 32 <= count {
                let q = UnsafeRawPointer(p + i)
                let any =
                    q.loadUnaligned(as: UInt64.self) | q.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                    | q.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
                    | q.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
                if any & highBits != 0 { break }
                i += 32
            }
            while i + 8 <= count,
                UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & highBits == 0
            {
                i += 8
            }
            guard i < count else { break }
            if p[i] < 0x80 {
                i += 1
                continue
            }
            guard let length = sequenceLength(p + i, available: count - i) else { return i }
            i += length
        }
        return nil
    }

    /// The length (2–4) of the valid multi-byte sequence starting at `p`, or nil if it is invalid or cut off.
    @inline(__always)
    static func sequenceLength(_ p: UnsafePointer<UInt8>, available: Int) -> Int? {
        let b0 = p[0]
        @inline(__always) func continuation(_ k: Int) -> Bool { k < available && p[k] & 0xC0 == 0x80 }
        @inline(__always) func within(_ k: Int, _ low: UInt8, _ high: UInt8) -> Bool {
            k < available && p[k] >= low && p[k] <= high
        }
        switch b0 {
        case 0xC2...0xDF:
            return continuation(1) ? 2 : nil
        case 0xE0:
            return within(1, 0xA0, 0xBF) && continuation(2) ? 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(1) && continuation(2) ? 3 : nil
        case 0xED:  // excludes U+D800–U+DFFF (surrogates)
            return within(1, 0x80, 0x9F) && continuation(2) ? 3 : nil
        case 0xF0:
            return within(1, 0x90, 0xBF) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF1...0xF3:
            return continuation(1) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF4:  // up to U+10FFFF
            return within(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : nil
        default:
            return nil
        }
    }
}
