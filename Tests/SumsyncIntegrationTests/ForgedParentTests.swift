import Foundation
import Testing

/// Whoever answers on a parent's address (a program on its port while its sumsyncd is down, a wrong
/// url, a box on the path) cannot make a child apply a stream the child did not ask for: issue 14's
/// fake-parent findings, over plain http, against a real child daemon.
@Suite("a forged parent", .serialized)
struct ForgedParentTests {
    /// A change stream answering any request: `header` and one record.
    static func answer(header: String) -> Data {
        let record =
            #"{"id":"6f1c3a2e-0b4d-4e8a-9c7f-2d5e8a1b3c4d","revision":1,"title":"EVIL","product":"Windows 11","#
            + #""classification":"Security Updates","languages":["en"],"released":"2026-11-11T18:00:00Z","#
            + #""expired":false,"url":"http://evil.example/payload.exe"}"#
        let body = header + "\n" + record + "\n" + #"{"end":999,"upserts":1,"removals":0}"# + "\n"
        return Data("HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
    }

    @Test(
        "a stream naming another site, or not from the version asked for, changes nothing and is logged",
        arguments: [
            (
                #"{"sumsync":"changes","site":"SE1","from":0,"to":999,"full":true,"upserts":1,"removals":0}"#,
                "it names site SE1, not the parent CAS"
            ),
            (
                #"{"sumsync":"changes","site":"CAS","from":5,"to":999,"full":false,"upserts":1,"removals":0}"#,
                "a full snapshot was asked for, and it holds the changes from version 5"
            ),
        ])
    func forgedStreamIsRefused(header: String, reason: String) async throws {
        let folder = TestEnvironment.scratch("forged")
        defer { try? FileManager.default.removeItem(at: folder) }
        let fake = try RawHTTPServer(response: Self.answer(header: header))
        defer { fake.stop() }
        var hierarchy = TestHierarchy(folder: folder, codes: [("CAS", nil), ("PR1", "CAS")])
        hierarchy.sites[0].port = fake.port
        let config = try hierarchy.write()
        let child = try DaemonProcess(config: config, site: "PR1", folder: folder)
        defer { child.stop() }
        try await child.waitUntilReady()
        // The child catches up with its "parent" at start and is refused.
        try await waitUntil("the refusal in the log") { child.log.contains("Refused the change stream") }
        #expect(child.log.contains("Refused the change stream from parent CAS: \(reason); nothing was applied."))
        let updates = try CLI.run(["updates", "--json"] + child.ctlOptions)
        #expect(updates.status == 0, "\(updates.stderr)")
        #expect(!updates.stdout.contains("EVIL"), "\(updates.stdout)")
        let ping = try CLI.run(["ping", "--json"] + child.ctlOptions)
        #expect(ping.stdout.contains(#""catalog_version":0"#), "\(ping.stdout)")
    }

    @Test("a stream that ends below the child's version changes nothing (a parent's address taken over)")
    func streamBelowOwnVersionIsRefused() async throws {
        let tree = try HierarchyFixture(label: "forged-below", codes: [("CAS", nil), ("PR1", "CAS")])
        try tree.writeCatalog((1...4).map { catalogLine($0) })
        try await tree.startAll()
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try tree.writeCatalog((1...5).map { catalogLine($0) })
        #expect(try tree.ctl("CAS", ["sync", "--wait"]).status == 0)
        try await tree.waitForConvergence(version: 2)
        let reference = try tree.updates("PR1")
        // Whoever now answers on the parent's address sends a stream from 2 that ends at version 1.
        let fake = try RawHTTPServer(
            response: Self.answer(
                header: #"{"sumsync":"changes","site":"CAS","from":2,"to":1,"full":false,"upserts":1,"removals":0}"#))
        defer { fake.stop() }
        tree.hierarchy.sites[0].port = fake.port
        try tree.hierarchy.write()
        let child = tree.daemons["PR1"]!
        child.signal(SIGHUP)
        try await waitUntil("PR1 reloaded") { child.log.contains("Configuration reloaded") }
        _ = try tree.ctl("PR1", ["sync", "--wait"])
        try await waitUntil("the refusal in the log") { child.log.contains("Refused the change stream") }
        #expect(
            child.log.contains("it ends at version 1, below this site's version 2"), "\(child.log.suffix(3_000))")
        #expect(try tree.version("PR1") == 2)
        #expect(try tree.updates("PR1") == reference, "nothing of the forged stream was applied")
    }
}
