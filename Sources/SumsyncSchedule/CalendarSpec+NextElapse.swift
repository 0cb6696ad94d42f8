import Foundation
import SumsyncFormats

extension CalendarSpec {
    /// The first elapse strictly after `date`, or nil if the expression never elapses again
    /// (a past year, an impossible date such as `*-02-30`, or beyond systemd's year 2199 limit).
    ///
    /// The result equals what `systemd-analyze calendar --base-time=@<date>` (systemd 252 as
    /// shipped by Debian 12, on glibc) prints as "Next elapse", with `localZone` standing in for
    /// `$TZ` when the expression names no zone. Around DST changes this means:
    /// - a wall time that does not exist is skipped: `*-*-* 02:30` does not fire on the day
    ///   Europe/Berlin springs forward, while `*:0/15` continues at 03:00 after 01:45;
    /// - a repeated wall time fires once, in its first (daylight-time) occurrence when the search
    ///   starts before it: `*:0/20` runs 02:20 and 02:40 CEST, then 03:00 CET, and nothing in the
    ///   repeated 02:00–02:59 CET hour.
    ///
    /// `date` is taken with microsecond precision, like systemd's `usec_t`.
    public func nextElapse(after date: Date, localZone: TimeZone) -> Date? {
        guard let next = nextElapse(afterMicroseconds: Self.microseconds(of: date), localZone: localZone) else {
            return nil
        }
        return Date(timeIntervalSince1970: TimeInterval(next) / 1_000_000)
    }

    /// `date` in whole microseconds since the epoch, clamped to about ±36 000 years so that
    /// absurd dates (`.distantFuture`, infinities) cannot trap the integer conversion.
    static func microseconds(of date: Date) -> Int64 {
        let limit = Double(Int64(1) << 60)
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard micros.isFinite else { return micros > 0 ? Int64(limit) : -Int64(limit) }
        return Int64(min(max(micros, -limit), limit))
    }

    /// Microsecond-precision core of ``nextElapse(after:localZone:)``.
    func nextElapse(afterMicroseconds base: Int64, localZone: TimeZone) -> Int64? {
        let zone: TimeZone?
        switch self.zone {
        case .utc: zone = nil
        case .local: zone = localZone
        case .named(let tz): zone = tz
        }
        var search = ElapseSearch(spec: self, clock: ZoneClock(zone: zone))
        return search.next(after: base)
    }
}

