import Foundation
import SumsyncModel
import Testing

@testable import SumsyncFormats
@testable import SumsyncSync

/// The pieces an osv source is read with: the record reader (types, required fields, JSON paths), CVSS
/// base scores against the `cvss` package (PyPI), the zip reader against zips Python's `zipfile`
/// writes, damaged ones included, and the mapping table.
@Suite("osv formats")
struct OSVFormatTests {
    static let script = RpmFormatTests.repoRoot.appendingPathComponent("scripts/osv-feed.py").path

    /// `osv-feed.py ARGS` with the `python3` on PATH (the `cvss` package is installed for it).
    static func feed(_ arguments: [String]) throws -> String {
        let (status, output) = try RpmFormatTests.run("/usr/bin/env", ["python3", script] + arguments)
        try #require(status == 0, "osv-feed.py \(arguments.joined(separator: " ")) failed")
        return String(decoding: output, as: UTF8.self)
    }

    @Test func readsTheFieldsItMapsAndSkipsTheRest() throws {
        let record = try OSVRecordParser.parse(
            """
            {
              "schema_version": "1.7.0", "id": "USN-1-1", "modified": "2026-01-15T16:43:06.5Z",
              "published": "2026-01-15T16:00:00+01:00", "withdrawn": null, "summary": "s", "details": "d\\nmore",
              "aliases": ["CVE-1"], "upstream": ["UBUNTU-CVE-1", "CVE-2"], "related": [],
              "severity": [{"type": "Ubuntu", "score": "medium"}],
              "affected": [
                {"package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "w", "purl": "pkg:deb/ubuntu/w"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0-1"}]},
                            {"type": "ECOSYSTEM", "events": [{"introduced": "2"}, {"fixed": "2.0-1"}]}],
                 "versions": ["0.9"], "ecosystem_specific": {"binaries": [{"binary_name": "x"}]},
                 "database_specific": {"cves_map": {"cves": [{"id": "CVE-1"}]}},
                 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]},
                {"ranges": [{"type": "GIT", "repo": "https://example.org/r", "events": [{"introduced": "0"}]}]}
              ],
              "references": [{"type": "ADVISORY", "url": "https://example.org/a"}],
              "credits": [{"name": "someone", "contact": ["x"]}],
              "database_specific": {"severity": "High", "nested": {"deep": [1, 2.5e3, true, null]}},
              "\\u0069gnored": 1
            }
            """)
        #expect(record.id == "USN-1-1" && record.modified == 1_768_495_386)
        #expect(record.published == 1_768_489_200 && record.withdrawn == nil)
        #expect(record.summary == "s" && record.details == "d\nmore")
        #expect(record.aliases == ["CVE-1"] && record.upstream == ["UBUNTU-CVE-1", "CVE-2"])
        #expect(record.severity == [.init(type: "Ubuntu", score: "medium")])
        #expect(record.affected.count == 2)
        #expect(record.affected[0].ecosystem == "Ubuntu:22.04:LTS" && record.affected[0].name == "w")
        #expect(record.affected[0].fixed == ["1.0-1", "2.0-1"] && record.affected[0].severity.count == 1)
        #expect(record.affected[1].ecosystem.isEmpty, "an entry without a package is left out")
        #expect(record.references == [.init(type: "ADVISORY", url: "https://example.org/a")])
        #expect(record.databaseSeverity == "High")
    }

