import Dispatch
import Foundation
import SumsyncModel
import SumsyncStore
import Synchronization

/// The two site databases the change-stream target applies each input to: an empty one (a child's
/// first full snapshot, which takes the stream's supersedence) and one holding ``baseStream`` at version 1
/// (a child's delta or later snapshot, which compares with stored rows). A refused stream leaves a
/// database as it was (the apply is one transaction); one that was applied replaces it with a fresh one,
/// so every input meets the same two databases and a finding reproduces.
final class ChangeStreamSites: Sendable {
    /// One a process (the target's inputs run one at a time; the lock keeps parallel tests apart).
    static let shared = Mutex<ChangeStreamSites?>(nil)

    /// The folder of this process's databases, removed when the process exits (the last ones are never
    /// released).
    static let folder: String = {
        atexit { try? FileManager.default.removeItem(atPath: ChangeStreamSites.folder) }
        return NSTemporaryDirectory() + "/sumsync-fuzz-change-stream-\(getpid())"
    }()

    /// Two updates, the second superseding the first, as a parent's first snapshot at version 1.
    static let baseStream = """
        {"sumsync":"changes","site":"CAS","from":0,"to":1,"full":true,"upserts":2,"removals":0,"superseded_by":true}
        {"id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","revision":1,"title":"Security Update A","product":"Windows 11","classification":"Security Updates","languages":["en"],"released":"2026-01-10T10:00:00Z","expired":false,"superseded_by":"6b29fc40-ca47-1067-b31d-00dd010662da","superseded_released":1768125600}
        {"id":"6b29fc40-ca47-1067-b31d-00dd010662da","revision":2,"title":"Security Update B","product":"Windows 11","classification":"Security Updates","languages":["en","de"],"released":"2026-01-11T10:00:00Z","supersedes":["3f2504e0-4f89-11d3-9a0c-0305e82c3301"],"expired":false}
        {"end":1,"upserts":2,"removals":0}

        """

    let folder: String
    let empty: SiteStore
    let seeded: SiteStore

    /// Makes both databases in a new folder in ``folder``.
    init() throws {
        folder = Self.folder + "/" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        empty = try SiteStore(path: folder + "/empty.sqlite")
        seeded = try SiteStore(path: folder + "/seeded.sqlite")
        let base = folder + "/base.changes"
        try Data(Self.baseStream.utf8).write(to: URL(fileURLWithPath: base))
        _ = try Self.wait { [seeded] in
            try await seeded.apply(ChangeApplier(path: base, source: "the fuzz base"), progress: SyncProgress())
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Applies the stream at `path` to `store`; the new catalog version, or nil when it was refused.
    func apply(_ path: String, to store: SiteStore) -> Int? {
        let applier = ChangeApplier(path: path, source: "fuzz input")
        return try? Self.wait { try await store.apply(applier, progress: SyncProgress()).version }
    }

    /// Runs `body` to its end from synchronous code (libFuzzer's callback) and returns what it returned.
    static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            let outcome: Result<T, any Error>
            do {
                outcome = .success(try await body())
            } catch {
                outcome = .failure(error)
            }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
