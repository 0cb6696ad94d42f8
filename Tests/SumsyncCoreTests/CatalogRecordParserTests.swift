import Testing

@testable import SumsyncFormats
@testable import SumsyncModel

/// The pinned example line from the catalog format, with every field.
let exampleCatalogLine = #"""
    {"id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","revision":204,"title":"2026-11 Cumulative Update for Windows 11 Version 24H2 for x64-based Systems (KB5046617)","product":"Windows 11","classification":"Security Updates","languages":["all"],"kb":"KB5046617","bulletin":"MS26-NOV","severity":"Critical","released":"2026-11-11T18:00:00Z","revised":"2026-11-12T09:30:00Z","supersedes":["9a5b2c1e-0000-4000-8000-000000000001"],"expired":false,"size":457286532,"url":"https://support.example.com/kb/5046617"}
    """#

/// A minimal valid line with `extra` spliced in before the closing brace.
func minimalLine(_ extra: String = "") -> String {
    #"{"id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","revision":1,"title":"T","product":"P","classification":"Updates","languages":["all"],"released":"2026-11-11T18:00:00Z""#
        + extra + "}"
}

@Suite("Catalog record parser")
struct CatalogRecordParserTests {
    @Test func parsesEveryField() throws {
        let record = try CatalogRecordParser.parse(exampleCatalogLine, line: 1)
        #expect(
            record
                == CatalogRecord(
                    id: "3f2504e0-4f89-11d3-9a0c-0305e82c3301", revision: 204,
                    title: "2026-11 Cumulative Update for Windows 11 Version 24H2 for x64-based Systems (KB5046617)",
                    product: "Windows 11", classification: "Security Updates", languages: ["all"],
                    kb: "KB5046617", bulletin: "MS26-NOV", severity: "Critical",
                    released: "2026-11-11T18:00:00Z", releasedEpoch: 1_794_420_000,
                    revised: "2026-11-12T09:30:00Z", supersedes: ["9a5b2c1e-0000-4000-8000-000000000001"],
                    expired: false, size: 457_286_532, url: "https://support.example.com/kb/5046617",
                    description: nil))
    }

    @Test func optionalFieldsMayBeAbsent() throws {
        let record = try CatalogRecordParser.parse(minimalLine())
        #expect(record.kb == nil && record.bulletin == nil && record.severity == nil && record.revised == nil)
        #expect(record.supersedes == [] && record.expired == false && record.size == nil)
        #expect(record.url == nil && record.description == nil)
    }

    @Test func nullMeansAbsent() throws {
        let nulls =
            #","kb":null,"bulletin":null,"severity":null,"revised":null,"supersedes":null,"expired":null,"size":null,"url":null,"description":null"#
        #expect(try CatalogRecordParser.parse(minimalLine(nulls)) == CatalogRecordParser.parse(minimalLine()))
    }

    @Test func skipsUnknownFieldsOfAnyShape() throws {
        let unknown = #","a":{"b":[1,-2.5e+3,{"c":null}],"d":{}},"e":[],"f":"x\"}\\","g":true,"h":false,"i":null,"j":0"#
        let front = #"{"zzz":[[["deep"]]],"#
        let line = front + minimalLine(unknown).dropFirst()
        #expect(try CatalogRecordParser.parse(line) == CatalogRecordParser.parse(minimalLine()))
    }

    @Test func decodesEscapesAndUnicode() throws {
        let title = #"\"q\" \\ \/ \b\f\n\r\t caf\u00e9 \u65e5\u672c \ud83d\ude00 déjà"#
        let line = minimalLine().replacing(#""title":"T""#, with: #""title":"\#(title)""#)
        let record = try CatalogRecordParser.parse(line)
        #expect(record.title == "\"q\" \\ / \u{8}\u{c}\n\r\t café 日本 😀 déjà")
    }

    @Test func foldsGUIDsToLowerCase() throws {
        let line = minimalLine(
            #","supersedes":["9A5B2C1E-0000-4000-8000-00000000000F","abcdef01-2345-6789-abcd-ef0123456789"]"#
        )
        .replacing("3f2504e0-4f89-11d3-9a0c-0305e82c3301", with: "3F2504E0-4F89-11D3-9A0C-0305E82C3301")
        let record = try CatalogRecordParser.parse(line)
        #expect(record.id == "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
        #expect(record.supersedes == ["9a5b2c1e-0000-4000-8000-00000000000f", "abcdef01-2345-6789-abcd-ef0123456789"])
    }

    /// Every byte value in a digit position of each word the GUID check reads: only hex digits pass.
    @Test(arguments: [0, 7, 9, 12, 14, 17, 19, 22, 24, 27, 31, 35])
    func acceptsOnlyHexDigitsInGUIDs(position: Int) throws {
        let hex = Set("0123456789abcdefABCDEF".utf8)
        for byte in UInt8(0x20)...UInt8(0x7E) where byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
            var guid = Array("3f2504e0-4f89-11d3-9a0c-0305e82c3301".utf8)
            guid[position] = byte
            let text = String(decoding: guid, as: UTF8.self)
            let line = minimalLine().replacing("3f2504e0-4f89-11d3-9a0c-0305e82c3301", with: text)
            let parsed = try? CatalogRecordParser.parse(line)
            #expect((parsed != nil) == hex.contains(byte), "byte 0x\(String(byte, radix: 16)) at \(position)")
            #expect(parsed.map { $0.id == text.lowercased() } ?? true)
        }
        for hyphen in [8, 13, 18, 23] {
            var guid = Array("3f2504e0-4f89-11d3-9a0c-0305e82c3301".utf8)
            guid[hyphen] = UInt8(ascii: "0")
            let line = minimalLine().replacing(
                "3f2504e0-4f89-11d3-9a0c-0305e82c3301", with: String(decoding: guid, as: UTF8.self))
            #expect(throws: CatalogError.self) { try CatalogRecordParser.parse(line) }
        }
    }

    @Test func decodesEscapedValuesBeforeCheckingThem() throws {
        let line = minimalLine(
            #","released":"2026\u002d11-11T18:00:00Z","classification":"Up\u0064ates","id":"3F2504E0\u002d4f89-11d3-9a0c-0305e82c3301""#
        )
        let record = try CatalogRecordParser.parse(line)
        #expect(record.releasedEpoch == 1_794_420_000 && record.classification == "Updates")
        #expect(record.id == "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    }

    @Test func allowsWhitespaceFieldOrderAndEscapedKeys() throws {
        let line =
            " { \"released\" : \"2026-11-11T18:00:00Z\" ,\t\"languages\" : [ \"en\" , \"de\" ] , "
            + #""classification":"Updates","product":"P","title":"T","revision":1,"\u0069d":"3f2504e0-4f89-11d3-9a0c-0305e82c3301"} "#
            + "\r"
        let record = try CatalogRecordParser.parse(line)
        #expect(record.languages == ["en", "de"])
        #expect(record.id == "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    }

    /// Duplicate keys: each occurrence is validated, the last one wins (as in most JSON parsers).
    @Test func duplicateKeysLastWins() throws {
        let record = try CatalogRecordParser.parse(
            minimalLine(#","revision":7,"title":"Second","expired":true,"expired":false"#))
        #expect(record.revision == 7 && record.title == "Second" && record.expired == false)
        #expect(throws: CatalogError.self) {
            try CatalogRecordParser.parse(minimalLine(#","revision":0,"revision":2"#))
        }
    }

    @Test func classificationsAndSeveritiesAreShared() throws {
        for classification in CatalogRecord.classifications {
            let line = minimalLine().replacing("\"Updates\"", with: "\"\(classification)\"")
            #expect(try CatalogRecordParser.parse(line).classification == classification)
        }
        for severity in CatalogRecord.severities {
            #expect(try CatalogRecordParser.parse(minimalLine(",\"severity\":\"\(severity)\"")).severity == severity)
        }
    }

    @Test func sizeAndRevisionBounds() throws {
        #expect(try CatalogRecordParser.parse(minimalLine(#","size":0"#)).size == 0)
        #expect(try CatalogRecordParser.parse(minimalLine(#","size":9223372036854775807"#)).size == Int64.max)
        #expect(throws: CatalogError.self) {
            try CatalogRecordParser.parse(minimalLine(#","size":9223372036854775808"#))
        }
    }

    @Test func jsonLineIsCanonicalAndRoundTrips() throws {
        let record = try CatalogRecordParser.parse(exampleCatalogLine)
        #expect(record.jsonLine() == exampleCatalogLine)
        var odd = record
        odd.description = "tab\there \"quoted\" back\\slash \u{1} nul\u{0} 😀 é"
        odd.supersedes = []
        odd.size = nil
        odd.expired = true
        let line = odd.jsonLine()
        #expect(!line.contains("supersedes") && !line.contains("\"size\"") && line.contains("\"expired\":true"))
        #expect(line.contains(#""tab\there \"quoted\" back\\slash \u0001 nul\u0000 😀 é""#))
        #expect(try CatalogRecordParser.parse(line) == odd)
    }

    // MARK: Bad input

    static let badLines: [(String, String)] = [
        (
            String(minimalLine().dropLast(20)),
            "invalid JSON at column 146: unexpected end of line, expected '\"' to end the string"
        ),
        (String(minimalLine().dropLast()), "invalid JSON at column 165: unexpected end of line, expected ',' or '}'"),
        ("", "empty line, expected a JSON object"),
        ("[1,2]", "expected a JSON object, found an array"),
        ("\"text\"", "expected a JSON object, found a string"),
        ("nope", "invalid JSON at column 1: expected a JSON object, found 'n'"),
        (minimalLine() + " x", "invalid JSON at column 167: expected the end of the line after the object, found 'x'"),
        (minimalLine() + "{}", "invalid JSON at column 166: expected the end of the line after the object, found '{'"),
        (minimalLine(#","revision":"x""#), #""revision" must be an integer ≥ 1, found "x""#),
        (minimalLine(#","revision":0"#), #""revision" must be an integer ≥ 1, found 0"#),
        (minimalLine(#","revision":-3"#), #""revision" must be an integer ≥ 1, found -3"#),
        (minimalLine(#","revision":1.5"#), #""revision" must be an integer ≥ 1, found 1.5"#),
        (minimalLine(#","revision":null"#), #""revision" must be an integer ≥ 1, found null"#),
        (minimalLine(#","title":"""#), #""title" must be a non-empty string, found """#),
        (minimalLine(#","product":["P"]"#), #""product" must be a non-empty string, found ["P"]"#),
        (minimalLine().replacing(#""product":"P","#, with: ""), #"missing required field "product""#),
        (#"{}"#, #"missing required field "id""#),
        (
            minimalLine(#","id":"3f2504e0-4f89-11d3-9a0c-0305e82c330""#),
            #""id" is not a GUID (8-4-4-4-12 hex digits), found "3f2504e0-4f89-11d3-9a0c-0305e82c330""#
        ),
        (
            minimalLine(#","id":"3f2504e0-4f89-11d3-9a0c-0305e82c330g""#),
            #""id" is not a GUID (8-4-4-4-12 hex digits), found "3f2504e0-4f89-11d3-9a0c-0305e82c330g""#
        ),
        (
            minimalLine(#","id":"3f2504e0a4f89-11d3-9a0c-0305e82c3301""#),
            #""id" is not a GUID (8-4-4-4-12 hex digits), found "3f2504e0a4f89-11d3-9a0c-0305e82c3301""#
        ),
        (minimalLine(#","id":42"#), #""id" must be a GUID string, found 42"#),
        (
            minimalLine(#","classification":"Hotfixes""#),
            #"unknown classification "Hotfixes" (expected one of: Critical Updates, Definition Updates, Drivers, Feature Packs, Security Updates, Service Packs, Tools, Update Rollups, Updates, Upgrades)"#
        ),
        (
            minimalLine(#","languages":[]"#),
            #""languages" must be a non-empty array of language codes (strings), or ["all"], found []"#
        ),
        (
            minimalLine(#","languages":"all""#),
            #""languages" must be a non-empty array of language codes (strings), or ["all"], found "all""#
        ),
        (
            minimalLine(#","languages":["en",3]"#),
            #""languages" must be a non-empty array of language codes (strings), or ["all"], found ["en",3]"#
        ),
        (
            minimalLine(#","released":"2026-13-01T00:00:00Z""#),
            #""released" must be an RFC 3339 timestamp such as "2026-11-11T18:00:00Z", found "2026-13-01T00:00:00Z""#
        ),
        (
            minimalLine(#","released":"2026-11-11 18:00:00""#),
            #""released" must be an RFC 3339 timestamp such as "2026-11-11T18:00:00Z", found "2026-11-11 18:00:00""#
        ),
        (
            minimalLine(#","revised":"yesterday""#),
            #""revised" must be an RFC 3339 timestamp such as "2026-11-11T18:00:00Z" or null, found "yesterday""#
        ),
        (
            minimalLine(#","severity":"Urgent""#),
            #""severity" must be one of Critical, Important, Moderate, Low or null, found "Urgent""#
        ),
        (minimalLine(#","expired":"yes""#), #""expired" must be true, false or null, found "yes""#),
        (minimalLine(#","size":-1"#), #""size" must be an integer ≥ 0 or null, found -1"#),
        (minimalLine(#","kb":5046617"#), #""kb" must be a string or null, found 5046617"#),
        (minimalLine(#","supersedes":"x""#), #""supersedes" must be an array of GUID strings or null, found "x""#),
        (
            minimalLine(#","supersedes":["nope"]"#),
            #""supersedes" contains a value that is not a GUID (8-4-4-4-12 hex digits): "nope""#
        ),
        (
            minimalLine(#","url":"a\qb""#),
            #"invalid JSON at column 175: expected an escape (\" \\ \/ \b \f \n \r \t \uXXXX), found 'q'"#
        ),
        (
            minimalLine(#","url":"\ud800x""#),
            #"invalid JSON at column 179: expected a low surrogate \uDC00-\uDFFF after a high surrogate, found 'x'"#
        ),
        (
            minimalLine(#","url":"\u12G4""#),
            #"invalid JSON at column 177: expected four hex digits after \u, found 'G'"#
        ),
        (
            minimalLine(",\"url\":\"a\tb\""),
            "invalid JSON at column 174: expected a string without raw control characters (escape them), found byte 0x9"
        ),
        (minimalLine(#","x":01"#), "invalid JSON at column 171: expected ',' or '}', found '1'"),
        (minimalLine(#","x":[1,]"#), "invalid JSON at column 173: expected a JSON value, found ']'"),
        (minimalLine(#","x":tru"#), "invalid JSON at column 170: expected a JSON value, found 't'"),
        (minimalLine(#","x" 1"#), "invalid JSON at column 170: expected ':' after the field name, found '1'"),
        (minimalLine(",x:1"), "invalid JSON at column 166: expected a field name in double quotes, found 'x'"),
        (
            minimalLine("," + String(repeating: "[", count: 70) + String(repeating: "]", count: 70)),
            "invalid JSON at column 166: expected a field name in double quotes, found '['"
        ),
        (
            minimalLine(#","x":"# + String(repeating: "[", count: 70) + String(repeating: "]", count: 70)),
            "invalid JSON at column 234: expected at most 64 levels of nesting, found '['"
        ),
    ]

    @Test(arguments: badLines)
    func rejectsWithAClearMessage(line: String, message: String) {
        #expect(throws: CatalogError(line: 17, message: message, code: Self.expectedCode(message))) {
            try CatalogRecordParser.parse(line, line: 17)
        }
    }

    static func expectedCode(_ message: String) -> CatalogError.Code {
        message.hasPrefix("invalid JSON") || message.hasPrefix("empty line") ? .invalidJSON : .invalidRecord
    }

    @Test func describesWithLinePrefix() {
        let error = CatalogError(line: 17, message: #"missing required field "product""#)
        #expect(error.description == #"line 17: missing required field "product""#)
        #expect(CatalogError(line: nil, message: "x", code: .invalidGzip).description == "x")
    }

    @Test func rejectsInvalidUTF8InsideStrings() {
        var bytes = Array(minimalLine().utf8)
        let title = bytes.firstIndex(of: UInt8(ascii: "T"))!
        bytes[title] = 0xC3  // a lead byte followed by '"': a truncated sequence
        let error = bytes.withUnsafeBytes { buffer in
            #expect(throws: CatalogError.self) { try CatalogRecordParser.parse(buffer, line: 3) }
        }
        #expect(error == CatalogError(line: 3, message: "not valid UTF-8 (byte offset \(title))", code: .invalidUTF8))
    }
}

@Suite("RFC 3339 timestamps")
struct RFC3339CatalogTests {
    @Test(
        arguments: [
            ("2026-11-11T18:00:00Z", 1_794_420_000), ("2026-11-11t18:00:00z", 1_794_420_000),
            ("2026-11-11T20:00:00+02:00", 1_794_420_000), ("2026-11-11T12:30:00-05:30", 1_794_420_000),
            ("2026-11-11T18:00:00.999999Z", 1_794_420_000), ("2026-11-11T18:00:00.5+00:00", 1_794_420_000),
            ("1970-01-01T00:00:00Z", 0), ("1969-12-31T23:59:59Z", -1), ("2024-02-29T23:59:59Z", 1_709_251_199),
            ("2000-02-29T00:00:00Z", 951_782_400), ("2016-12-31T23:59:60Z", 1_483_228_800),
        ] as [(String, Int64)])
    func parses(text: String, epoch: Int64) {
        #expect(RFC3339.epochSeconds(text) == epoch)
    }

    @Test(arguments: [
        "", "2026-11-11", "2026-11-11T18:00:00", "2026-11-11T18:00Z", "2026-11-11 18:00:00Z", "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-00-10T00:00:00Z", "2026-11-11T24:00:00Z",
        "2026-11-11T18:60:00Z", "2026-11-11T18:00:61Z", "2026-11-11T18:00:00.Z", "2026-11-11T18:00:00+2:00",
        "2026-11-11T18:00:00+02:60", "2026-11-11T18:00:00+0200", "2026-11-11T18:00:00Zx", "2026-11-11T18:00:00 Z",
        "२०२६-11-11T18:00:00Z", "2026/11/11T18:00:00Z",
    ])
    func rejects(text: String) {
        #expect(RFC3339.epochSeconds(text) == nil)
    }

    @Test func formatsAndRoundTrips() {
        for epoch: Int64 in [0, -1, 951_782_400, 1_794_420_000, 4_102_444_799, -62_135_596_800] {
            let text = RFC3339.format(epochSeconds: epoch)
            #expect(RFC3339.epochSeconds(text) == epoch, "\(text)")
        }
        #expect(RFC3339.format(epochSeconds: 1_794_420_000) == "2026-11-11T18:00:00Z")
    }
}
