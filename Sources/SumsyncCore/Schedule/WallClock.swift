import Foundation

/// Broken-down wall-clock time with the loose semantics of C's `struct tm`: fields may be out of
/// range (month 12, day 0, minute 60) until a ``ZoneClock`` normalizes them. The elapse search
/// relies on that, because systemd deliberately lets values overflow and then inspects how the
/// C library normalized them.
struct CivilTime: Equatable, Sendable {
    var year: Int
    /// 0-based, like `tm_mon`.
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int
    /// -1 unknown, 0 standard time, 1 daylight-saving time (`tm_isdst`).
    var isDST: Int = -1
    /// 0 = Sunday; meaningful only after normalization.
    var weekday: Int = 4

    static let secondsPerDay: Int64 = 86_400

    /// Splits seconds since the epoch, read as a wall-clock count, into fields.
    init(utcSeconds seconds: Int64, isDST: Int = 0) {
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
    var linearSeconds: Int64 {
        let y = Int64(year) + Self.floorDiv(Int64(month), 12)
        let m = Int(Self.floorMod(Int64(month), 12))
        let days = Self.days(fromCivilYear: y, month: m + 1, day: 1) + Int64(day) - 1
        return days * Self.secondsPerDay + Int64(hour) * 3600 + Int64(minute) * 60 + Int64(second)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    static func floorMod(_ a: Int64, _ b: Int64) -> Int64 { a - floorDiv(a, b) * b }

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

/// Converts between instants and wall-clock fields in one zone the way glibc's `localtime_r` and
/// `mktime` do (or `gmtime_r`/`timegm` when `zone` is nil).
///
/// systemd computes elapses with `mktime`, so its answers around DST transitions are glibc's
/// answers: a time inside a spring-forward gap is moved forward by the gap, and for a time that
/// occurs twice the occurrence is chosen by probing from the offset of the *previous* `mktime`
/// call. That history is why this is a stateful value: `hint` plays the role of glibc's static
/// `localtime_offset`, and the search must make its conversions in the same order as systemd.
struct ZoneClock {
    let zone: TimeZone?
    /// `t - wallClockSeconds` of the last successful conversion.
    private var hint: Int64 = 0

    init(zone: TimeZone?) {
        self.zone = zone
    }

    private func offsetAndDST(at t: Int64) -> (offset: Int64, isDST: Bool) {
        guard let zone else { return (0, false) }
        let date = Date(timeIntervalSince1970: TimeInterval(t))
        var dst = zone.isDaylightSavingTime(for: date)
        if let since = Self.negativeDSTSince[zone.identifier], t >= since { dst.toggle() }
        return (Int64(zone.secondsFromGMT(for: date)), dst)
    }

    /// Zones whose tzdata (as compiled for glibc) models the *winter* (or Ramadan) offset as
    /// "daylight saving" with a negative save, while Foundation's ICU data reports the usual
    /// summer DST. glibc's `tm_isdst`, which decides gap handling in `mktime`, is then the
    /// inverse of Foundation's flag, from the date the negative-save rules begin.
    private static let negativeDSTSince: [String: Int64] = [
        "Europe/Dublin": 57_722_400,  // 1971-10-31T02:00:00Z
        "Eire": 57_722_400,
        "Africa/Casablanca": 1_540_692_000,  // 2018-10-28T02:00:00Z
        "Africa/El_Aaiun": 1_540_692_000,
    ]

    /// `localtime_r`: the wall-clock fields of instant `t`.
    func breakDown(_ t: Int64) -> CivilTime {
        let (offset, dst) = offsetAndDST(at: t)
        return CivilTime(utcSeconds: t + offset, isDST: dst ? 1 : 0)
    }

    /// `mktime`: the instant for (possibly out-of-range) fields, which are replaced by the
    /// normalized fields of that instant. Returns nil where glibc fails (it then leaves `tm` alone).
    mutating func normalize(_ tm: inout CivilTime) -> Int64? {
        let wall = tm.linearSeconds
        guard zone != nil else {
            tm = CivilTime(utcSeconds: wall)
            return wall
        }
        let requested = tm.isDST
        var t = wall + hint
        var older = t, newer = t  // glibc's t1 and t2
        var previousWasDST = false
        var probesLeft = 6
        var resolved = false
        var info = offsetAndDST(at: t)
        while true {
            let error = wall - (t + info.offset)
            if error == 0 { break }
            // Oscillating between two instants means the wall time falls in a gap: settle on
            // one of them, preferring the DST side when no isdst was requested (glibc's rule).
            if t == older && t != newer
                && (requested < 0 ? (!previousWasDST || info.isDST) : ((requested != 0) != info.isDST)) {
                resolved = true
                break
            }
            probesLeft -= 1
            if probesLeft == 0 { return nil }
            older = newer
            newer = t
            t += error
            previousWasDST = info.isDST
            info = offsetAndDST(at: t)
        }
        if !resolved, requested >= 0, (requested != 0) != info.isDST {
            // The wall time exists but with the other isdst: borrow the offset of a nearby
            // instant that has the requested isdst, as glibc does.
            guard let found = nearbyInstant(wall: wall, around: t, wantDST: requested != 0) else { return nil }
            t = found
        }
        hint = t - wall
        tm = breakDown(t)
        return t
    }

    private func nearbyInstant(wall: Int64, around t: Int64, wantDST: Bool) -> Int64? {
        let stride: Int64 = 601_200
        let bound: Int64 = 536_454_000 / 2 + stride
        var delta = stride
        while delta < bound {
            for direction: Int64 in [-1, 1] {
                let probe = t + delta * direction
                let info = offsetAndDST(at: probe)
                if info.isDST == wantDST {
                    return probe + (wall - (probe + info.offset))
                }
            }
            delta += stride
        }
        return nil
    }
}