    /// Each violation names its JSON path, as the schema states the field.
    @Test(arguments: [
        (#"{"modified": "2026-01-01T00:00:00Z"}"#, "$", #"missing required field "id""#),
        (#"{"id": "X-1"}"#, "$", #"missing required field "modified""#),
        (#"{"id": 7, "modified": "2026-01-01T00:00:00Z"}"#, "$.id", "expected a string"),
        (#"{"id": "", "modified": "2026-01-01T00:00:00Z"}"#, "$.id", "expected a non-empty string"),
        (#"{"id": "X-1", "modified": "yesterday"}"#, "$.modified", "is not an RFC 3339 timestamp"),
        (#"{"id": "X-1", "modified": "2026-01-01T00:00:00Z", "aliases": "CVE-1"}"#, "$.aliases", "array of strings"),
        (#"{"id": "X-1", "modified": "2026-01-01T00:00:00Z", "aliases": [1]}"#, "$.aliases[0]", "expected a string"),
        (
            #"{"id": "X-1", "modified": "2026-01-01T00:00:00Z", "affected": [{"package": {"name": "a"}}]}"#,
            "$.affected[0].package", #"missing required field "ecosystem""#
        ),
        (
            #"{"id": "X-1", "modified": "2026-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "D", "name": "a"}, "ranges": [{"events": [{"fixed": 1}]}]}]}"#,
            "$.affected[0].ranges[0].events[0].fixed", "expected a string"
        ),
        (#"{"id": "X-1", "modified": "2026-01-01T00:00:00Z", "severity": {}}"#, "$.severity", "array of objects"),
        (
            #"{"id": "X-1", "modified": "2026-01-01T00:00:00Z", "references": [{"url": 3}]}"#, "$.references[0].url",
            "string"
        ),
        ("[1, 2]", "$", "expected an object"),
        ("{\n  \"id\": \"X-1\",\n  \"modified\": ", "$.modified", "invalid JSON at line 3"),
        (#"{"id": "X-1", "modified": "2026-01-01T00:00:00Z"} trailing"#, "$", "invalid JSON at line 1, column 51"),
    ])
    func violationsNameTheirPath(text: String, path: String, words: String) throws {
        do {
            _ = try OSVRecordParser.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.path == path, "\(error)")
            #expect(error.message.contains(words), "\(error)")
        }
    }

    /// 3,000 random base vectors of CVSS 3.1, 3.0 and 2: every score equals the `cvss` package's.
    @Test func cvssScoresEqualTheReferenceImplementation() throws {
        var random = SplitMix64(seed: 20_261_202)
        func pick(_ values: [String]) -> String { values[Int(random.next() % UInt64(values.count))] }
        var vectors: [String] = []
        for index in 0..<3000 {
            switch index % 3 {
            case 0, 1:
                let version = index % 3 == 0 ? "3.1" : "3.0"
                let metrics = [
                    "AV:" + pick(["N", "A", "L", "P"]), "AC:" + pick(["L", "H"]), "PR:" + pick(["N", "L", "H"]),
                    "UI:" + pick(["N", "R"]), "S:" + pick(["U", "C"]), "C:" + pick(["H", "L", "N"]),
                    "I:" + pick(["H", "L", "N"]), "A:" + pick(["H", "L", "N"]),
                ]
                vectors.append("CVSS:\(version)/" + metrics.joined(separator: "/"))
            default:
                let metrics = [
                    "AV:" + pick(["L", "A", "N"]), "AC:" + pick(["H", "M", "L"]), "Au:" + pick(["M", "S", "N"]),
                    "C:" + pick(["N", "P", "C"]), "I:" + pick(["N", "P", "C"]), "A:" + pick(["N", "P", "C"]),
                ]
                vectors.append(metrics.joined(separator: "/"))
            }
        }
        let folder = try RpmFormatTests.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("vectors.txt")
        try (vectors.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let expected = try Self.feed(["cvss", file.path]).split(separator: "\n").map { Double($0)! }
        try #require(expected.count == vectors.count)
        var mismatches: [String] = []
        for (vector, score) in zip(vectors, expected) {
            let ours = try #require(CVSS.baseScore(vector), "\(vector)")
            if abs(ours - score) > 0.0001 { mismatches.append("\(vector): \(ours) vs \(score)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
        #expect(CVSS.baseScore("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N") == nil)
        #expect(CVSS.baseScore("CVSS:3.1/AV:N/AC:L") == nil)
        #expect(CVSS.baseScore("CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") == nil)
        #expect(CVSS.severity(score: 9.0) == "Critical" && CVSS.severity(score: 8.9) == "Important")
        #expect(CVSS.severity(score: 7.0) == "Important" && CVSS.severity(score: 4.0) == "Moderate")
        #expect(CVSS.severity(score: 3.9) == "Low" && CVSS.severity(score: 0) == "Low")
    }

    /// Entries, their CRC-32 and bytes as Python's zipfile wrote them; damaged zips fail with what is
    /// wrong, and none of them hangs.
    @Test func zipEntriesAsZipfileWroteThem() throws {
        let folder = try RpmFormatTests.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let records = folder.appendingPathComponent("records")
        _ = try Self.feed(["testset", records.path])
        for store in [false, true] {
            let zip = folder.appendingPathComponent(store ? "stored.zip" : "deflated.zip")
            _ = try Self.feed(["zip", records.path, zip.path] + (store ? ["--store"] : []))
            let reader = try ZipRecords(path: zip.path)
            var names: [String] = []
            try reader.forEachEntry { info, read in
                names.append(info.name)
                let bytes = try read(1 << 20)
                let onDisk = try Data(contentsOf: records.appendingPathComponent(info.name))
                #expect(Data(bytes) == onDisk, "\(info.name)")
                #expect(UInt64(bytes.count) == info.uncompressedSize && info.isFile)
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: records.path).sorted()
            #expect(names == files)
            #expect(reader.statedCount == UInt64(files.count))
        }
        let cases: [(kind: String, words: String)] = [
            ("notzip", "not a zip"), ("cut", "not a zip"), ("damaged", "GOOD-1.json"),
            ("cd-count", "states 2 entries, but only 1 can be read"), ("bomb", "more than a record may have"),
            ("endless", "ENDLESS.json"),
        ]
        for (kind, words) in cases {
            let zip = folder.appendingPathComponent("\(kind).zip")
            _ = try Self.feed(["craft", kind, zip.path])
            do {
                let reader = try ZipRecords(path: zip.path)
                try reader.forEachEntry { _, read in _ = try read(16 << 20) }
                Issue.record("\(kind) was read")
            } catch {
                #expect("\(error)".contains(words), "\(kind): \(error)")
            }
        }
    }

    @Test func mappingFollowsTheTable() throws {
        let record = try OSVRecordParser.parse(
            """
            {"id": "RHBA-2026:1", "modified": "2026-02-01T00:00:00Z", "details": "\\n second line",
             "aliases": ["CVE-1", "GHSA-x"], "upstream": ["CVE-1", "CVE-2"],
             "severity": [{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}],
             "affected": [
               {"package": {"ecosystem": "Red Hat:enterprise_linux:9", "name": "k"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "1-2.el9"}]}],
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]},
               {"package": {"ecosystem": "Debian:12", "name": "d"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "1.0-1"}]}]},
               {"package": {"ecosystem": "PyPI", "name": "p"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "2.0"}]}]}
             ],
             "references": [{"type": "WEB", "url": "https://w"}, {"type": "REPORT", "url": "https://r"}]}
            """)
        let all = OSVMapping.records(record, source: "s", keeps: { _ in true })
        #expect(all.map(\.product) == ["Red Hat:enterprise_linux:9", "Debian:12", "PyPI"])
        #expect(all.map(\.packages) == [["k-1-2.el9"], ["d=1.0-1"], ["p@2.0"]])
        #expect(all.allSatisfy { $0.classification == "bugfix" && $0.title == "RHBA-2026:1" })
        #expect(
            all.allSatisfy { $0.cves == ["CVE-1", "CVE-2"] && $0.url == "https://w" && $0.released == $0.revised! })
        // The affected entry's own v3 score (9.8) counts for its ecosystem; the record's v2 (7.5) for all.
        #expect(all.map(\.severity) == ["Critical", "Important", "Important"])
        #expect(
            all[0].id
                == RpmAdvisoryMapping.id(format: "osv", product: "Red Hat:enterprise_linux:9", advisory: "RHBA-2026:1"))
        let kept = OSVMapping.records(record, source: "s") { $0.hasPrefix("Debian:") }
        #expect(kept.map(\.product) == ["Debian:12"])
        let config = UpstreamSourceConfig(
            name: "d", format: .osv, url: "file:///x", ecosystems: ["Debian:12", "Ubuntu:"])
        #expect(config.keeps(ecosystem: "Debian:12") && config.keeps(ecosystem: "Ubuntu:22.04:LTS"))
        #expect(
            !config.keeps(ecosystem: "Debian:11") && !config.keeps(ecosystem: "Ubuntu")
                && config.product == "Debian:12,Ubuntu:")
        #expect(OSVMapping.classification(of: "ALEA-2026:1") == "enhancement")
        #expect(
            OSVMapping.classification(of: "DSA-1-1") == "security" && OSVMapping.classification(of: "RLBA") == "bugfix")
    }
}
