import Testing

@testable import SumsyncModel
@testable import SumsyncStore
@testable import SumsyncSync

/// What a child takes from whoever answers on its parent's address, before any record: the stream must
/// be its parent's, start where it asked, and not roll it back (issue 14's fake-parent findings).
struct ParentStreamChecksTests {
    static func header(site: String = "CAS", from: Int, to: Int, full: Bool) -> ChangeFeed.Header {
        ChangeFeed.Header(site: site, from: from, to: to, full: full, upserts: 1, removals: 0)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var header: ChangeFeed.Header
        var since: Int
        var current: Int
        var full = false
        /// A part of the refusal, or nil: taken.
        var refused: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "the delta asked for", header: header(from: 7, to: 9, full: false), since: 7, current: 7),
        Case(name: "a full snapshot asked for", header: header(from: 0, to: 9, full: true), since: 0, current: 0),
        Case(
            name: "the full snapshot after a 410", header: header(from: 0, to: 1_500, full: true), since: 0,
            current: 7),
        Case(name: "no change (to = own version)", header: header(from: 7, to: 7, full: false), since: 7, current: 7),
        Case(
            name: "another site's stream", header: header(site: "PR2", from: 7, to: 9, full: false), since: 7,
            current: 7, refused: "names site PR2, not the parent CAS"),
        Case(
            name: "a from it did not ask for", header: header(from: 3, to: 9, full: false), since: 7, current: 7,
            refused: "holds those since 3"),
        Case(
            name: "a forged full snapshot for a delta", header: header(from: 0, to: 999, full: true), since: 7,
            current: 7, refused: "it is a full snapshot"),
        Case(
            name: "a delta for a full snapshot", header: header(from: 5, to: 999, full: false), since: 0, current: 0,
            refused: "a full snapshot was asked for"),
        Case(
            name: "a rollback below its own version", header: header(from: 0, to: 4, full: true), since: 0,
            current: 7, refused: "below this site's version 7"),
        Case(
            name: "sync --full mirrors a parent behind it", header: header(from: 0, to: 4, full: true), since: 0,
            current: 7, full: true),
    ]

    @Test(arguments: cases)
    func checks(_ check: Case) {
        let refusal = ParentSync.refusal(
            of: check.header, from: "CAS", since: check.since, currentVersion: check.current,
            askedForFull: check.full)
        if let expected = check.refused {
            #expect(refusal?.contains(expected) == true, "\(refusal ?? "taken")")
        } else {
            #expect(refusal == nil)
        }
    }
}
