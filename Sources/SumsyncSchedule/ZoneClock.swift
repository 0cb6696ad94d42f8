import Foundation
import SumsyncFormats

/// Converts between instants and wall-clock fields in one zone the way glibc's `localtime_r` and
/// `mktime` do (or `gmtime_r`/`timegm` when `zone` is nil).
///
/// systemd computes elapses with `mktime`, so its answers around DST transitions are glibc's
/// answers: a time inside a spring-forward gap is moved forward by the gap, and for a time that
/// occurs twice the occurrence is chosen by probing from the offset of the *previous* `mktime`
/// call. That history is why this is a stateful value: `hint` plays the role of glibc's static
/// `localtime_offset`, and the search must make its conversions in the same order as systemd.
package struct ZoneClock {
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
        var older = t
        var newer = t  // glibc's t1 and t2
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
                && (requested < 0 ? (!previousWasDST || info.isDST) : ((requested != 0) != info.isDST))
            {
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
