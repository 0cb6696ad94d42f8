import NIOCore
import SumsyncStore
import Synchronization
import SystemdKit

/// A change stream as served to a child: the file's chunks, counted while any part of the response holds
/// them. When the last stream being served ends (sent, or its connection gone), the memory the pulls
/// freed goes back to the system (``Heap/release()``): 250 children pulling at once need a few hundred MB
/// for a moment, and an idle parent should not keep them.
struct ServedStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    /// The streams being served now, in this process.
    static let inFlight = Atomic<Int>(0)

    final class Token: Sendable {
        init() { ServedStream.inFlight.add(1, ordering: .relaxed) }
        deinit {
            if ServedStream.inFlight.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { Heap.release() }
        }
    }

    let chunks: FileChunks
    let token = Token()

    init(_ chunks: FileChunks) { self.chunks = chunks }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: FileChunks.AsyncIterator
        let token: Token

        mutating func next() async throws -> ByteBuffer? { try await base.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: chunks.makeAsyncIterator(), token: token) }
}
