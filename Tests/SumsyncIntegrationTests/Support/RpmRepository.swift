import Foundation
import Hummingbird
import NIOCore
import Synchronization
import Testing

/// RPM repositories made by the real tools (`createrepo_c`, `modifyrepo_c`, createrepo_c's Python
/// bindings, `zstd`) through `scripts/rpm-repo.py`, which runs under Debian's `/usr/bin/python3`.
enum RpmTool {
    static let script = TestEnvironment.repoRoot.appendingPathComponent("scripts/rpm-repo.py").path

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let result = try CLI.exec("/usr/bin/python3", [script] + arguments)
        guard result.status == 0 else {
            throw TestFailure("rpm-repo.py \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result.stdout
    }

    /// An updateinfo.xml of `count` advisories written by createrepo_c's UpdateInfoXmlFile.
    static func generate(
        _ file: URL, count: Int, packages: Int = 4, seed: Int = 1, change: Double = 0, changeSeed: Int = 7
    ) throws {
        var arguments = [
            "generate", file.path, "--count", "\(count)", "--packages", "\(packages)", "--seed", "\(seed)",
        ]
        if change > 0 { arguments += ["--change", "\(change)", "--change-seed", "\(changeSeed)"] }
        try run(arguments)
    }

    /// A repository at `directory` by createrepo_c, with `updateinfo` added (nil: none) compressed as
    /// `compress` (gz, xz, bz2, zst, none). Replaces a repository there.
    static func makeRepository(_ directory: URL, updateinfo: URL?, compress: String = "gz") throws {
        try? FileManager.default.removeItem(at: directory.appendingPathComponent("repodata"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try run(["repo", directory.path, updateinfo?.path ?? "-", "--compress", compress])
    }

    /// What createrepo_c's parser reads from `updateinfo`: one object per advisory, by advisory id.
    static func oracle(_ updateinfo: URL) throws -> [String: [String: Any]] {
        var result: [String: [String: Any]] = [:]
        for line in try run(["oracle", updateinfo.path]).split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            result[object["id"] as! String] = object
        }
        return result
    }

    /// The `updateinfo` file the repository's repomd.xml points at.
    static func updateinfoFile(in directory: URL) throws -> URL {
        let repodata = directory.appendingPathComponent("repodata")
        let name = try #require(
            try FileManager.default.contentsOfDirectory(atPath: repodata.path).first { $0.contains("updateinfo") })
        return repodata.appendingPathComponent(name)
    }

    /// Inserts raw `<update>` elements before `</updates>`.
    static func append(_ updates: String, to file: URL) throws {
        var text = try String(contentsOf: file, encoding: .utf8)
        let end = try #require(text.range(of: "</updates>", options: .backwards))
        text.replaceSubrange(end, with: updates + "\n</updates>")
        try text.write(to: file, atomically: true, encoding: .utf8)
    }
}

/// A folder served over loopback HTTP as a mirror serves a repository: files read at each request,
/// `ETag` and `Last-Modified`, 304 for a matching `If-None-Match`; requests counted per path.
final class RepositoryServer: Sendable {
    private struct State {
        var requests: [String: Int] = [:]
    }

    private final class Box: Sendable { let mutex = Mutex(State()) }
    private let box = Box()
    let port: Int
    let root: URL
    private let task: Task<Void, any Error>

    init(root: URL) async throws {
        let port = TestEnvironment.freePort()
        self.port = port
        self.root = root
        let box = self.box
        let router = Router()
        router.get("**") { request, _ -> Response in
            let path = request.uri.path
            box.mutex.withLock { $0.requests[path, default: 0] += 1 }
            let file = root.appendingPathComponent(String(path.dropFirst()))
            guard !path.contains(".."), let data = FileManager.default.contents(atPath: file.path) else {
                return Response(status: .notFound, body: ResponseBody(byteBuffer: ByteBuffer(string: "not found\n")))
            }
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in data { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            let etag = "\"\(String(hash, radix: 16))\""
            if request.headers[.ifNoneMatch] == etag {
                return Response(status: .notModified, headers: [.eTag: etag])
            }
            return Response(
                status: .ok, headers: [.eTag: etag, .contentType: "application/octet-stream"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        task = Task { try await app.runService() }
        try await waitUntil("the repository test server") { TestEnvironment.isListening(port: port) }
    }

    /// The URL of `folder` under the root (a repository's base, ending in `/`).
    func url(_ folder: String) -> String { "http://127.0.0.1:\(port)/\(folder)/" }

    /// Requests so far for paths containing `fragment`.
    func requests(matching fragment: String) -> Int {
        box.mutex.withLock { state in state.requests.filter { $0.key.contains(fragment) }.values.reduce(0, +) }
    }

    func stop() { task.cancel() }
}
