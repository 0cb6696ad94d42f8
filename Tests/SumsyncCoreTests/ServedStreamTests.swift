import Foundation
import NIOCore
import Testing

@testable import SumsyncDaemon
@testable import SumsyncStore

/// A change stream as a parent serves it: the file's bytes, unchanged, in 256 KiB chunks, counted while
/// held (the last one to end gives freed memory back).
@Suite("served change streams")
struct ServedStreamTests {
    @Test func servesTheFileInChunksWhileCounted() async throws {
        let path = NSTemporaryDirectory() + "served-\(UUID().uuidString).feed"
        let bytes = Data((0..<(600 << 10)).map { UInt8(truncatingIfNeeded: $0 % 251) })
        try bytes.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var received = Data()
        var sizes: [Int] = []
        let stream = ServedStream(try FileChunks(path: path))
        #expect(ServedStream.inFlight.load(ordering: .relaxed) >= 1)
        for try await chunk in stream {
            sizes.append(chunk.readableBytes)
            received.append(contentsOf: chunk.readableBytesView)
        }
        #expect(received == bytes)
        #expect(sizes == [256 << 10, 256 << 10, 88 << 10])
    }
}
