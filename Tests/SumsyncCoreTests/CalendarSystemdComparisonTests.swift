import Foundation
import Testing

@testable import SumsyncFormats
@testable import SumsyncSchedule

/// Compares ``CalendarSpec`` with the real `systemd-analyze calendar` (systemd 252) on a fixed,
/// seeded set of generated cases. CI installs systemd; a missing binary is a failure, not a skip,
/// because this suite is the only proof that DST handling matches systemd.
@Suite("CalendarSpec vs systemd-analyze")
struct CalendarSystemdComparisonTests {
    static let iterations = 5

    struct Case: CustomStringConvertible {
        let expression: String
        let baseTime: Int64
        let timeZone: String
        var description: String {
            "TZ=\(timeZone) systemd-analyze calendar --base-time=@\(baseTime) --iterations=\(CalendarSystemdComparisonTests.iterations) '\(expression)'"
        }
    }

    @Test("generated expressions elapse exactly as systemd-analyze says")
    func generatedCasesMatchSystemd() throws {
        try #require(
            SystemdAnalyze.isInstalled,
            "\(SystemdAnalyze.path) is missing: install systemd (apt-get install systemd) to run this comparison")
        let environment = ProcessInfo.processInfo.environment
        let count = environment["SUMSYNC_CALENDAR_CASES"].flatMap(Int.init) ?? 800
        let seed = environment["SUMSYNC_CALENDAR_SEED"].flatMap(UInt64.init) ?? 0x5EED_CA1E
        var generator = CaseGenerator(seed: seed)
        let cases = generator.cases(count: count)

        var compared = 0
        var elapsing = 0
        var never = 0
        var rejected = 0
        var searchFailures = 0
        var mismatches = 0
        let groups = Dictionary(grouping: cases) { (c: Case) in "\(c.timeZone) \(c.baseTime)" }
        for key in groups.keys.sorted() {
            let group = groups[key]!
            let verdicts = try SystemdAnalyze.calendar(
                group.map { $0.expression }, timeZone: group[0].timeZone, baseTime: group[0].baseTime,
                iterations: Self.iterations)
            for (testCase, expected) in zip(group, verdicts) {
                compared += 1
                if expected.searchFailed {
                    searchFailures += 1
                    if let problem = try Self.checkSearchFailure(testCase) {
                        mismatches += 1
                        Issue.record("\(testCase)\n  \(problem)")
                    }
                    continue
                }
                let actual = Self.evaluate(testCase)
                if actual != expected {
                    mismatches += 1
                    if mismatches <= 40 {
                        Issue.record("\(testCase)\n  systemd: \(expected)\n  ours:    \(actual)")
                    }
                }
                switch expected.elapses {
                case nil: rejected += 1
                case let list? where list.isEmpty: never += 1
                default: elapsing += 1
                }
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(compared) cases differ from systemd-analyze")
        #expect(compared >= 200)
        // The generator is only useful if it exercises all three outcomes.
        #expect(
            elapsing > compared / 2 && never > 0 && rejected > 0,
            "elapsing \(elapsing), never \(never), rejected \(rejected)")
        print(
            "calendar comparison: \(compared) cases (\(elapsing) elapsing, \(never) never, \(rejected) rejected, \(searchFailures) systemd search failures), \(mismatches) mismatches"
        )
    }

    /// systemd gave up during one of the iterations and printed nothing. We must give up (return
    /// nil) at the same iteration: check that systemd succeeds with exactly as many iterations as
    /// we produced, agreeing on them, and fails with one more.
    static func checkSearchFailure(_ testCase: Case) throws -> String? {
        var ours = evaluate(testCase)
        guard let produced = ours.elapses, produced.count < iterations else {
            return "systemd's search failed but ours produced \(String(describing: ours.elapses))"
        }
        let oneMore = try SystemdAnalyze.calendar(
            [testCase.expression], timeZone: testCase.timeZone, baseTime: testCase.baseTime,
            iterations: produced.count + 1)
        guard oneMore[0].searchFailed else {
            return "ours stopped after \(produced.count) elapses, systemd with one more iteration: \(oneMore[0])"
        }
        guard !produced.isEmpty else { return nil }
        let prefix = try SystemdAnalyze.calendar(
            [testCase.expression], timeZone: testCase.timeZone, baseTime: testCase.baseTime,
            iterations: produced.count)
        ours.searchFailed = false
        return prefix[0] == ours ? nil : "systemd: \(prefix[0])\n  ours:    \(ours)"
    }

