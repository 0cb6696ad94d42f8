import Foundation
import Testing

/// Bad upstream input fails the sync with a clear error and leaves updates and catalog version as they were.
@Suite("bad upstream input", .serialized)
struct BadUpstreamTests {
    static let good = (1...5).map { catalogLine($0) }

    /// (kind, catalog file bytes, expected words in the error).
    static let fileCases: [(String, [UInt8], String)] = [
        (
            "truncated line",
            Array(
                (good.joined(separator: "\n") + "\n"
                    + #"{"id":"00000000-0000-4000-8000-000000000009","revision":1,"tit"#).utf8), "line 6"
        ),
        (
            "wrong type",
            Array(catalogLine(1).replacingOccurrences(of: #""revision":1"#, with: #""revision":"one""#).utf8),
            "revision"
        ),
        (
            "missing field", Array(catalogLine(1).replacingOccurrences(of: #""product":"Windows 11","#, with: "").utf8),
            "product"
        ),
        (
            "invalid GUID",
            Array(
                catalogLine(1).replacingOccurrences(of: "00000000-0000-4000-8000-000000000001", with: "not-a-guid").utf8
            ), "GUID"
        ),
        (
            "revision 0", Array(catalogLine(1).replacingOccurrences(of: #""revision":1"#, with: #""revision":0"#).utf8),
            "revision"
        ),
        (
            "non-UTF-8",
            Array(catalogLine(1).utf8) + [0x0A] + Array(#"{"id":"x","title":"caf"#.utf8) + [0xE9, 0x22, 0x7D], "UTF-8"
        ),
        ("empty file", [], "empty"),
        (
            "gzip garbage",
            [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03] + Array("this is not deflate data".utf8),
            "gzip"
        ),
        (
            "unknown classification",
            Array(catalogLine(1).replacingOccurrences(of: "Security Updates", with: "Nice Updates").utf8),
            "classification"
        ),
        (
            "bad release date",
            Array(catalogLine(1).replacingOccurrences(of: "2026-01-01T00:00:00Z", with: "yesterday").utf8), "released"
        ),
        ("array instead of object", Array("[1,2,3]\n".utf8), "line 1"),
        ("trailing garbage", Array((catalogLine(1) + " xyz\n").utf8), "line 1"),
    ]

    func expectUnchanged(_ site: TopSiteFixture, reference: [[String: Any]], version: Int) throws {
        let updates = try site.updates()
        #expect(updates.count == reference.count)
        #expect(Set(updates.compactMap { $0["id"] as? String }) == Set(reference.compactMap { $0["id"] as? String }))
        let ping = try site.ctl(["ping", "--json"])
        #expect(ping.stdout.contains("\"catalog_version\":\(version)"), "\(ping.stdout)")
    }

    @Test("malformed catalog files")
    func malformedFiles() async throws {
        let site = try TopSiteFixture(label: "badfile")
        try site.writeCatalog(Self.good)
        _ = try await site.start()
        #expect(try site.ctl(["sync", "--wait"]).status == 0)
        let reference = try site.updates()
        for (kind, bytes, expected) in Self.fileCases {
            try Data(bytes).write(to: site.catalogPath)
            let result = try site.ctl(["sync", "--wait"])
            #expect(result.status == 1, "\(kind): sync did not fail")
            #expect(result.stderr.contains(expected), "\(kind): \(result.stderr)")
            #expect(result.stderr.contains("nothing was applied"), "\(kind): \(result.stderr)")
            try expectUnchanged(site, reference: reference, version: 1)
        }
        // A missing file.
        try FileManager.default.removeItem(at: site.catalogPath)
        let missing = try site.ctl(["sync", "--wait"])
        #expect(missing.status == 1 && missing.stderr.contains("no such file"), "\(missing.stderr)")
        try expectUnchanged(site, reference: reference, version: 1)
        #expect(try site.history().filter { $0["result"] as? String == "failed" }.count == Self.fileCases.count + 1)
    }

    @Test("a 100 MB line fails fast in bounded memory")
    func hugeLine() async throws {
        let site = try TopSiteFixture(label: "hugeline")
        try site.writeCatalog(Self.good)
        _ = try await site.start()
        #expect(try site.ctl(["sync", "--wait"]).status == 0)
        let reference = try site.updates()
        let handle = try FileHandle(forWritingTo: site.catalogPath)
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data((catalogLine(1) + "\n{\"title\":\"").utf8))
        let chunk = Data(repeating: 0x61, count: 1 << 20)
        for _ in 0..<100 { try handle.write(contentsOf: chunk) }
        try handle.write(contentsOf: Data("\"}\n".utf8))
        try handle.close()
        let result = try site.ctl(["sync", "--wait"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("line 2") && result.stderr.contains("longer than"), "\(result.stderr)")
        try expectUnchanged(site, reference: reference, version: 1)
        let status = try String(contentsOfFile: "/proc/\(site.daemon!.pid)/status", encoding: .utf8)
        let rss =
            status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { Int($0.split(separator: " ")[1]) }
            ?? 0
        #expect(rss < 150_000, "peak RSS \(rss) kB")
    }

    @Test("HTTP failures: 500 and connection refused")
    func httpFailures() async throws {
        let upstream = try await UpstreamServer()
        defer { upstream.stop() }
        let site = try TopSiteFixture(label: "badhttp", catalogURL: upstream.url)
        site.hierarchy.upstream += "\ntimeout = \"2s\""
        try site.hierarchy.write()
        upstream.serve(Data((Self.good.joined(separator: "\n") + "\n").utf8), etag: "\"g\"")
        _ = try await site.start()
        #expect(try site.ctl(["sync", "--wait"]).status == 0)
        let reference = try site.updates()

        upstream.serve(Data(), etag: "\"h\"", mode: .status(500))
        var result = try site.ctl(["sync", "--wait", "--full"])
        #expect(result.status == 1 && result.stderr.contains("HTTP 500"), "\(result.stderr)")
        try expectUnchanged(site, reference: reference, version: 1)

        upstream.stop()
        try await waitUntil("the upstream to stop") { !TestEnvironment.isListening(port: upstream.port) }
        result = try site.ctl(["sync", "--wait", "--full"])
        #expect(result.status == 1 && result.stderr.contains("connection refused"), "\(result.stderr)")
        try expectUnchanged(site, reference: reference, version: 1)
    }

    @Test("a body cut short and a stalled upstream fail the sync")
    func cutShortAndStalled() async throws {
        let body = (Self.good.joined(separator: "\n") + "\n")
        let head = "HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count + 5000)\r\nETag: \"c\"\r\n\r\n"
        let cut = try RawHTTPServer(response: Data((head + body).utf8))
        defer { cut.stop() }
        let site = try TopSiteFixture(label: "cut", catalogURL: cut.url)
        site.hierarchy.upstream += "\ntimeout = \"2s\""
        try site.hierarchy.write()
        _ = try await site.start()
        var result = try site.ctl(["sync", "--wait"])
        #expect(result.status == 1, "\(result.stdout)")
        #expect(result.stderr.contains("nothing was applied"), "\(result.stderr)")
        #expect(try site.updates().isEmpty)

        let stalled = try RawHTTPServer(response: Data((head + body).utf8), hold: 10)
        defer { stalled.stop() }
        site.hierarchy.upstream = "catalog = \"\(stalled.url)\"\ntimeout = \"2s\""
        try site.hierarchy.write()
        site.daemon!.signal(SIGHUP)
        try await waitUntil("the reload") { site.daemon!.log.contains("Configuration reloaded") }
        result = try site.ctl(["sync", "--wait"])
        #expect(result.status == 1 && result.stderr.contains("sent nothing for 2 s"), "\(result.stderr)")
        #expect(try site.updates().isEmpty)

    }

    @Test("gzip: a .gz file and Content-Encoding: gzip both sync")
    func gzipSources() async throws {
        let site = try TopSiteFixture(label: "gzip")
        let plain = site.folder.appendingPathComponent("plain.ndjson")
        try (Self.good.joined(separator: "\n") + "\n").write(to: plain, atomically: true, encoding: .utf8)
        let gzip = try CLI.exec("/bin/gzip", ["-k", "-f", plain.path])
        #expect(gzip.status == 0)
        try FileManager.default.copyItem(
            at: site.folder.appendingPathComponent("plain.ndjson.gz"), to: site.catalogPath)
        _ = try await site.start()
        let result = try site.ctl(["sync", "--wait"])
        #expect(result.status == 0 && result.stdout.contains("5 new"), "\(result.stderr)")

        let upstream = try await UpstreamServer()
        defer { upstream.stop() }
        let compressed = try Data(contentsOf: site.folder.appendingPathComponent("plain.ndjson.gz"))
        upstream.serve(compressed, etag: "\"z\"", mode: .gzip)
        let http = try TopSiteFixture(label: "gziphttp", catalogURL: upstream.url)
        _ = try await http.start()
        let answer = try http.ctl(["sync", "--wait"])
        #expect(answer.status == 0 && answer.stdout.contains("5 new"), "\(answer.stderr)")
    }
}
