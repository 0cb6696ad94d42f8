import Testing

@testable import SumsyncModel

@Suite("systemd time spans")
struct TimeSpanTests {
    @Test(arguments: [
        ("90s", 90), ("15min", 900), ("2h 30min", 9_000), ("2h30min", 9_000), ("1d", 86_400), ("60", 60),
        ("1w 2d", 777_600), ("500ms", 1), ("1.5h", 5_400), (" 5 min ", 300),
    ])
    func parses(text: String, seconds: Int64) {
        #expect(TimeSpan.parse(text)?.seconds == seconds)
    }

    @Test(arguments: ["", "soon", "5 parsecs", "min", "-5s", "1h x"])
    func rejects(text: String) {
        #expect(TimeSpan.parse(text) == nil)
    }

    @Test func describes() {
        #expect(TimeSpan(seconds: 5_400).description == "1h 30min")
        #expect(TimeSpan(seconds: 0).description == "0")
    }
}