    /// Our answer in the same shape as ``SystemdAnalyze/Verdict``.
    static func evaluate(_ testCase: Case) -> SystemdAnalyze.Verdict {
        guard let spec = try? CalendarSpec.parse(testCase.expression) else {
            return SystemdAnalyze.Verdict(normalized: nil, elapses: nil)
        }
        let zone = TimeZone(identifier: testCase.timeZone)!
        let base = Date(timeIntervalSince1970: TimeInterval(testCase.baseTime))
        let elapses = Schedule.calendar(spec).elapses(after: base, count: iterations, localZone: zone)
        // systemd prints whole seconds.
        return SystemdAnalyze.Verdict(
            normalized: spec.normalized,
            elapses: elapses.map { Int64($0.timeIntervalSince1970.rounded(.down)) })
    }
}

/// SplitMix64: a tiny seeded generator so the case list is identical on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Builds (expression, base time, zone) cases from a small grammar biased towards the hard parts:
/// DST transitions, month ends, leap days, `~`, repetitions that overflow, and invalid input.
struct CaseGenerator {
    private var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    /// The four zones the daemon is mostly used in, plus two with unusual DST: Lord Howe moves
    /// by 30 minutes, and Dublin's tzdata models winter as negative "daylight saving".
    static let localZones = [
        "UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Europe/Berlin",
        "America/New_York", "Australia/Lord_Howe", "Europe/Dublin",
    ]

    /// Base times (UTC) around the interesting instants.
    static let baseTimes: [String] = [
        // Europe/Berlin spring forward 2026-03-29 01:00Z, fall back 2026-10-25 01:00Z.
        "2026-03-28T22:59:59Z", "2026-03-29T00:30:00Z", "2026-03-29T00:59:59Z", "2026-03-29T01:00:00Z",
        "2026-10-24T23:00:00Z", "2026-10-25T00:15:00Z", "2026-10-25T00:59:59Z", "2026-10-25T01:20:00Z",
        // America/New_York spring forward 2026-03-08 07:00Z, fall back 2026-11-01 06:00Z.
        "2026-03-08T05:30:00Z", "2026-03-08T06:45:00Z", "2026-11-01T04:59:00Z", "2026-11-01T05:30:00Z",
        "2026-11-01T06:10:00Z",
        // Australia/Sydney fall back 2026-04-04 16:00Z, spring forward 2026-10-03 16:00Z;
        // Lord Howe half-hour changes 2026-04-04 15:00Z and 2026-10-03 15:30Z.
        "2026-04-04T15:30:00Z", "2026-10-03T15:30:00Z", "2026-04-04T14:10:00Z", "2026-10-03T15:10:00Z",
        // Month ends, year end, leap years.
        "2026-01-31T22:00:00Z", "2026-02-27T12:00:00Z", "2026-04-30T23:30:00Z", "2026-12-31T23:30:00Z",
        "2027-02-27T00:00:00Z", "2028-02-28T12:00:00Z", "2028-02-29T23:00:00Z",
    ]

    mutating func cases(count: Int) -> [CalendarSystemdComparisonTests.Case] {
        var bases = Self.baseTimes.map { Int64(RFC3339.parse($0)!.timeIntervalSince1970) }
        // A few arbitrary instants too, with odd seconds, spread over 2026–2030.
        for _ in 0..<6 {
            bases.append(1_767_225_600 + Int64(rng.next() % (5 * 365 * 86_400)))
        }
        return (0..<count).map { _ in
            CalendarSystemdComparisonTests.Case(
                expression: expression(), baseTime: pick(bases), timeZone: pick(Self.localZones))
        }
    }

