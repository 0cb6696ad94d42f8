import Foundation
import SumsyncFormats

// Over 300 lines on purpose: one recursive-descent parser of systemd.time(7)'s calendar grammar, kept
// together so that each production reads next to the ones it calls.

extension CalendarSpec {
    /// Parses a systemd.time(7) calendar event expression.
    ///
    /// Accepts exactly what systemd 252 accepts (weekday lists and ranges, `*`, lists, `a..b`
    /// ranges, `/` repetitions, `~` for days counted from the end of the month, optional and
    /// fractional seconds, two-digit years, `@UNIX-TIME`, the shorthands `minutely` ... `annually`,
    /// and a trailing ` UTC` or IANA zone name), with two deliberate differences: surrounding
    /// whitespace is ignored, and local-zone abbreviations such as `CET` are only accepted when they
    /// are also zone names (they are then taken as that zone, not as "local time, DST forced").
    ///
    /// - Throws: ``ScheduleParseError`` whose message names the offending part, e.g.
    ///   `invalid weekday 'Mox' in 'Mox *-*-* 02:00'`.
    public static func parse(_ text: String) throws(ScheduleParseError) -> CalendarSpec {
        var parser = CalendarExpressionParser(input: text)
        return try parser.parse()
    }
}

/// Recursive-descent parser over the UTF-8 bytes of an expression. It follows systemd's grammar
/// decision by decision (including its odd corners, e.g. `*/5` being invalid) so that validity
/// agrees with `systemd-analyze`, while producing messages that point at the bad fragment.
package struct CalendarExpressionParser {
    typealias Component = CalendarSpec.Component

    /// Elements of one component list together with their source text, for error messages.
    typealias ParsedChain = [(component: Component, text: String)]?

    static let usecPerSec = 1_000_000
    private static let maxListElements = 241
    private static let weekdayNames: [(String, Int)] = [
        ("monday", 0), ("mon", 0), ("tuesday", 1), ("tue", 1), ("wednesday", 2), ("wed", 2),
        ("thursday", 3), ("thu", 3), ("friday", 4), ("fri", 4), ("saturday", 5), ("sat", 5),
        ("sunday", 6), ("sun", 6),
    ]

    let input: String
    private var bytes: [UInt8] = []
    private var pos = 0

    init(input: String) {
        self.input = input
    }

    func fail(_ problem: String, _ fragment: String) -> ScheduleParseError {
        ScheduleParseError(problem, fragment: fragment, input: input)
    }

    mutating func parse() throws(ScheduleParseError) -> CalendarSpec {
        var body = input.trimmingCharacters(in: .whitespaces)
        if body.isEmpty { throw fail("empty calendar expression", "") }
        let zone = try Self.splitZone(&body, error: fail)
        if body.isEmpty { throw fail("missing calendar expression before time zone", input) }
        if let shorthand = Self.shorthand(body.lowercased(), zone: zone) {
            return shorthand
        }
        bytes = Array(body.utf8)
        pos = 0

        var weekdayBits: UInt8 = 0
        try parseWeekdays(into: &weekdayBits)

        var years: ParsedChain = nil
        var months: ParsedChain = nil
        var days: ParsedChain = nil
        var endOfMonth = false
        var hours: ParsedChain
        var minutes: ParsedChain
        var seconds: ParsedChain
        var effectiveZone = zone
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "@") {
            // `@UNIX-TIME` pins every field (in UTC) and leaves no room for a time part.
            let fields = try parseTimestamp()
            (years, months, days, hours, minutes, seconds) = fields
            effectiveZone = .utc
        } else {
            try parseDate(years: &years, months: &months, days: &days, endOfMonth: &endOfMonth)
            (hours, minutes, seconds) = try parseTime()
        }

        // Two-digit years mean 1970...2069, as in systemd.
        if var y = years {
            for i in y.indices {
                y[i].component.start = Self.fixYear(y[i].component.start)
                y[i].component.stop = Self.fixYear(y[i].component.stop)
            }
            years = y
        }
        if days == nil { endOfMonth = false }
        return CalendarSpec(
            weekdays: (weekdayBits == 0 || weekdayBits >= 127) ? nil : weekdayBits,
            years: try finish(years, field: "year", from: 1970, to: 2199),
            months: try finish(months, field: "month", from: 1, to: 12),
            days: try finish(days, field: "day", from: 1, to: endOfMonth ? 28 : 31, fromEnd: endOfMonth),
            hours: try finish(hours, field: "hour", from: 0, to: 23),
            minutes: try finish(minutes, field: "minute", from: 0, to: 59),
            seconds: try finish(seconds, field: "second", from: 0, to: 60 * Self.usecPerSec - 1),
            endOfMonth: endOfMonth,
            zone: effectiveZone)
    }

    // MARK: - Byte helpers

    private var atEnd: Bool { pos >= bytes.count }
    private func peek(_ offset: Int = 0) -> UInt8? {
        pos + offset < bytes.count ? bytes[pos + offset] : nil
    }
    private func text(_ from: Int, _ to: Int) -> String {
        String(decoding: bytes[from..<min(to, bytes.count)], as: UTF8.self)
    }
    /// The fragment from `from` up to the next space, for messages about a whole word.
    private func word(from: Int) -> String {
        var end = from
        while end < bytes.count, bytes[end] != UInt8(ascii: " ") { end += 1 }
        return text(from, end)
    }
    private mutating func skipSpaces() {
        while peek() == UInt8(ascii: " ") { pos += 1 }
    }
    private static func isDigit(_ c: UInt8?) -> Bool { c.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
    private static func isLetter(_ c: UInt8?) -> Bool {
        c.map { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) } ?? false
    }

    // MARK: - Weekdays

    private mutating func parseWeekdays(into bits: inout UInt8) throws(ScheduleParseError) {
        guard Self.isLetter(peek()) else { return }
        var rangeStart: (day: Int, at: Int)?
        while true {
            let tokenStart = pos
            while Self.isLetter(peek()) { pos += 1 }
            var tokenEnd = pos
            let name = text(tokenStart, pos).lowercased()
            let separatorOK = atEnd || [" ", ",", "-", "."].map(UInt8.init(ascii:)).contains(peek()!)
            guard let day = Self.weekdayNames.first(where: { $0.0 == name })?.1, separatorOK else {
                if tokenStart == pos, tokenStart > 0 {
                    // Nothing where a name should be, as in "Mon,,Tue" or "Mon...Fri".
                    throw fail("invalid weekday list", word(from: 0))
                }
                while tokenEnd < bytes.count,
                    ![" ", ",", "."].map(UInt8.init(ascii:)).contains(bytes[tokenEnd])
                { tokenEnd += 1 }
                let fragment = text(tokenStart, max(tokenEnd, tokenStart + 1))
                let whole = tokenStart == 0 && tokenEnd >= bytes.count && Self.isLetter(bytes.first)
                throw fail(whole ? "unknown calendar shorthand or weekday" : "invalid weekday", fragment)
            }
            bits |= 1 << day
            if let range = rangeStart {
                if range.day > day { throw fail("weekday range runs backwards", text(range.at, pos)) }
                for j in stride(from: range.day + 1, to: day, by: 1) { bits |= 1 << j }
            }
            guard let sep = peek() else { return }
            if sep == UInt8(ascii: " ") {
                skipSpaces()
                return
            }
            if sep == UInt8(ascii: ".") || sep == UInt8(ascii: "-") {
                if let range = rangeStart {
                    throw fail("invalid weekday range", word(from: range.at))
                }
                if sep == UInt8(ascii: "."), peek(1) != UInt8(ascii: ".") {
                    throw fail("invalid weekday separator (use '..' for ranges)", word(from: tokenStart))
                }
                rangeStart = (day, tokenStart)
                pos += sep == UInt8(ascii: ".") ? 2 : 1
            } else {  // ","
                rangeStart = nil
                pos += 1
            }
            if atEnd || peek() == UInt8(ascii: " ") {
                skipSpaces()
                if let range = rangeStart {
                    throw fail("open weekday range", text(range.at, pos).trimmingCharacters(in: .whitespaces))
                }
                return
            }
        }
    }

    // MARK: - Date and time

    private mutating func parseTimestamp() throws(ScheduleParseError) -> (
        ParsedChain, ParsedChain, ParsedChain, ParsedChain, ParsedChain, ParsedChain
    ) {
        let start = pos
        pos += 1
        let digitsStart = pos
        while Self.isDigit(peek()) { pos += 1 }
        guard pos > digitsStart, atEnd, let seconds = Int(text(digitsStart, pos)),
            seconds < 253_402_300_800
        else { throw fail("invalid timestamp", word(from: start)) }
        let fields = CivilTime(utcSeconds: Int64(seconds))
        let label = text(start, pos)
        func one(_ v: Int) -> ParsedChain { [(Component(start: v), label)] }
        return (
            one(fields.year), one(fields.month + 1), one(fields.day), one(fields.hour),
            one(fields.minute), one(fields.second * Self.usecPerSec)
        )
    }

    private mutating func parseDate(
        years: inout ParsedChain, months: inout ParsedChain, days: inout ParsedChain,
        endOfMonth: inout Bool
    ) throws(ScheduleParseError) {
        guard !atEnd else { return }
        let dateStart = pos
        let first = try parseChain(microseconds: false)
        // Followed by ':' or nothing: that was an hour, so there is no date part.
        if atEnd || peek() == UInt8(ascii: ":") {
            pos = dateStart
            return
        }
        endOfMonth = try dateSeparator(dateStart: dateStart)
        let second = try parseChain(microseconds: false)
        if atEnd || peek() == UInt8(ascii: " ") {
            months = first
            days = second
            skipSpaces()
            return
        }
        if endOfMonth { throw fail("'~' may only separate month and day", word(from: dateStart)) }
        endOfMonth = try dateSeparator(dateStart: dateStart)
        let third = try parseChain(microseconds: false)
        guard atEnd || peek() == UInt8(ascii: " ") else { throw fail("invalid date", word(from: dateStart)) }
        years = first
        months = second
        days = third
        skipSpaces()
    }

    /// Consumes '-' or '~' (returning true for '~', the end-of-month marker).
    private mutating func dateSeparator(dateStart: Int) throws(ScheduleParseError) -> Bool {
        let sep = bytes[pos]
        guard sep == UInt8(ascii: "~") || sep == UInt8(ascii: "-") else {
            throw fail("invalid date", word(from: dateStart))
        }
        pos += 1
        return sep == UInt8(ascii: "~")
    }

    private mutating func parseTime() throws(ScheduleParseError) -> (ParsedChain, ParsedChain, ParsedChain) {
        let midnight: ParsedChain = [(Component(start: 0), "00")]
        guard !atEnd else { return (midnight, midnight, midnight) }
        let timeStart = pos
        let hours = try parseChain(microseconds: false)
        guard peek() == UInt8(ascii: ":") else { throw fail("invalid time", word(from: timeStart)) }
        pos += 1
        let minutes = try parseChain(microseconds: false)
        if atEnd { return (hours, minutes, midnight) }
        guard peek() == UInt8(ascii: ":") else {
            throw fail("unexpected text after time", text(pos, bytes.count).trimmingCharacters(in: .whitespaces))
        }
        pos += 1
        let seconds = try parseChain(microseconds: true)
        guard atEnd else { throw fail("unexpected text after time", text(pos, bytes.count)) }
        return (hours, minutes, seconds)
    }

    // MARK: - Component lists

    private mutating func parseChain(microseconds: Bool) throws(ScheduleParseError) -> ParsedChain {
        let chainStart = pos
        if peek() == UInt8(ascii: "*") {
            pos += 1
            if let next = peek(), next == UInt8(ascii: "/") || next == UInt8(ascii: ".") || Self.isDigit(next) {
                throw fail("'*' cannot carry a range or repetition (write e.g. '0/5')", componentText(from: chainStart))
            }
            return microseconds ? [(Component(start: 0, repeatStep: Self.usecPerSec), "*")] : nil
        }
        var chain: [(component: Component, text: String)] = []
        while true {
            let start = pos
            chain.append((try parseComponent(microseconds: microseconds), text(start, pos)))
            guard peek() == UInt8(ascii: ",") else { break }
            if chain.count >= Self.maxListElements { throw fail("too many list elements", text(chainStart, pos)) }
            pos += 1
        }
        return chain
    }

    /// Text of one list element starting at `from`, for messages.
    private func componentText(from: Int) -> String {
        var end = from
        let stops: [UInt8] = [" ", ",", "-", "~", ":"].map(UInt8.init(ascii:))
        while end < bytes.count, !stops.contains(bytes[end]) { end += 1 }
        return text(from, max(end, min(from + 1, bytes.count)))
    }

    private mutating func parseComponent(microseconds: Bool) throws(ScheduleParseError) -> Component {
        let start = pos
        let unit = microseconds ? Self.usecPerSec : 1
        let first = try parseNumber(microseconds: microseconds, elementStart: start)
        var component = Component(start: first)
        if peek() == UInt8(ascii: "."), peek(1) == UInt8(ascii: ".") {
            pos += 2
            component.stop = try parseNumber(microseconds: microseconds, elementStart: start)
            component.repeatStep = unit
        }
        if peek() == UInt8(ascii: "/") {
            pos += 1
            component.repeatStep = try parseNumber(microseconds: microseconds, elementStart: start)
            if component.repeatStep == 0 { throw fail("repetition must not be zero", componentText(from: start)) }
        } else if microseconds, component.stop >= 0, component.start + component.repeatStep > component.stop {
            // A seconds range narrower than one second would need a sub-second step.
            throw fail("sub-second range needs an explicit repetition", componentText(from: start))
        }
        if let next = peek(), ![" ", ",", "-", "~", ":"].map(UInt8.init(ascii:)).contains(next) {
            throw fail("invalid component", componentText(from: start))
        }
        return component
    }

    private mutating func parseNumber(microseconds: Bool, elementStart: Int) throws(ScheduleParseError) -> Int {
        guard Self.isDigit(peek()) else { throw fail("expected a number", componentText(from: elementStart)) }
        var value = 0
        while Self.isDigit(peek()) {
            value = value * 10 + Int(peek()! - 0x30)
            pos += 1
            if value > Int(Int32.max) { throw fail("number out of range", componentText(from: elementStart)) }
        }
        if microseconds {
            value *= Self.usecPerSec
            // One "." is a decimal point, ".." a range separator.
            if peek() == UInt8(ascii: "."), peek(1) != UInt8(ascii: ".") {
                pos += 1
                guard Self.isDigit(peek()) else { throw fail("invalid fraction", componentText(from: elementStart)) }
                var fraction = 0
                for _ in 0..<6 {
                    fraction *= 10
                    if Self.isDigit(peek()) {
                        fraction += Int(peek()! - 0x30)
                        pos += 1
                    }
                }
                if let c = peek(), c >= UInt8(ascii: "5"), c <= UInt8(ascii: "9") { fraction += 1 }
                while Self.isDigit(peek()) { pos += 1 }
                value += fraction
            }
            if value > Int(Int32.max) { throw fail("number out of range", componentText(from: elementStart)) }
        }
        return value
    }
}