/// The elapse search of systemd's calendarspec.c (`find_next`), re-expressed: walk the fields
/// from year down to seconds, bump each to its next matching value, and let the C library's
/// normalization decide what an overflowed or nonexistent wall time means. Reproducing systemd
/// exactly requires mirroring every normalization call in the same order, since the result of
/// each one (around DST changes) depends on the previous one; see ``ZoneClock``.
package struct ElapseSearch {
    typealias Chain = CalendarSpec.Chain

    let spec: CalendarSpec
    var clock: ZoneClock

    private static let usecPerSec: Int64 = 1_000_000
    private static let maxYear = 2199
    /// systemd's guard against endless searches; it reports an error, which we treat as "never".
    private static let maxIterations = 1000

    private enum Match { case unchanged, changed, none }
    private enum Bounds { case inRange, normalized, invalid }

    mutating func next(after base: Int64) -> Int64? {
        let start = base + 1  // strictly after
        var c = clock.breakDown(CivilTime.floorDiv(start, Self.usecPerSec))
        var usec = Int(CivilTime.floorMod(start, Self.usecPerSec))
        let origin = c
        let originUsec = usec
        // Once a candidate failed to move past the start (possible when DST normalization
        // walks backwards), systemd stops forcing isdst = -1 and keeps mktime's own isdst.
        var keepNormalizedDST = false

        func resetBelowDay() {
            c.hour = 0
            c.minute = 0
            c.second = 0
            usec = 0
        }

        for _ in 0..<Self.maxIterations {
            // Fields bumped past their range by the previous round (day 32, hour 24) fold back here.
            _ = clock.normalize(&c)
            if !keepNormalizedDST { c.isDST = -1 }

            var value = c.year
            var match = matchChain(spec.years, value: &value)
            c.year = value
            if match == .changed {
                c.month = 0
                c.day = 1
                resetBelowDay()
            }
            if match == .none || withinBounds(&c) != .inRange { return nil }

            value = c.month + 1
            match = matchChain(spec.months, value: &value)
            c.month = value - 1
            if match == .changed {
                c.day = 1
                resetBelowDay()
            }
            switch match == .none ? .invalid : withinBounds(&c) {
            case .invalid:
                c.year += 1
                c.month = 0
                c.day = 1
                resetBelowDay()
                continue
            case .normalized: continue
            case .inRange: break
            }

            value = c.day
            match = matchChain(spec.days, value: &value, monthOf: spec.endOfMonth ? c : nil)
            c.day = value
            if match == .changed { resetBelowDay() }
            switch match == .none ? .invalid : withinBounds(&c) {
            case .invalid:
                c.month += 1
                c.day = 1
                resetBelowDay()
                continue
            case .normalized: continue
            case .inRange: break
            }

            if !matchesWeekday(c) {
                c.day += 1
                resetBelowDay()
                continue
            }

            value = c.hour
            match = matchChain(spec.hours, value: &value)
            c.hour = value
            if match == .changed {
                c.minute = 0
                c.second = 0
                usec = 0
            }
            switch match == .none ? .invalid : withinBounds(&c) {
            case .invalid:
                c.day += 1
                resetBelowDay()
                continue
            case .normalized: continue  // the hour may not exist today (DST); retry from there
            case .inRange: break
            }

            value = c.minute
            match = matchChain(spec.minutes, value: &value)
            c.minute = value
            if match == .changed {
                c.second = 0
                usec = 0
            }
            switch match == .none ? .invalid : withinBounds(&c) {
            case .invalid:
                c.hour += 1
                c.minute = 0
                c.second = 0
                usec = 0
                continue
            case .normalized: continue
            case .inRange: break
            }

            value = c.second * Int(Self.usecPerSec) + usec
            match = matchChain(spec.seconds, value: &value)
            usec = value % Int(Self.usecPerSec)
            c.second = value / Int(Self.usecPerSec)
            switch match == .none ? .invalid : withinBounds(&c) {
            case .invalid:
                c.minute += 1
                c.second = 0
                usec = 0
                continue
            case .normalized: continue
            case .inRange: break
            }

            // A candidate that is not after the start means normalization went backwards:
            // skip an hour and let mktime pick the DST side from now on (systemd PR #36897,
            // backported to the 252 shipped by Debian 12).
            let order = Self.compareFields(origin, c)
            if order > 0 || (order == 0 && originUsec >= usec + 1) {
                keepNormalizedDST = true
                c.hour += 1
                continue
            }

            guard let t = clock.normalize(&c) else { return nil }
            return t * Self.usecPerSec + Int64(usec)
        }
        return nil
    }

    /// Moves `value` to the smallest matching value ≥ it. Repetitions past a list element's own
    /// bound are not capped when it has no stop, so they may overflow the field on purpose; the
    /// following bounds check then carries into the next larger field.
    private mutating func matchChain(_ chain: Chain, value: inout Int, monthOf tm: CivilTime? = nil) -> Match {
        guard let chain else { return .unchanged }
        var best: Int?
        for component in chain {
            var start = component.start
            var stop = component.stop
            if let tm {
                start = dayFromEndOfMonth(tm, component.start)
                stop = dayFromEndOfMonth(tm, component.stop)
                if stop > 0 { swap(&start, &stop) }
            }
            if start >= value {
                if best.map({ start < $0 }) ?? true { best = start }
            } else if component.repeatStep > 0 {
                let steps = (value - start + component.repeatStep - 1) / component.repeatStep
                let k = start + component.repeatStep * steps
                if (best.map({ k < $0 }) ?? true) && (stop < 0 || k <= stop) { best = k }
            }
        }
        guard let best else { return .none }
        defer { value = best }
        return value != best ? .changed : .unchanged
    }

    /// Day of month that is `day` days from the end (1 = last day) in `tm`'s month, or -1.
    private mutating func dayFromEndOfMonth(_ tm: CivilTime, _ day: Int) -> Int {
        var t = tm
        t.month += 1
        t.day = 1 - day
        guard clock.normalize(&t) != nil, t.month == tm.month else { return -1 }
        return t.day
    }

    /// Normalizes `c` and compares: unchanged is in range; moved forward means `c` named a
    /// nonexistent time, so continue from the normalized one (with the units below the first
    /// changed field reset); moved backward is refused so the search cannot loop.
    private mutating func withinBounds(_ c: inout CivilTime) -> Bounds {
        if c.year > Self.maxYear { return .invalid }
        var t = c
        guard clock.normalize(&t) != nil else { return .invalid }
        let order: Int
        if t.year != c.year {
            order = t.year < c.year ? -1 : 1
            t.month = 0
        } else if t.month != c.month {
            order = t.month < c.month ? -1 : 1
            t.day = 1
        } else if t.day != c.day {
            order = t.day < c.day ? -1 : 1
            t.hour = 0
        } else if t.hour != c.hour {
            order = t.hour < c.hour ? -1 : 1
            t.minute = 0
        } else if t.minute != c.minute {
            order = t.minute < c.minute ? -1 : 1
            t.second = 0
        } else {
            order = t.second == c.second ? 0 : (t.second < c.second ? -1 : 1)
        }
        if order < 0 { return .invalid }
        if order > 0 {
            c = t
            return .normalized
        }
        return .inRange
    }

    /// Field-by-field comparison of two wall-clock times (year first), as systemd compares them.
    private static func compareFields(_ a: CivilTime, _ b: CivilTime) -> Int {
        let lhs = [a.year, a.month, a.day, a.hour, a.minute, a.second]
        let rhs = [b.year, b.month, b.day, b.hour, b.minute, b.second]
        for (x, y) in zip(lhs, rhs) where x != y { return x < y ? -1 : 1 }
        return 0
    }

    private mutating func matchesWeekday(_ c: CivilTime) -> Bool {
        guard let bits = spec.weekdays else { return true }
        var t = c
        guard clock.normalize(&t) != nil else { return false }
        let mondayBased = t.weekday == 0 ? 6 : t.weekday - 1
        return bits & (1 << mondayBased) != 0
    }
}
