import Foundation
import Testing

@testable import SumsyncFormats
@testable import SumsyncModel
@testable import SumsyncTestSupport

/// Parses every line of a catalog file.
func parseCatalog(_ path: String) throws -> [CatalogRecord] {
    var records: [CatalogRecord] = []
    try CatalogLineReader(path: path).forEachLine { number, bytes in
        records.append(try CatalogRecordParser.parse(bytes, line: number))
    }
    return records
}

@Suite("Catalog generator")
struct CatalogGeneratorTests {
    @Test func sameSeedSameBytes() throws {
        let dir = try CatalogTestDirectory()
        try CatalogGenerator(seed: 42, count: 1_000).write(to: dir.path + "/a")
        try CatalogGenerator(seed: 42, count: 1_000).write(to: dir.path + "/b")
        try CatalogGenerator(seed: 43, count: 1_000).write(to: dir.path + "/c")
        let a = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/a"))
        #expect(a == (try Data(contentsOf: URL(fileURLWithPath: dir.path + "/b"))))
        #expect(a != (try Data(contentsOf: URL(fileURLWithPath: dir.path + "/c"))))
        #expect(CatalogGenerator(seed: 42, count: 10).id(at: 3) == CatalogGenerator(seed: 42, count: 99).id(at: 3))
    }

    @Test func everyLineParsesAndRoundTrips() throws {
        let dir = try CatalogTestDirectory()
        let generator = CatalogGenerator(seed: 7, count: 3_000)
        try generator.write(to: dir.path + "/c")
        let records = try parseCatalog(dir.path + "/c")
        #expect(records.count == 3_000)
        #expect(records.map(\.id) == (0..<3_000).map(generator.id(at:)))
        for record in records {
            #expect(try CatalogRecordParser.parse(record.jsonLine()) == record)
        }
    }

    @Test func looksLikeARealCatalog() throws {
        let dir = try CatalogTestDirectory()
        let count = 5_000
        try CatalogGenerator(seed: 11, count: count).write(to: dir.path + "/c")
        let records = try parseCatalog(dir.path + "/c")
        let text = try String(contentsOfFile: dir.path + "/c", encoding: .utf8)

        #expect(Set(records.map(\.classification)) == Set(CatalogRecord.classifications))
        let security = records.filter { $0.classification == "Security Updates" }.count
        #expect(security > count / 5 && security < count / 2)
        #expect(Set(records.map(\.product)).count >= 35)
        func share(_ predicate: (CatalogRecord) -> Bool) -> Double {
            Double(records.filter(predicate).count) / Double(count)
        }
        #expect((0.10...0.20).contains(share { !$0.supersedes.isEmpty }))
        #expect((0.03...0.08).contains(share(\.expired)))
        #expect((0.10...0.20).contains(share { $0.languages != ["all"] }))
        #expect(records.allSatisfy { (1...300).contains($0.revision) })
        let years = Set(records.map { $0.released.prefix(4) })
        #expect(years == Set((2018...2026).map { "\($0)" }))
        #expect(records.map(\.releasedEpoch) != records.map(\.releasedEpoch).sorted(), "jittered, not sorted")
        #expect(share { $0.severity != nil } > 0.2 && share { $0.kb != nil } > 0.6 && share { $0.size != nil } > 0.8)

        // The forms a parser must cope with all occur.
        for needle in [
            #"\u00e9"#, #"\""#, #"\\"#, #"\/"#, #""metadata":{"#, #"\ud83d\ude00"#, ":null", "+02:00", ".250Z",
        ] {
            #expect(text.contains(needle), "no \(needle) in the generated catalog")
        }
        #expect(text.contains("é") && text.contains("日本語"))
        #expect(
            text.split(separator: "\n").contains { $0.hasPrefix(#"{"id":""#) && $0.dropFirst(7).first!.isUppercase })
    }

    @Test func supersedesPointToEarlierUpdatesOfTheSameProduct() throws {
        let dir = try CatalogTestDirectory()
        try CatalogGenerator(seed: 5, count: 3_000).write(to: dir.path + "/c")
        let records = try parseCatalog(dir.path + "/c")
        var seen: [String: (index: Int, product: String)] = [:]
        for (index, record) in records.enumerated() {
            for id in record.supersedes {
                let earlier = try #require(seen[id], "supersedes an id not seen before")
                #expect(earlier.index < index && earlier.product == record.product)
            }
            seen[record.id] = (index, record.product)
        }
    }

    @Test(arguments: [0, 1, 37, 500])
    func changedCatalogDiffersInExactlyTheChangedUpdates(changed: Int) throws {
        let dir = try CatalogTestDirectory()
        let generator = CatalogGenerator(seed: 42, count: 2_000)
        try generator.write(to: dir.path + "/base")
        try generator.writeChanged(to: dir.path + "/changed", changed: changed, changeSeed: 9)
        let base = try parseCatalog(dir.path + "/base")
        let after = try parseCatalog(dir.path + "/changed")
        let before = Dictionary(uniqueKeysWithValues: base.map { ($0.id, $0) })
        let now = Dictionary(uniqueKeysWithValues: after.map { ($0.id, $0) })

        let removed = before.keys.filter { now[$0] == nil }
        let added = now.keys.filter { before[$0] == nil }
        let modified = now.values.filter { record in before[record.id].map { $0 != record } ?? false }
        #expect(removed.count + added.count + modified.count == changed)

        // Unchanged lines are byte-identical, not merely equal after parsing.
        let baseLines = Set(try String(contentsOfFile: dir.path + "/base", encoding: .utf8).split(separator: "\n"))
        let changedLines = try String(contentsOfFile: dir.path + "/changed", encoding: .utf8).split(separator: "\n")
        #expect(changedLines.filter { !baseLines.contains($0) }.count == added.count + modified.count)

        for record in modified {
            let old = before[record.id]!
            let revised = record.revision == old.revision + 1 && record.revised != old.revised
            let expired = record.expired && !old.expired
            let superseded = record.supersedes.count == old.supersedes.count + 1
            #expect(revised || expired || superseded)
        }
        if changed >= 500 {
            #expect(removed.count > 40 && added.count == 100)
            #expect(modified.contains { $0.expired && !before[$0.id]!.expired })
            #expect(modified.contains { $0.supersedes.count > before[$0.id]!.supersedes.count })
            #expect(modified.contains { $0.revision > before[$0.id]!.revision })
            #expect(after.suffix(100).allSatisfy { $0.revision == 1 && !$0.expired })
        }
    }

    @Test func changedCatalogIsDeterministic() throws {
        let dir = try CatalogTestDirectory()
        let generator = CatalogGenerator(seed: 1, count: 500)
        try generator.writeChanged(to: dir.path + "/a", changed: 50, changeSeed: 3)
        try generator.writeChanged(to: dir.path + "/b", changed: 50, changeSeed: 3)
        try generator.writeChanged(to: dir.path + "/c", changed: 50, changeSeed: 4)
        let a = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/a"))
        #expect(a == (try Data(contentsOf: URL(fileURLWithPath: dir.path + "/b"))))
        #expect(a != (try Data(contentsOf: URL(fileURLWithPath: dir.path + "/c"))))
    }

    @Test func reportsUnwritablePaths() {
        #expect(throws: CatalogError.self) {
            try CatalogGenerator(seed: 1, count: 1).write(to: "/nonexistent-dir/x.ndjson")
        }
    }
}