    private mutating func chance(_ p: Double) -> Bool { Double(rng.next() % 10_000) < p * 10_000 }
    private mutating func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
    private mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(rng.next() % UInt64(range.count))
    }

    mutating func expression() -> String {
        let zone =
            chance(0.35)
            ? pick([" UTC", " Europe/Berlin", " America/New_York", " Australia/Sydney", " utc", " Europe/Berln"])
            : ""
        if chance(0.08) {
            return pick([
                "minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually", "quarterly",
                "semiannually", "Daily", "semi-annually",
            ]) + zone
        }
        var parts: [String] = []
        if chance(0.3) { parts.append(weekdays()) }
        if chance(0.75) { parts.append(date()) }
        if chance(0.85) || parts.isEmpty { parts.append(time()) }
        return parts.joined(separator: " ") + zone
    }

    private mutating func weekdays() -> String {
        let names = [
            ["Mon", "Monday"], ["Tue", "Tuesday"], ["Wed", "Wednesday"], ["Thu", "Thursday"],
            ["Fri", "Friday"], ["Sat", "Saturday"], ["Sun", "Sunday"],
        ]
        func name(_ day: Int) -> String {
            let n = pick(names[day])
            return chance(0.1) ? n.lowercased() : (chance(0.05) ? n.uppercased() : n)
        }
        if chance(0.03) { return pick(["Mox", "Fri..Mon", "Mon..", "Mon...Fri"]) }
        return (0..<int(1...3)).map { _ in
            let a = int(0...6)
            if chance(0.35) {
                let b = chance(0.1) ? int(0...6) : int(a...6)
                return name(a) + (chance(0.85) ? ".." : "-") + name(b)
            }
            return name(a)
        }.joined(separator: ",")
    }

    private mutating func date() -> String {
        let month = pick([
            "*", "*", "2", "3", "10", "11", "12", "1", "02", "4..10", "1/3", "3,10", "2..4/2",
            String(int(1...12)), "11..12",
        ])
        if chance(0.15) {
            // Days counted from the end of the month.
            let day = pick(["1", "2", "3", "4", "7", "1..3", "1..7/2", "02", "28", "29", "5/2", "3/1"])
            return (chance(0.3) ? pick(["2026", "*", "2028"]) + "-" : "") + month + "~" + day
        }
        let day = pick([
            "*", "*", "1", "01", "15", "28", "29", "30", "31", "1..7", "1/7", "5/10", "29..31",
            "1,15", "31", String(int(1...31)), "25..31/2", "32",
        ])
        if chance(0.45) {
            let year = pick([
                "*", "2026", "2027", "2028", "26", "2026..2028", "2025/2", "2026,2028", "2030",
                "2020", "2027/3", "2199", "28", "2026..2032/3",
            ])
            return "\(year)-\(month)-\(day)"
        }
        return "\(month)-\(day)"
    }

    private mutating func time() -> String {
        let hour = pick([
            "*", "*", "0", "00", "1", "01", "2", "02", "3", "03", "1..3", "0/6", "1/2", "8..17/3",
            "2,3", "23", String(int(0...23)), "2..3", "0/5", "24",
        ])
        let minute = pick([
            "*", "00", "00", "30", "0/15", "15,45", "0..10/5", "59", "0/20", "*/5",
            String(int(0...59)), "5/30", "60",
        ])
        switch int(0...9) {
        case 0...4: return "\(hour):\(minute)"
        case 5: return "\(hour):\(minute):00"
        case 6: return "\(hour):\(minute):*"
        case 7: return "\(hour):\(minute):0/20"
        case 8: return "\(hour):\(minute):\(pick(["30", "15,45", "00.000000", "59", "10..20/5", "30.5", "0/7.5"]))"
        default: return "\(hour):\(minute):00"
        }
    }
}
