import Foundation

/// The parts of parsing that are not grammar: the zone suffix, the shorthands, and the
/// normalization and range checks systemd applies after parsing.
extension CalendarExpressionParser {
    // MARK: - Time zone suffix and shorthands

    static func splitZone(
        _ body: inout String, error: (String, String) -> ScheduleParseError
    ) throws(ScheduleParseError) -> CalendarSpec.Zone {
        if body.lowercased().hasSuffix(" utc") {
            body = String(body.dropLast(4)).trimmingCharacters(in: .whitespaces)
            return .utc
        }
        guard let space = body.lastIndex(of: " ") else { return .local }
        let word = String(body[body.index(after: space)...])
        if let tz = timeZone(named: word) {
            body = String(body[..<space]).trimmingCharacters(in: .whitespaces)
            return word == "UTC" ? .utc : .named(tz)
        }
        // Letters can only appear in the first word (weekdays) of a multi-word expression, so a
        // last word that starts with a letter and is no time must have been meant as a zone.
        if let first = word.unicodeScalars.first, CharacterSet.letters.contains(first), !word.contains(":") {
            throw error("unknown time zone", word)
        }
        return .local
    }

    /// Resolves an IANA zone name, restricted to the characters systemd allows in one. Names that
    /// Foundation only understands by rewriting them (`GMT+5` becomes `GMT+0500`) are refused, as
    /// they are no tzdata names and systemd refuses them too; `UTC` (Foundation says `GMT`) is fine.
    static func timeZone(named name: String) -> TimeZone? {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.hasSuffix("/"), !name.contains("//"),
            name.utf8.allSatisfy({ c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                    || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: "+")
                    || c == UInt8(ascii: "/")
            })
        else { return nil }
        guard let zone = TimeZone(identifier: name), zone.identifier == name || name == "UTC" else { return nil }
        return zone
    }

    static func shorthand(_ word: String, zone: CalendarSpec.Zone) -> CalendarSpec? {
        let zero: [Component] = [Component(start: 0)]
        let first: [Component] = [Component(start: 1)]
        func make(
            weekdays: UInt8? = nil, months: [Component]? = nil, days: [Component]? = nil,
            hours: [Component]? = zero, minutes: [Component]? = zero
        ) -> CalendarSpec {
            CalendarSpec(
                weekdays: weekdays, years: nil, months: months, days: days, hours: hours,
                minutes: minutes, seconds: zero, endOfMonth: false, zone: zone)
        }
        switch word {
        case "minutely": return make(hours: nil, minutes: nil)
        case "hourly": return make(hours: nil)
        case "daily": return make()
        case "weekly": return make(weekdays: 1)
        case "monthly": return make(days: first)
        case "yearly", "annually", "anually": return make(months: first, days: first)
        case "quarterly":
            return make(months: [1, 4, 7, 10].map { Component(start: $0) }, days: first)
        case "semiannually", "semi-annually", "biannually", "bi-annually":
            return make(months: [1, 7].map { Component(start: $0) }, days: first)
        default: return nil
        }
    }

    static func fixYear(_ year: Int) -> Int {
        switch year {
        case 0..<70: return year + 2000
        case 70..<100: return year + 1900
        default: return year
        }
    }

    // MARK: - Normalization and validation

    /// Normalizes each element as systemd does (trim a stepped range to its last reachable
    /// value, drop steps that can never fire), checks it against the field's range, then sorts
    /// and de-duplicates the list.
    func finish(
        _ chain: ParsedChain, field: String, from: Int, to: Int, fromEnd: Bool = false
    ) throws(ScheduleParseError) -> CalendarSpec.Chain {
        guard let chain else { return nil }
        var result: [Component] = []
        for (original, source) in chain {
            var c = original
            if c.stop > c.start, c.repeatStep > 0 {
                c.stop -= (c.stop - c.start) % c.repeatStep
            }
            if (c.stop > c.start && c.repeatStep > 0 && c.start + c.repeatStep > c.stop) || c.start == c.stop {
                c.repeatStep = 0
                c.stop = -1
            }
            let range = field == "second" ? "0..59" : "\(from)..\(to)"
            let what = fromEnd ? "day before end of month (after '~')" : field
            if c.start < from || c.start > to {
                throw fail("\(what) out of range \(range)", source)
            }
            if c.repeatStep > to - from {
                throw fail("repetition too large for \(what)", source)
            }
            if c.stop >= 0 {
                if c.stop < from || c.stop > to { throw fail("\(what) out of range \(range)", source) }
                if c.start + c.repeatStep > c.stop { throw fail("empty or backwards \(field) range", source) }
            } else if fromEnd, c.start - c.repeatStep < from {
                // systemd requires room for one step back from the start when counting from the end.
                throw fail("repetition needs a start of at least 1 + step after '~'", source)
            } else if !fromEnd, c.start + c.repeatStep > to {
                throw fail("repetition never repeats within \(field) range \(range)", source)
            }
            result.append(c)
        }
        result.sort()
        var unique: [Component] = []
        for c in result where unique.last != c { unique.append(c) }
        return unique
    }
}
