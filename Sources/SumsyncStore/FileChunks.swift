import Foundation
import NIOCore
import NIOPosix

/// A file's bytes as an async sequence of 256 KiB buffers, read on demand (so a slow reader never makes
/// the whole file sit in memory; 250 children pulling at once hold 250 of them, and their TLS records). The file is shared (its owner removes it); an open descriptor keeps it
/// readable after that.
package struct FileChunks: AsyncSequence, Sendable {
    package typealias Element = ByteBuffer

    fileprivate final class Descriptor: @unchecked Sendable {
        let fd: Int32
        init(fd: Int32) { self.fd = fd }
        deinit { close(fd) }
    }

    private let descriptor: Descriptor
    /// The bytes of each buffer.
    static let chunkSize = 256 << 10

    /// Opens `path`, which stays (a shared file; its owner removes it).
    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CocoaError(.fileReadNoSuchFile) }
        descriptor = Descriptor(fd: fd)
    }

    package struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate let descriptor: Descriptor

        /// The next buffer, read on NIO's blocking-I/O thread pool (as `NonBlockingFileIO` does), never on
        /// the cooperative pool that serves requests.
        package mutating func next() async throws -> ByteBuffer? {
            let descriptor = self.descriptor
            let buffer = try await NIOThreadPool.singleton.runIfActive { () throws -> ByteBuffer in
                var buffer = ByteBufferAllocator().buffer(capacity: FileChunks.chunkSize)
                _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: FileChunks.chunkSize) { pointer in
                    let read = Foundation.read(descriptor.fd, pointer.baseAddress!, pointer.count)
                    guard read >= 0 else { throw CocoaError(.fileReadUnknown) }
                    return read
                }
                return buffer
            }
            return buffer.readableBytes == 0 ? nil : buffer
        }
    }

    package func makeAsyncIterator() -> AsyncIterator { AsyncIterator(descriptor: descriptor) }
}
