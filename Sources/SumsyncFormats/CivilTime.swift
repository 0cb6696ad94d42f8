import Foundation

/// Broken-down wall-clock time with the loose semantics of C's `struct tm`: fields may be out of
/// range (month 12, day 0, minute 60) until a ``ZoneClock`` normalizes them. The elapse search
/// relies on that, because systemd deliberately lets values overflow and then inspects how the
/// C library normalized them.
package struct CivilTime: Equatable, Sendable {
    package var year: Int
    /// 0-based, like `tm_mon`.
    package var month: Int
    package var day: Int
    package var hour: Int
    package var minute: Int
    package var second: Int
    /// -1 unknown, 0 standard time, 1 daylight-saving time (`tm_isdst`).
    package var isDST: Int = -1
    /// 0 = Sunday; meaningful only after normalization.
    package var weekday: Int = 4

    static let secondsPerDay: Int64 = 86_400

    /// Splits seconds since the epoch, read as a wall-clock count, into fields.
    package init(utcSeconds seconds: Int64, isDST: Int = 0) {
        let days = Self.floorDiv(seconds, Self.secondsPerDay)
        let rest = Int(seconds - days * Self.secondsPerDay)
        (year, month, day) = Self.civil(fromDays: days)
        hour = rest / 3600
        minute = rest / 60 % 60
        second = rest % 60
        self.isDST = isDST
        weekday = Int(Self.floorMod(days + 4, 7))  // 1970-01-01 was a Thursday
    }

    /// The fields read as a UTC wall clock, with overflowing fields carried linearly
    /// (month 12 is January of the next year, day 0 the last day of the previous month...).
    package var linearSeconds: Int64 {
        let y = Int64(year) + Self.floorDiv(Int64(month), 12)
        let m = Int(Self.floorMod(Int64(month), 12))
        let days = Self.days(fromCivilYear: y, month: m + 1, day: 1) + Int64(day) - 1
        return days * Self.secondsPerDay + Int64(hour) * 3600 + Int64(minute) * 60 + Int64(second)
    }

    package static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    package static func floorMod(_ a: Int64, _ b: Int64) -> Int64 { a - floorDiv(a, b) * b }

    /// Days since 1970-01-01 of a proleptic Gregorian date, counted in 400-year eras whose
    /// years start in March so that the leap day falls at the end of each year.
    static func days(fromCivilYear year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yearOfEra = y - era * 400
        let monthFromMarch = Int64((month + 9) % 12)
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Inverse of ``days(fromCivilYear:month:day:)``; returns a 0-based month.
    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = floorDiv(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month - 1), Int(day))
    }
}

extension CivilTime {
    package init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        self.init(utcSeconds: 0)
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }
}
