import Foundation
import Testing

@testable import SumsyncFormats
@testable import SumsyncTestSupport

/// A temporary directory removed when the test ends.
final class CatalogTestDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "sumsync-catalog-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` to `name` and returns the full path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    /// `gzip -c` of `bytes`, produced by the real gzip tool so the reader is tested against it.
    func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let input = try write("gzip-input-\(UUID().uuidString)", bytes)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-c", "-n", input]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try FileManager.default.removeItem(atPath: input)
        #expect(process.terminationStatus == 0)
        return Array(data)
    }
}

/// Every non-blank line the reader yields, as (number, text).
func readAllLines(_ reader: CatalogLineReader) throws -> [(Int, String)] {
    var lines: [(Int, String)] = []
    try reader.forEachLine { number, bytes in
        lines.append((number, String(decoding: bytes, as: UTF8.self)))
    }
    return lines
}

@Suite("Catalog line reader")
struct CatalogLineReaderTests {
    @Test func numbersLinesAndSkipsBlankOnes() throws {
        let dir = try CatalogTestDirectory()
        let file = try dir.write("c.ndjson", "{\"a\":1}\n\n  \t\r\n{\"b\":2}\r\n{\"c\":3}")
        let reader = try CatalogLineReader(path: file)
        let lines = try readAllLines(reader)
        #expect(lines.map(\.0) == [1, 4, 5])
        #expect(lines.map(\.1) == ["{\"a\":1}", "{\"b\":2}\r", "{\"c\":3}"])
        #expect(reader.bytesRead == reader.fileSize && reader.fileSize == 30)
        #expect(reader.lineNumber == 5 && !reader.isCompressed)
        #expect(try readAllLines(reader).isEmpty, "one pass only")
    }

    @Test func skipsAByteOrderMarkOnlyAtTheStart() throws {
        let dir = try CatalogTestDirectory()
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let file = try dir.write("bom", bom + Array("{\"a\":1}\n".utf8) + bom + Array("{}\n".utf8))
        let lines = try readAllLines(try CatalogLineReader(path: file))
        #expect(lines.map(\.1) == ["{\"a\":1}", "\u{FEFF}{}"])
    }

    @Test func emptyAndBlankFilesYieldNothing() throws {
        let dir = try CatalogTestDirectory()
        for content in ["", "\n", "  \n\t\n", "\r\n"] {
            let reader = try CatalogLineReader(path: try dir.write("e", content))
            #expect(try readAllLines(reader).isEmpty)
        }
        #expect(CatalogError.empty.code == .empty && CatalogError.empty.line == nil)
        #expect(CatalogError.empty.description.hasPrefix("the catalog is empty"))
    }

    /// Tiny chunks put line ends at every position relative to chunk boundaries.
    @Test(arguments: [4_096, 4_099, 65_536])
    func agreesWithASimpleSplitAcrossChunkBoundaries(chunkSize: Int) throws {
        let dir = try CatalogTestDirectory()
        let file = dir.path + "/g.ndjson"
        try CatalogGenerator(seed: 3, count: 1_500).write(to: file)
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let expected = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        let lines = try readAllLines(try CatalogLineReader(path: file, chunkSize: chunkSize))
        #expect(lines.map(\.1) == expected)
        #expect(lines.map(\.0) == Array(1...expected.count))
    }

