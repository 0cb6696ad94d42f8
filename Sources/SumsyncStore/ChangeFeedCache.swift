import Foundation
import SumsyncModel

/// Change streams written for children, shared between them: after a sync, every child of a site asks
/// for the same changes at the same moment, and each stream is written once (the first request writes
/// it, the others wait for it) and served from the same file.
///
/// A stream is kept while the site's catalog version stays what it was written at, and at most
/// ``keep`` after it was written; files live in the state folder as `changes-*.feed` (a daemon that
/// starts removes leftovers).
package actor ChangeFeedCache {
    struct Feed: Sendable {
        let path: String
        let header: ChangeFeed.Header
        let written: ContinuousClock.Instant
        /// How long writing it took, phase by phase (for the log).
        var phases = ""
    }

    private let folder: String
    private let keep: Duration
    /// Streams being written, by `since`, with the catalog version they were asked for at.
    private var writing: [Int: (version: Int, task: Task<Feed, any Error>)] = [:]
    private var ready: [Int: Feed] = [:]

    package init(folder: String, keep: Duration = .seconds(120)) {
        self.folder = folder
        self.keep = keep
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in leftovers where name.hasPrefix("changes-") && name.hasSuffix(".feed") {
            unlink((folder as NSString).appendingPathComponent(name))
        }
    }

    /// The stream for `since` at catalog version `version`, opened for reading: shared when one is
    /// written or being written; otherwise `write` writes it to the path it is given.
    package func stream(
        since: Int, version: Int, write: @escaping @Sendable (String, inout PhaseTimes) throws -> ChangeFeed.Header
    ) async throws -> (header: ChangeFeed.Header, chunks: FileChunks, phases: String) {
        prune(version: version)
        if let feed = ready[since] { return (feed.header, try FileChunks(path: feed.path), "shared, \(feed.phases)") }
        let task: Task<Feed, any Error>
        if let pending = writing[since], pending.version == version {
            task = pending.task
        } else {
            task = startWriting(write)
            writing[since] = (version, task)
        }
        do {
            let feed = try await task.value
            finished(since: since, task: task, feed: feed)
            return (feed.header, try FileChunks(path: feed.path), feed.phases)
        } catch {
            finished(since: since, task: task, feed: nil)
            throw error
        }
    }

    /// Starts writing the stream for `since` at catalog version `version` unless it is written or being
    /// written: after a sync, before the children are asked to pull it.
    package func prepare(
        since: Int, version: Int, write: @escaping @Sendable (String, inout PhaseTimes) throws -> ChangeFeed.Header
    ) {
        prune(version: version)
        guard ready[since] == nil, writing[since]?.version != version else { return }
        let task = startWriting(write)
        writing[since] = (version, task)
        Task {
            let feed = try? await task.value
            self.finished(since: since, task: task, feed: feed)
        }
    }

    /// Takes the change stream this site just applied from its parent (at `download`, from `since` to
    /// the version this site now holds) as its own stream for `since`: its children, one version behind
    /// like this site was, get the same lines without a stream written again. The header's `site`
    /// becomes `site` (rewritten in place: it is padded). Returns false, leaving the file alone, when the
    /// file is not such a stream.
    @discardableResult
    package func adopt(_ download: String, since: Int, site: SiteCode) -> Bool {
        guard let file = FileHandle(forUpdatingAtPath: download) else { return false }
        defer { try? file.close() }
        guard let head = try? file.read(upToCount: ChangeFeed.headerRoom), let newline = head.firstIndex(of: 0x0A),
            var header = try? JSONDecoder().decode(ChangeFeed.Header.self, from: head[head.startIndex..<newline]),
            header.sumsync == "changes"
        else { return false }
        header.site = site.rawValue
        let room = newline - head.startIndex
        guard var line = try? JSONEncoder().encode(header), line.count <= room else { return false }
        line.append(Data(repeating: 0x20, count: room - line.count))
        let path = (folder as NSString).appendingPathComponent("changes-\(UUID().uuidString).feed")
        do {
            try file.seek(toOffset: 0)
            try file.write(contentsOf: line)
        } catch {
            return false
        }
        guard rename(download, path) == 0 else { return false }
        prune(version: header.to)
        if let old = ready[since] { Self.remove(old.path) }
        ready[since] = Feed(path: path, header: header, written: .now, phases: "relayed from the parent's stream")
        return true
    }

    /// Unlinks a stream file on the housekeeping thread: freeing a full snapshot's few hundred MB takes
    /// the file system a while, and the sync that moved the version on is waiting.
    private static func remove(_ path: String) {
        BackgroundThread.shared.run { unlink(path) }
    }

    private func finished(since: Int, task: Task<Feed, any Error>, feed: Feed?) {
        guard writing[since]?.task == task else { return }
        writing[since] = nil
        if let feed {
            if let old = ready[since], old.path != feed.path { Self.remove(old.path) }
            ready[since] = feed
        }
    }

    private func startWriting(_ write: @escaping @Sendable (String, inout PhaseTimes) throws -> ChangeFeed.Header)
        -> Task<Feed, any Error>
    {
        let path = (folder as NSString).appendingPathComponent("changes-\(UUID().uuidString).feed")
        return Task {
            // Blocking database and file work: on a Dispatch thread, not the cooperative pool.
            try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    do {
                        var phases = PhaseTimes()
                        let header = try write(path, &phases)
                        continuation.resume(
                            returning: Feed(path: path, header: header, written: .now, phases: phases.summary))
                    } catch {
                        unlink(path)
                        continuation.resume(throwing: error)
                    }
                }
            }
        }
    }

    /// Drops every stream written so far (after a reload signed the current version's root: streams
    /// written before carry none).
    package func clear() {
        for feed in ready.values { Self.remove(feed.path) }
        ready = [:]
    }

    /// Drops (and unlinks) streams of another catalog version or older than ``keep``; a file being
    /// served stays readable through its open descriptor.
    private func prune(version: Int) {
        let now = ContinuousClock.now
        for (since, feed) in ready where feed.header.to != version || now - feed.written > keep {
            ready[since] = nil
            Self.remove(feed.path)
        }
    }
}
