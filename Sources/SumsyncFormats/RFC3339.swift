import Foundation

/// RFC 3339 timestamps (`date-time`, §5.6): the one reader and writer of the project, for catalog
/// records, history, status, schedules and bundles.
///
/// Byte-level, pure integer arithmetic instead of `DateFormatter`: the catalog parser calls it once or
/// twice per line, 500,000 lines per sync, so it allocates nothing; formatters are also not safe to share
/// between threads and are locale-sensitive, and this needs neither. Dates go through ``CivilTime``.
///
/// Two readers share one grammar and differ only where RFC 3339 leaves a choice (``Leniency``): catalog
/// records take `T` only and accept a leap second (docs/catalog-format.md); what people and scripts type
/// (`sumsyncctl schedule next --after`) may use a space instead of `T`, and a leap second is refused
/// there because it names no instant a schedule can fire at.
public enum RFC3339 {
    /// Where a reader departs from the strict grammar.
    public struct Leniency: Sendable {
        /// A space instead of `T` (RFC 3339 §5.6 allows it "for the sake of readability").
        public var spaceSeparator: Bool
        /// Second 60, counted as the first second of the next minute.
        public var leapSecond: Bool

        /// Catalog records: `T`/`t` only, leap seconds accepted.
        public static let catalog = Leniency(spaceSeparator: false, leapSecond: true)
        /// Typed by people: a space may stand for `T`; no leap second.
        public static let typed = Leniency(spaceSeparator: true, leapSecond: false)
    }

    /// Seconds since 1970-01-01T00:00:00Z for `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` under `leniency`
    /// (lower-case `t`/`z` always), or nil when the bytes are not one. Fractional seconds are validated
    /// and truncated; `fraction` receives their value when asked for.
    public static func epochSeconds(
        _ bytes: UnsafeRawBufferPointer, leniency: Leniency = .catalog, fraction: UnsafeMutablePointer<Double>? = nil
    ) -> Int64? {
        let n = bytes.count
        guard n >= 20, let p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        // Fixed layout YYYY-MM-DDTHH:MM:SS: check all separators and digits, then branch once.
        let separator = p[10] == 0x20 && leniency.spaceSeparator ? UInt8(0x74) : (p[10] | 0x20)
        var bad = (p[4] ^ 0x2D) | (p[7] ^ 0x2D) | (separator ^ 0x74) | (p[13] ^ 0x3A) | (p[16] ^ 0x3A)
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
        guard month >= 1, month <= 12, day >= 1, day <= daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= (leniency.leapSecond ? 60 : 59)
        else { return nil }

        var i = 19
        if p[i] == 0x2E {  // '.' then at least one digit
            i += 1
            let start = i
            var value = 0.0
            var scale = 0.1
            while i < n, p[i] &- 0x30 < 10 {
                if fraction != nil {
                    value += Double(p[i] &- 0x30) * scale
                    scale /= 10
                }
                i += 1
            }
            if i == start { return nil }
            fraction?.pointee = value
        } else {
            fraction?.pointee = 0
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

        let days = CivilTime.days(fromCivilYear: Int64(year), month: month, day: day)
        let local = days * CivilTime.secondsPerDay + Int64(hour * 3_600 + minute * 60 + second)
        return local - Int64(offsetSeconds)
    }

    /// ``epochSeconds(_:leniency:fraction:)`` for a `String`.
    public static func epochSeconds(_ string: String, leniency: Leniency = .catalog) -> Int64? {
        var copy = string
        return copy.withUTF8 { epochSeconds(UnsafeRawBufferPointer($0), leniency: leniency) }
    }

    /// The instant a person or script typed (``Leniency/typed``), fractions of a second kept; nil for
    /// anything else, including impossible dates such as February 30.
    public static func parse(_ text: String) -> Date? {
        var copy = text
        var fraction = 0.0
        guard
            let seconds = copy.withUTF8({
                epochSeconds(UnsafeRawBufferPointer($0), leniency: .typed, fraction: &fraction)
            })
        else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds) + fraction)
    }

    /// `date` in UTC without fractional seconds, e.g. `2026-04-05T00:30:00Z`; fractions of a second are
    /// truncated (toward the past).
    public static func format(_ date: Date) -> String {
        format(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` for an epoch second (years 0000–9999).
    public static func format(epochSeconds: Int64) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        append(epochSeconds: epochSeconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `YYYY-MM-DDTHH:MM:SSZ` to `out` without allocating a String (used by the generator).
    package static func append(epochSeconds: Int64, to out: inout [UInt8]) {
        let t = CivilTime(utcSeconds: epochSeconds)
        var text: (UInt64, UInt64, UInt32) = (0, 0, 0)  // 20 bytes on the stack
        withUnsafeMutableBytes(of: &text) { b in
            func put(_ value: Int, _ at: Int, _ width: Int) {
                var v = value
                for k in stride(from: at + width - 1, through: at, by: -1) {
                    b[k] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
                    v /= 10
                }
            }
            put(t.year, 0, 4)
            b[4] = 0x2D
            put(t.month + 1, 5, 2)
            b[7] = 0x2D
            put(t.day, 8, 2)
            b[10] = 0x54
            put(t.hour, 11, 2)
            b[13] = 0x3A
            put(t.minute, 14, 2)
            b[16] = 0x3A
            put(t.second, 17, 2)
            b[19] = 0x5A
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[0..<20]))
        }
    }

    /// Days in `month` (1–12) of `year` in the proleptic Gregorian calendar.
    package static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
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
}

/// A cursor over ASCII bytes for fixed-width numeric formats (the schedule grammar's dates).
package struct DigitScanner {
    private let bytes: [UInt8]
    private(set) var position = 0

    package init(_ bytes: [UInt8]) { self.bytes = bytes }

    package var atEnd: Bool { position == bytes.count }

    package mutating func take(_ literal: Unicode.Scalar) -> Bool {
        guard position < bytes.count, bytes[position] == UInt8(ascii: literal) else { return false }
        position += 1
        return true
    }

    mutating func digit() -> Int? {
        guard position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 else { return nil }
        position += 1
        return Int(bytes[position - 1] - 0x30)
    }

    /// Exactly `digits` decimal digits.
    package mutating func number(digits: Int) -> Int? {
        let start = position
        var value = 0
        for _ in 0..<digits {
            guard let d = digit() else {
                position = start
                return nil
            }
            value = value * 10 + d
        }
        return value
    }
}
