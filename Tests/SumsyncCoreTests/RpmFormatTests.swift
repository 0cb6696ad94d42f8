import Foundation
import SumsyncModel
import Testing

@testable import SumsyncFormats
@testable import SumsyncSync

/// The pieces an rpm source is read with, each against a reference someone else wrote where there is
/// one: rpm's `labelCompare` (python3-rpm), Python's `uuid.uuid5`, the gzip/xz/zstd/bzip2 tools.
@Suite("rpm formats")
struct RpmFormatTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func run(_ program: String, _ arguments: [String]) throws -> (Int32, Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, data)
    }

    static func scratch() throws -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "sumsync-rpmfmt-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// 20,000 generated pairs, tildes, carets, epochs, letters against digits and leading zeros included:
    /// every comparison equals `rpm.labelCompare`'s.
    @Test func versionComparisonEqualsRpmLabelCompare() throws {
        var seeded = SplitMix64(seed: 20_261_201)
        let pieces = [
            "0", "1", "2", "9", "10", "01", "001", "a", "b", "Z", "rc", "beta", "~", "^", ".", "_", "+", "el9",
        ]
        func segment() -> String {
            let count = 1 + Int(seeded.next() % 4)
            return (0..<count).map { _ in pieces[Int(seeded.next() % UInt64(pieces.count))] }.joined()
        }
        func label() -> String {
            let epoch = seeded.next() % 4 == 0 ? "\(seeded.next() % 3):" : ""
            return "\(epoch)\(segment())-\(segment())"
        }
        var pairs: [(String, String)] = []
        for _ in 0..<20_000 {
            let left = label()
            // A near copy half the time, so equal and almost-equal versions come up often.
            let right = seeded.next() % 2 == 0 ? left + (seeded.next() % 2 == 0 ? "" : segment()) : label()
            pairs.append((left, right))
        }
        pairs += [
            ("1.0~rc1-1", "1.0-1"), ("1.0^git1-1", "1.0-1"), ("1.0^git1-1", "1.0.1-1"), ("1:1.0-1", "2.0-1"),
            ("1.0a-1", "1.0.1-1"), ("1.01-1", "1.1-1"), ("1.0-1.el9", "1.0-1.el9_1"), ("2.0-1", "10.0-1"),
        ]
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let table = folder.appendingPathComponent("pairs.tsv")
        try pairs.map { "\($0.0)\t\($0.1)" }.joined(separator: "\n").appending("\n").write(
            to: table, atomically: true, encoding: .utf8)
        let (status, output) = try Self.run(
            "/usr/bin/python3",
            [Self.repoRoot.appendingPathComponent("scripts/rpm-repo.py").path, "vercmp", table.path])
        try #require(status == 0, "python3-rpm is needed (apt-get install python3-rpm)")
        let expected = String(decoding: output, as: UTF8.self).split(separator: "\n").map { Int($0)! }
        #expect(expected.count == pairs.count)
        var mismatches: [String] = []
        for ((left, right), reference) in zip(pairs, expected) {
            let ours = RpmVersion.EVR.compare(RpmVersion.EVR(label: left), RpmVersion.EVR(label: right))
            if ours != reference { mismatches.append("\(left) vs \(right): rpm \(reference), sumsync \(ours)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
        #expect(Set(expected) == [-1, 0, 1])
    }

    @Test func advisoryIDsAreUUIDv5AsPythonMakesThem() throws {
        let cases = [
            ("Rocky Linux 9", "RLSA-2024:0001"), ("Fedora 40", "FEDORA-2024-1a2b3c"), ("Größe", "ALAS-2023-1"),
        ]
        for (product, advisory) in cases {
            // NUL cannot pass in an argument: Python joins the parts.
            let script =
                "import uuid,sys; print(uuid.uuid5(uuid.UUID('6f1c2a9e-530b-4d7f-9a41-8e22d35c106b'), '\\0'.join(sys.argv[1:])))"
            let (status, output) = try Self.run("/usr/bin/python3", ["-c", script, "rpm", product, advisory])
            #expect(status == 0)
            let expected = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(RpmAdvisoryMapping.id(format: "rpm", product: product, advisory: advisory) == expected)
        }
    }

    @Test(arguments: [
        ("2021-09-21 10:11:12", 1_632_219_072), ("2021-09-21 10:11:12 UTC", 1_632_219_072),
        ("2021-09-21T10:11:12Z", 1_632_219_072), ("2021-09-21T10:11:12", 1_632_219_072),
        ("2021-09-21T10:11:12.250Z", 1_632_219_072), ("2021-09-21T12:11:12+02:00", 1_632_219_072),
        ("2021-09-21T05:11:12-0500", 1_632_219_072), ("2021-09-21 10:11", 1_632_219_060),
        ("2021-09-21", 1_632_182_400), ("1632219072", 1_632_219_072), ("  2021-09-21  ", 1_632_182_400),
    ])
    func advisoryDateShapes(text: String, epoch: Int64) {
        #expect(AdvisoryDate.epochSeconds(text) == epoch, "\(text)")
    }

    @Test(arguments: [
        "", "15mangled2", "2021-13-01", "2021-02-30", "2021-09-21 25:00:00", "2021/09/21", "yesterday",
        "2021-09-21T10:11:12+2", "123456789012",
    ])
    func advisoryDateRejects(text: String) {
        #expect(AdvisoryDate.epochSeconds(text) == nil, "\(text)")
    }

    @Test func severities() {
        let table: [(String?, String?)] = [
            ("Critical", "Critical"), ("important", "Important"), ("HIGH", "Important"), ("Moderate", "Moderate"),
            ("medium", "Moderate"), ("Low", "Low"), ("None", nil), ("", nil), (nil, nil), ("Urgent", nil),
        ]
        for (written, kept) in table { #expect(RpmAdvisoryMapping.severity(written) == kept, "\(written ?? "nil")") }
    }

    /// Each format made by its own tool reads back whole; cut in half it is an error that says so; past
    /// the cap it stops.
    @Test(arguments: [
        (MetadataCompression.gzip, "/usr/bin/gzip", ".gz"), (.xz, "/usr/bin/xz", ".xz"),
        (.zstd, "/usr/bin/zstd", ".zst"), (.bzip2, "/usr/bin/bzip2", ".bz2"),
    ])
    func decompression(compression: MetadataCompression, tool: String, suffix: String) throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        var payload = Data()
        var seeded = SplitMix64(seed: 7)
        for line in 0..<40_000 { payload.append(Data("line \(line) \(seeded.next())\n".utf8)) }
        let plain = folder.appendingPathComponent("plain")
        try payload.write(to: plain)
        let (status, compressed) = try Self.run(tool, ["-c", plain.path])
        #expect(status == 0)
        #expect(MetadataCompression(fileName: "repodata/x-updateinfo.xml\(suffix)") == compression)
        // Two streams one after the other (concatenated files are valid in all four formats).
        let whole = folder.appendingPathComponent("whole\(suffix)")
        try (compressed + compressed).write(to: whole)
        #expect(try Self.readAll(whole.path, compression, limit: 1 << 30) == payload + payload)

        let cut = folder.appendingPathComponent("cut\(suffix)")
        try compressed.prefix(compressed.count / 2).write(to: cut)
        #expect {
            _ = try Self.readAll(cut.path, compression, limit: 1 << 30)
        } throws: { error in
            "\(error)".contains("cut short") || "\(error)".contains("not valid")
        }
        #expect {
            _ = try Self.readAll(whole.path, compression, limit: Int64(payload.count / 2))
        } throws: { error in
            "\(error)".contains("max-metadata-size")
        }
    }

    static func readAll(_ path: String, _ compression: MetadataCompression, limit: Int64) throws -> Data {
        let reader = try FileDecompressor(path: path, compression: compression, limit: limit)
        var out = Data()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
        defer { buffer.deallocate() }
        while true {
            let count = try reader.read(into: buffer)
            if count == 0 { return out }
            out.append(contentsOf: buffer[0..<count])
        }
    }

    static func advisories(_ xml: String) throws -> [RpmAdvisory] {
        let reader = UpdateInfoReader(try XMLStreamReader(bytes: Array(xml.utf8), document: "updateinfo.xml"))
        var result: [RpmAdvisory] = []
        while let advisory = try reader.next() { result.append(advisory) }
        return result
    }

    @Test func readerGivesLineAndColumnOfBadXML() throws {
        #expect {
            _ = try Self.advisories("<updates>\n<update><id>A</id>\n<title>t</titel></update></updates>")
        } throws: { error in
            let text = "\(error)"
            return text.contains("updateinfo.xml line 3 column") && text.contains("mismatch")
        }
        #expect {
            _ = try Self.advisories("<repomd/>")
        } throws: { error in "\(error)".contains("<updates>") }
        #expect {
            _ = try Self.advisories("<updates><update type=\"security\"><id>A</id>")
        } throws: { error in "\(error)".contains("line 1") }
    }

    /// An entity bomb (a billion laughs) is refused by libxml2's amplification check, with where, rather
    /// than expanded into memory.
    @Test func entityBombIsRefused() throws {
        var dtd = "<!DOCTYPE updates [<!ENTITY l0 \"lol\">"
        for level in 1...9 { dtd += "<!ENTITY l\(level) \"" + String(repeating: "&l\(level - 1);", count: 10) + "\">" }
        dtd += "]>"
        #expect {
            _ = try Self.advisories(
                dtd
                    + "<updates><update type=\"security\"><id>A</id><title>&l9;</title><issued date=\"2020-01-01\"/></update></updates>"
            )
        } throws: { error in "\(error)".contains("updateinfo.xml line 1") && "\(error)".contains("entity") }
    }

    @Test func repomdEntries() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
              <revision>1</revision>
              <data type="primary"><checksum type="sha256">AA</checksum><location href="repodata/p.xml.gz"/></data>
              <data type="updateinfo">
                <checksum type="SHA512">BBcc</checksum><open-checksum type="sha256">dd</open-checksum>
                <location href="repodata/u.xml.zst"/><timestamp>1</timestamp><size>12</size><open-size>34</open-size>
              </data>
            </repomd>
            """
        let entries = try Repomd.entries(Array(xml.utf8), document: "repomd.xml")
        #expect(entries.map(\.type) == ["primary", "updateinfo"])
        #expect(
            entries[1]
                == RepomdEntry(
                    type: "updateinfo", location: "repodata/u.xml.zst", checksumType: "sha512", checksum: "bbcc",
                    size: 12, openSize: 34))
    }
}

/// The merge of sources' kept copies: one update per advisory and product, direct supersedence among
/// what the filter keeps, counted revisions.
@Suite("source merge")
struct SourceMergeTests {
    static func record(_ advisory: String, type: String = "security", product: String = "P", packages: [String])
        -> CatalogRecord
    {
        CatalogRecord(
            id: RpmAdvisoryMapping.id(format: "rpm", product: product, advisory: advisory), revision: 1,
            title: advisory, product: product, classification: type, languages: ["all"],
            released: "2026-01-01T00:00:00Z", releasedEpoch: 1_767_225_600, source: "s", advisory: advisory,
            packages: packages)
    }

    static func merge(
        _ copies: [[CatalogRecord]], filter: UpdateFilter = UpdateFilter(),
        ledger: [String: (revision: Int, digest: Int64)] = [:]
    ) throws -> [String: CatalogRecord] {
        let folder = try RpmFormatTests.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        var inputs: [SourceMerge.Input] = []
        for (index, records) in copies.enumerated() {
            let path = folder.appendingPathComponent("s\(index).ndjson").path
            try records.map { $0.jsonLine() + "\n" }.joined().write(toFile: path, atomically: true, encoding: .utf8)
            inputs.append(
                .init(source: UpstreamSourceConfig(name: "s\(index)", format: .rpm, url: "file:///"), path: path))
        }
        let output = folder.appendingPathComponent("out.ndjson").path
        _ = try SourceMerge(ledger: ledger, filter: filter).merge(inputs, to: output)
        var result: [String: CatalogRecord] = [:]
        for line in try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n") {
            let record = try CatalogRecordParser.parse(String(line))
            result[record.advisory!] = record
        }
        return result
    }

    static func id(_ advisory: String) -> String {
        RpmAdvisoryMapping.id(format: "rpm", product: "P", advisory: advisory)
    }

    @Test func chainsListOnlyTheDirectStep() throws {
        let merged = try Self.merge([
            [
                Self.record("A1", packages: ["k-1.0-1.x86_64", "k-devel-1.0-1.x86_64"]),
                Self.record("A2", packages: ["k-1.1-1.x86_64", "k-devel-1.1-1.x86_64"]),
                Self.record("A3", packages: ["k-2:0.1-1.x86_64", "k-devel-2:0.1-1.x86_64", "k-doc-1-1.noarch"]),
                // Only one of A1's packages: supersedes nothing of A1, is superseded by A2.
                Self.record("B1", packages: ["k-1.0-2.x86_64"]),
                // Another arch: nothing in common.
                Self.record("C1", packages: ["k-9-9.aarch64"]),
                Self.record("E1", packages: []),
            ]
        ])
        #expect(merged["A2"]?.supersedes == [Self.id("A1"), Self.id("B1")].sorted())
        #expect(merged["A3"]?.supersedes == [Self.id("A2")])
        #expect(merged["B1"]?.supersedes == [])
        // B1 (k 1.0-2) is below A2's k 1.1: A2 covers it directly, A1 does not (1.0-1 < 1.0-2).
        let coversB1 = merged.values.filter { $0.supersedes.contains(Self.id("B1")) }.map(\.advisory)
        #expect(coversB1 == ["A2"])
        #expect(merged["C1"]?.supersedes == [] && merged["E1"]?.supersedes == [])
        #expect(merged.values.allSatisfy { $0.revision == 1 && $0.digest != nil })
    }

    @Test func aFilteredOutStepDoesNotBreakTheChain() throws {
        let copies = [
            [
                Self.record("A1", packages: ["k-1-1.x86_64"]),
                Self.record("A2", type: "bugfix", packages: ["k-2-1.x86_64"]),
                Self.record("A3", packages: ["k-3-1.x86_64"]),
            ]
        ]
        #expect(try Self.merge(copies)["A3"]?.supersedes == [Self.id("A2")])
        let security = try Self.merge(copies, filter: UpdateFilter(classifications: ["security"]))
        #expect(security["A3"]?.supersedes == [Self.id("A1")])
    }

    @Test func oneAdvisoryInTwoSourcesIsOneUpdateWithBothPackageLists() throws {
        var second = Self.record("X", packages: ["b-1-1.x86_64"])
        second.title = "the second source's title"
        second.cves = ["CVE-2"]
        var first = Self.record("X", packages: ["a-1-1.x86_64"])
        first.cves = ["CVE-1"]
        let merged = try Self.merge([[first], [second]])
        #expect(merged.count == 1)
        #expect(merged["X"]?.packages == ["a-1-1.x86_64", "b-1-1.x86_64"] && merged["X"]?.cves == ["CVE-1", "CVE-2"])
        #expect(merged["X"]?.title == "X" && merged["X"]?.source == "s")
    }

    @Test func revisionsCountContentChanges() throws {
        let before = try Self.merge([[Self.record("R", packages: ["r-1-1.x86_64"])]])
        let digest = try #require(before["R"]?.digest)
        let ledger = [Self.id("R"): (revision: 4, digest: digest)]
        #expect(try Self.merge([[Self.record("R", packages: ["r-1-1.x86_64"])]], ledger: ledger)["R"]?.revision == 4)
        #expect(try Self.merge([[Self.record("R", packages: ["r-1-2.x86_64"])]], ledger: ledger)["R"]?.revision == 5)
    }
}
