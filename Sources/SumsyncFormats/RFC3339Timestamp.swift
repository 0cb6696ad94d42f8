/// Byte-level RFC 3339 (`date-time`) parsing and formatting for catalog timestamps.
///
/// Hand-written rather than `DateFormatter`/`ISO8601DateFormatter` because the catalog parser calls it
/// once or twice per line, 500,000 lines per sync: it allocates nothing and takes a few nanoseconds.
/// Named `RFC3339Timestamp` so it does not clash with the module's other `RFC3339` helper.
public enum RFC3339Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z for `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, or nil when the
    /// bytes are not a valid RFC 3339 date-time.
    ///
    /// Accepts `t`/`z` in lower case (RFC 3339 §5.6 allows it) and second 60 (a leap second, counted as
    /// the first second of the next minute). Fractional seconds are validated and truncated.
    public static func epochSeconds(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let n = bytes.count
        guard n >= 20, let p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        // Fixed layout YYYY-MM-DDTHH:MM:SS: check all separators and digits, then branch once.
        var bad = (p[4] ^ 0x2D) | (p[7] ^ 0x2D) | ((p[10] | 0x20) ^ 0x74) | (p[13] ^ 0x3A) | (p[16] ^ 0x3A)
        @inline(__always) func digit(_ k: Int) -> Int {
            let d = p[k] &- 0x30
            bad |= d > 9 ? 1 : 0
            return Int(d)
        }
        let year = digit(0) * 1_000 + digit(1) * 100 + digit(2) * 10 + digit(3)
        let month = digit(5) * 10 + digit(6)
        let day = digit(8) * 10 + digit(9)
        let hour = digit(11) * 10 + digit(12)
        let minute = digit(14) * 10 + digit(15)
        let second = digit(17) * 10 + digit(18)
        guard bad == 0 else { return nil }
        guard month >= 1, month <= 12, day >= 1, day <= daysIn(month: month, year: year),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }

        var i = 19
        if p[i] == 0x2E {  // '.' then at least one digit
            i += 1
            let start = i
            while i < n, p[i] &- 0x30 < 10 { i += 1 }
            if i == start { return nil }
        }
        guard i < n else { return nil }
        var offsetSeconds = 0
        switch p[i] {
        case 0x5A, 0x7A:  // Z z
            i += 1
        case 0x2B, 0x2D:  // + -
            guard n - i == 6, let oh = digits(p, i + 1, 2), p[i + 3] == 0x3A, let om = digits(p, i + 4, 2),
                oh <= 23, om <= 59
            else { return nil }
            offsetSeconds = (oh * 60 + om) * 60 * (p[i] == 0x2D ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == n else { return nil }

        let days = Int64(daysFromCivil(year: year, month: month, day: day))
        let local = days * 86_400 + Int64(hour * 3_600 + minute * 60 + second)
        return local - Int64(offsetSeconds)
    }

    /// `epochSeconds` for a `String` (convenience for tests and config; the parser uses the byte form).
    public static func epochSeconds(_ string: String) -> Int64? {
        var copy = string
        return copy.withUTF8 { epochSeconds(UnsafeRawBufferPointer($0)) }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` for an epoch second (years 0000–9999).
    public static func format(epochSeconds: Int64) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        append(epochSeconds: epochSeconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `YYYY-MM-DDTHH:MM:SSZ` to `out` without allocating a String (used by the generator).
    static func append(epochSeconds: Int64, to out: inout [UInt8]) {
        let days = epochSeconds >= 0 ? epochSeconds / 86_400 : (epochSeconds - 86_399) / 86_400
        let secs = Int(epochSeconds - days * 86_400)
        let (y, m, d) = civilFromDays(Int(days))
        var text: (UInt64, UInt64, UInt32) = (0, 0, 0)  // 20 bytes on the stack
        withUnsafeMutableBytes(of: &text) { b in
            func put(_ value: Int, _ at: Int, _ width: Int) {
                var v = value
                for k in stride(from: at + width - 1, through: at, by: -1) {
                    b[k] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
                    v /= 10
                }
            }
            put(y, 0, 4)
            b[4] = 0x2D
            put(m, 5, 2)
            b[7] = 0x2D
            put(d, 8, 2)
            b[10] = 0x54
            put(secs / 3_600, 11, 2)
            b[13] = 0x3A
            put(secs / 60 % 60, 14, 2)
            b[16] = 0x3A
            put(secs % 60, 17, 2)
            b[19] = 0x5A
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[0..<20]))
        }
    }

    @inline(__always)
    private static func digits(_ p: UnsafePointer<UInt8>, _ at: Int, _ count: Int) -> Int? {
        var v = 0
        for k in at..<(at + count) {
            let d = p[k] &- 0x30
            guard d < 10 else { return nil }
            v = v * 10 + Int(d)
        }
        return v
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's `days_from_civil`):
    /// exact for every year, no tables, no loops.
    @inline(__always)
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The inverse of `daysFromCivil` (Hinnant's `civil_from_days`).
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
