import Foundation

/// Change streams written for children, shared between them: after a sync, every child of a site asks
/// for the same changes at the same moment, and each stream is written once (the first request writes
/// it, the others wait for it) and served from the same file.
///
/// A stream is kept while the site's catalog version stays what it was written at, and at most
/// ``keep`` after it was written; files live in the state folder as `changes-*.feed` (a daemon that
/// starts removes leftovers).
actor ChangeFeedCache {
    struct Feed: Sendable {
        let path: String
        let header: ChangeFeed.Header
        let written: ContinuousClock.Instant
        /// How long writing it took, phase by phase (for the log).
        var phases = ""
    }

    private let folder: String
    private let keep: Duration
    private var writing: [Int: Task<Feed, any Error>] = [:]
    private var ready: [Int: Feed] = [:]

    init(folder: String, keep: Duration = .seconds(120)) {
        self.folder = folder
        self.keep = keep
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in leftovers where name.hasPrefix("changes-") && name.hasSuffix(".feed") {
            unlink((folder as NSString).appendingPathComponent(name))
        }
    }

    /// The stream for `since` at catalog version `version`, opened for reading: shared when one is
    /// written or being written; otherwise `write` writes it to the path it is given.
    func stream(
        since: Int, version: Int, write: @escaping @Sendable (String, inout PhaseTimes) throws -> ChangeFeed.Header
    ) async throws -> (header: ChangeFeed.Header, chunks: FileChunks, phases: String) {
        prune(version: version)
        if let feed = ready[since] { return (feed.header, try FileChunks(path: feed.path), "shared") }
        let task: Task<Feed, any Error>
        if let pending = writing[since] {
            task = pending
        } else {
            let path = (folder as NSString).appendingPathComponent("changes-\(UUID().uuidString).feed")
            task = Task {
                // Blocking database and file work: on a Dispatch thread, not the cooperative pool.
                try await withCheckedThrowingContinuation { continuation in
                    DispatchQueue.global().async {
                        do {
                            var phases = PhaseTimes()
                            let header = try write(path, &phases)
                            continuation.resume(returning: Feed(path: path, header: header, written: .now, phases: phases.summary))
                        } catch {
                            unlink(path)
                            continuation.resume(throwing: error)
                        }
                    }
                }
            }
            writing[since] = task
        }
        do {
            let feed = try await task.value
            if writing[since] == task {
                writing[since] = nil
                ready[since] = feed
            }
            return (feed.header, try FileChunks(path: feed.path), feed.phases)
        } catch {
            if writing[since] == task { writing[since] = nil }
            throw error
        }
    }

    /// Drops (and unlinks) streams of another catalog version or older than ``keep``; a file being
    /// served stays readable through its open descriptor.
    private func prune(version: Int) {
        let now = ContinuousClock.now
        for (since, feed) in ready where feed.header.to != version || now - feed.written > keep {
            ready[since] = nil
            unlink(feed.path)
        }
    }
}
