import Foundation
import SumsyncFormats
import SumsyncModel
import Synchronization

/// Reads a catalog on a thread of its own while the sync's database thread writes, for a delta through
/// the line index: the reader hashes and matches every line (most of them known) and hands on only the
/// unknown ones, so reading the whole catalog and writing its changes overlap instead of adding up.
///
/// The reader also validates and parses the unknown lines and hashes them for the next index, so the
/// database thread only writes. The queue is bounded (the reader waits when the writer falls behind),
/// keeps the catalog's order, and carries parse and read errors in that order too, so the first bad line
/// in the file is the one reported.
package final class LinePipe: Sendable {
    /// What the reader hands on.
    enum Item: Sendable {
        /// An unknown line, parsed (or why not), with its 1-based number and its ``LineHash``.
        case record(number: Int, hash: UInt64, parsed: Result<CatalogRecord, CatalogError>)
        /// The whole catalog was read; the matcher knows which known lines came again.
        case end(LineMatcher)
        /// Reading stopped here.
        case failed(any Error)
    }

    private struct State {
        var items: [Item] = []
        var head = 0
        var cancelled = false
        var finished = false
    }

    private let capacity: Int
    private let state = Mutex(State())
    private let condition = NSCondition()

    private init(capacity: Int) { self.capacity = capacity }

    /// Starts reading `path` against `index` on a new thread; take the items with ``next()``, and call
    /// ``close()`` before leaving (also on error), which stops the reader and waits for it.
    static func start(path: String, index: CatalogIndex, progress: SyncProgress, capacity: Int = 1_024) -> LinePipe {
        let pipe = LinePipe(capacity: capacity)
        let thread = Thread {
            var matcher = LineMatcher(index: index, progress: progress)
            do {
                let reader = try CatalogLineReader(path: path)
                // Lines the reader refuses go to the writer in file order, like lines that do not parse,
                // so `skip-invalid` treats both alike.
                let refused = { (error: CatalogError) throws in
                    try pipe.put(.record(number: error.line ?? 0, hash: 0, parsed: .failure(error)))
                }
                try reader.forEachLine(known: &matcher, onInvalidLine: refused) { number, bytes in
                    let parsed = Result { () throws(CatalogError) in try CatalogRecordParser.parse(bytes, line: number)
                    }
                    try pipe.put(.record(number: number, hash: LineHash.hash(bytes), parsed: parsed))
                }
                matcher.finish()
                try pipe.put(.end(matcher))
            } catch is Cancelled {
            } catch {
                try? pipe.put(.failed(error))
            }
            pipe.finish()
        }
        thread.name = "sumsync-catalog-reader"
        thread.start()
        return pipe
    }

    /// The next item, waiting for the reader.
    func next() -> Item {
        condition.lock()
        defer { condition.unlock() }
        while true {
            let item = state.withLock { state -> Item? in
                guard state.head < state.items.count else { return nil }
                let item = state.items[state.head]
                state.head += 1
                if state.head > 4_096 {
                    state.items.removeFirst(state.head)
                    state.head = 0
                }
                return item
            }
            if let item {
                condition.broadcast()
                return item
            }
            if state.withLock({ $0.finished }) { return .failed(SyncError("the catalog reader stopped unexpectedly")) }
            condition.wait()
        }
    }

    /// Stops the reader (if still reading) and waits until its thread is done.
    func close() {
        condition.lock()
        state.withLock { $0.cancelled = true }
        condition.broadcast()
        while !state.withLock({ $0.finished }) { condition.wait() }
        condition.unlock()
    }

    private struct Cancelled: Error {}

    private func put(_ item: Item) throws {
        condition.lock()
        defer { condition.unlock() }
        while true {
            let done = try state.withLock { state -> Bool in
                if state.cancelled { throw Cancelled() }
                guard state.items.count - state.head < capacity else { return false }
                state.items.append(item)
                return true
            }
            if done {
                condition.broadcast()
                return
            }
            condition.wait()
        }
    }

    private func finish() {
        condition.lock()
        state.withLock { $0.finished = true }
        condition.broadcast()
        condition.unlock()
    }
}
