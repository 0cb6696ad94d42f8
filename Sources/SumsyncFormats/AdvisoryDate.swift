/// The dates of advisories, in the shapes real repositories write them, as epoch seconds (UTC).
///
/// - `2021-09-21 00:00:00`, the same followed by ` UTC`, or without seconds (`2021-09-21 00:00`);
/// - ISO 8601: `2021-09-21T00:00:00`, with `Z`, fractional seconds or an offset (`+02:00`, `+0200`);
/// - a date alone: `2021-09-21`;
/// - Unix seconds: `1632182400` (SUSE's repositories).
///
/// A time without a zone is UTC.
package enum AdvisoryDate {
    /// The epoch seconds of `text`; nil for anything else.
    package static func epochSeconds(_ text: String) -> Int64? {
        let bytes = Array(text.trimmed.utf8)
        guard !bytes.isEmpty else { return nil }
        if bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            // Unix seconds: at most 11 digits (year 5138), so no overflow.
            guard bytes.count <= 11 else { return nil }
            return Int64(String(decoding: bytes, as: UTF8.self))
        }
        var at = 0
        func number(_ width: Int) -> Int? {
            guard at + width <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[at..<at + width] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            at += width
            return value
        }
        func take(_ byte: UInt8) -> Bool {
            guard at < bytes.count, bytes[at] == byte else { return false }
            at += 1
            return true
        }
        guard let year = number(4), take(0x2D), let month = number(2), take(0x2D), let day = number(2),
            (1...12).contains(month), day >= 1, day <= RFC3339.daysInMonth(year: year, month: month)
        else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        var offset = 0
        if at < bytes.count {
            guard take(0x20) || take(0x54) || take(0x74), let h = number(2), take(0x3A), let m = number(2) else {
                return nil
            }
            hour = h
            minute = m
            if take(0x3A) {
                guard let s = number(2) else { return nil }
                second = s
                if take(0x2E) || take(0x2C) {
                    let digits = at
                    while at < bytes.count, bytes[at] >= 0x30, bytes[at] <= 0x39 { at += 1 }
                    guard at > digits else { return nil }
                }
            }
            guard hour <= 23, minute <= 59, second <= 60 else { return nil }
            let rest = String(decoding: bytes[at...], as: UTF8.self)
            switch rest {
            case "", "Z", "z", " UTC", " GMT", "UTC", " Z": break
            default:
                guard let sign = rest.utf8.first, sign == 0x2B || sign == 0x2D else { return nil }
                at += 1
                guard let oh = number(2) else { return nil }
                _ = take(0x3A)
                guard let om = number(2), at == bytes.count, oh <= 23, om <= 59 else { return nil }
                offset = (oh * 3600 + om * 60) * (sign == 0x2B ? 1 : -1)
            }
        }
        let days = CivilTime.days(fromCivilYear: Int64(year), month: month, day: day)
        return days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offset)
    }
}