    @Test func decompressesGzipWhateverTheName() throws {
        let dir = try CatalogTestDirectory()
        let plain = dir.path + "/plain.ndjson"
        try CatalogGenerator(seed: 9, count: 2_000).write(to: plain)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: plain)))
        let compressed = try dir.gzip(bytes)
        let file = try dir.write("catalog.ndjson", compressed)  // no .gz: detected by magic bytes
        let reader = try CatalogLineReader(path: file, chunkSize: 4_096)
        let lines = try readAllLines(reader)
        #expect(lines.map(\.1) == (try readAllLines(try CatalogLineReader(path: plain))).map(\.1))
        #expect(reader.isCompressed)
        #expect(reader.bytesRead == Int64(compressed.count) && reader.fileSize == Int64(compressed.count))
    }

    @Test func readsConcatenatedGzipMembers() throws {
        let dir = try CatalogTestDirectory()
        let first = try dir.gzip(Array("{\"a\":1}\n{\"b\":2}\n".utf8))
        let empty = try dir.gzip([])
        let second = try dir.gzip(Array("{\"c\":3}".utf8))
        let file = try dir.write("multi.gz", first + empty + second)
        #expect(
            try readAllLines(try CatalogLineReader(path: file)).map(\.1) == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
    }

    @Test func refusesGzipGarbage() throws {
        let dir = try CatalogTestDirectory()
        let file = try dir.write("garbage.gz", [0x1F, 0x8B, 0x08, 0x00] + Array(repeating: 0xA5, count: 200))
        let error = #expect(throws: CatalogError.self) { try readAllLines(try CatalogLineReader(path: file)) }
        #expect(error?.line == nil && error?.code == .invalidGzip)
        #expect(error?.message.hasPrefix("not a valid gzip stream: ") == true)
        let notGzip = try dir.write("garbage2.gz", [0x1F, 0x8B, 0x07] + Array(repeating: 0, count: 20))
        #expect(
            throws: CatalogError(
                line: nil, message: "not a valid gzip stream: unknown compression method", code: .invalidGzip)
        ) {
            try readAllLines(try CatalogLineReader(path: notGzip))
        }
    }

    @Test func refusesTruncatedGzip() throws {
        let dir = try CatalogTestDirectory()
        let plain = dir.path + "/p"
        try CatalogGenerator(seed: 1, count: 300).write(to: plain)
        let compressed = try dir.gzip(Array(try Data(contentsOf: URL(fileURLWithPath: plain))))
        for cut in [compressed.count / 2, compressed.count - 4] {
            let file = try dir.write("cut.gz", Array(compressed.prefix(cut)))
            #expect(
                throws: CatalogError(
                    line: nil, message: "not a valid gzip stream: unexpected end of file (the file is truncated)",
                    code: .invalidGzip)
            ) { try readAllLines(try CatalogLineReader(path: file)) }
        }
    }

    @Test func refusesDataAfterTheLastGzipMember() throws {
        let dir = try CatalogTestDirectory()
        let file = try dir.write("tail.gz", try dir.gzip(Array("{}\n".utf8)) + Array("junk".utf8))
        #expect(
            throws: CatalogError(
                line: nil, message: "not a valid gzip stream: unexpected data after the end of the compressed data",
                code: .invalidGzip)
        ) { try readAllLines(try CatalogLineReader(path: file)) }
    }

    @Test func refusesInvalidUTF8WithTheOffset() throws {
        let dir = try CatalogTestDirectory()
        // A stray byte, a broken sequence, a UTF-16 surrogate, a code point above U+10FFFF, an overlong '/'.
        let cases: [[UInt8]] = [[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF]]
        for bad in cases {
            let file = try dir.write("u", Array("{}\n{\"a\":\"".utf8) + bad + Array("\"}\n".utf8))
            #expect(throws: CatalogError(line: 2, message: "not valid UTF-8 (byte offset 6)", code: .invalidUTF8)) {
                try readAllLines(try CatalogLineReader(path: file))
            }
        }
        let fine = try dir.write("ok", "{\"a\":\"é日😀\"}\n")
        #expect(try readAllLines(try CatalogLineReader(path: fine)).count == 1)
    }

    @Test func acceptsALineAtTheLimitAndRefusesOneByteMore() throws {
        let dir = try CatalogTestDirectory()
        let limit = 5_000
        let exact = String(repeating: "x", count: limit)
        let file = try dir.write("l", "a\n" + exact + "\n" + exact + "y\nb")
        var seen: [Int] = []
        let error = #expect(throws: CatalogError.self) {
            try CatalogLineReader(path: file, maxLineLength: limit, chunkSize: 4_096).forEachLine { number, _ in
                seen.append(number)
            }
        }
        #expect(seen == [1, 2])
        #expect(error == CatalogError(line: 3, message: "longer than 5000 bytes", code: .lineTooLong))
    }

    /// A 100 MB line is refused after reading little more than the limit: memory stays bounded.
    @Test func refusesAHundredMegabyteLineWithoutReadingIt() throws {
        let dir = try CatalogTestDirectory()
        let file = dir.path + "/huge.ndjson"
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try handle.write(contentsOf: Data("{\"id\":\"1\"}\n{\"title\":\"".utf8))
        let chunk = Data(repeating: UInt8(ascii: "a"), count: 1 << 20)
        for _ in 0..<100 { try handle.write(contentsOf: chunk) }
        try handle.write(contentsOf: Data("\"}\n".utf8))
        try handle.close()

        let reader = try CatalogLineReader(path: file)
        var lines = 0
        #expect(throws: CatalogError(line: 2, message: "longer than 1 MiB", code: .lineTooLong)) {
            try reader.forEachLine { _, _ in lines += 1 }
        }
        #expect(lines == 1)
        #expect(reader.fileSize > 100 << 20)
        #expect(reader.bytesRead <= 3 << 20, "read \(reader.bytesRead) bytes of a 100 MiB line")
    }

    /// For `skip-invalid`, bad lines go to a handler and reading goes on, even past an over-long line.
    @Test func handsInvalidLinesToAHandlerAndContinues() throws {
        let dir = try CatalogTestDirectory()
        let long = String(repeating: "z", count: 20_000)
        let file = try dir.write(
            "s", Array("{\"a\":1}\n".utf8) + [0xFF, 0x0A] + Array((long + "\n{\"b\":2}\n" + long).utf8))
        var errors: [CatalogError] = []
        var lines: [Int] = []
        let reader = try CatalogLineReader(path: file, maxLineLength: 8_192, chunkSize: 4_096)
        try reader.forEachLine(onInvalidLine: { errors.append($0) }, { number, _ in lines.append(number) })
        #expect(lines == [1, 4])
        #expect(
            errors.map(\.description) == [
                "line 2: not valid UTF-8 (byte offset 0)", "line 3: longer than 8 KiB", "line 5: longer than 8 KiB",
            ])
    }

    @Test func explainsUnreadableFiles() throws {
        let dir = try CatalogTestDirectory()
        #expect(
            throws: CatalogError(
                line: nil, message: "cannot open catalog \(dir.path)/missing: No such file or directory",
                code: .unreadable)
        ) { try CatalogLineReader(path: dir.path + "/missing") }
        #expect(
            throws: CatalogError(
                line: nil, message: "cannot read catalog \(dir.path): it is a directory", code: .unreadable)
        ) { try CatalogLineReader(path: dir.path) }
    }

    @Test func passesOnErrorsFromTheBody() throws {
        struct Stop: Error {}
        let dir = try CatalogTestDirectory()
        let reader = try CatalogLineReader(path: try dir.write("b", "{}\n{}\n{}\n"))
        var calls = 0
        #expect(throws: Stop.self) {
            try reader.forEachLine { number, _ in
                calls += 1
                if number == 2 { throw Stop() }
            }
        }
        #expect(calls == 2)
    }

    @Test func readsFromAPipe() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let text = Array("{\"a\":1}\n{\"b\":2}\n".utf8)
        #expect(write(fds[1], text, text.count) == text.count)
        close(fds[1])
        let reader = try CatalogLineReader(fileDescriptor: fds[0], closeWhenDone: true, name: "download")
        #expect(try readAllLines(reader).map(\.0) == [1, 2])
        #expect(reader.fileSize == 0 && reader.bytesRead == Int64(text.count))
    }
}
