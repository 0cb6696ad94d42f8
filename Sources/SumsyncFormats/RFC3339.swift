import Foundation

/// Minimal RFC 3339 timestamps, used wherever schedules talk to people and scripts
/// (`sumsyncctl schedule next`, `--after`).
///
/// Pure integer arithmetic instead of `DateFormatter`: formatters are not safe to share between
/// threads and are locale-sensitive, and this needs neither.
public enum RFC3339 {
    /// Formats `date` in UTC without fractional seconds, e.g. `2026-04-05T00:30:00Z`.
    /// Fractions of a second are truncated (toward the past).
    public static func format(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let t = CivilTime(utcSeconds: seconds)
        return "\(pad(t.year, 4))-\(pad(t.month + 1, 2))-\(pad(t.day, 2))T"
            + "\(pad(t.hour, 2)):\(pad(t.minute, 2)):\(pad(t.second, 2))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t`, `z` and a space instead of `T`
    /// are accepted as RFC 3339 allows. Returns nil for anything else, including impossible
    /// dates such as February 30 and leap seconds (`:60`).
    public static func parse(_ text: String) -> Date? {
        var scanner = DigitScanner(Array(text.utf8))
        guard let year = scanner.number(digits: 4), scanner.take("-"),
            let month = scanner.number(digits: 2), scanner.take("-"),
            let day = scanner.number(digits: 2),
            scanner.take("T") || scanner.take("t") || scanner.take(" "),
            let hour = scanner.number(digits: 2), scanner.take(":"),
            let minute = scanner.number(digits: 2), scanner.take(":"),
            let second = scanner.number(digits: 2)
        else { return nil }
        var fraction = 0.0
        if scanner.take(".") {
            var scale = 0.1
            var any = false
            while let d = scanner.digit() {
                fraction += Double(d) * scale
                scale /= 10
                any = true
            }
            guard any else { return nil }
        }
        var offset = 0
        if scanner.take("Z") || scanner.take("z") {
            offset = 0
        } else {
            let sign: Int
            if scanner.take("+") { sign = 1 } else if scanner.take("-") { sign = -1 } else { return nil }
            guard let oh = scanner.number(digits: 2), scanner.take(":"), let om = scanner.number(digits: 2),
                oh <= 23, om <= 59
            else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        }
        guard scanner.atEnd, (1...12).contains(month), day >= 1,
            day <= daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 59
        else { return nil }
        let local =
            CivilTime.days(fromCivilYear: Int64(year), month: month, day: day) * CivilTime.secondsPerDay
            + Int64(hour * 3600 + minute * 60 + second)
        return Date(timeIntervalSince1970: TimeInterval(local - Int64(offset)) + fraction)
    }

    package static func daysInMonth(year: Int, month: Int) -> Int {
        let next =
            month == 12
            ? CivilTime.days(fromCivilYear: Int64(year) + 1, month: 1, day: 1)
            : CivilTime.days(fromCivilYear: Int64(year), month: month + 1, day: 1)
        return Int(next - CivilTime.days(fromCivilYear: Int64(year), month: month, day: 1))
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

/// A cursor over ASCII bytes for fixed-width numeric formats.
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
