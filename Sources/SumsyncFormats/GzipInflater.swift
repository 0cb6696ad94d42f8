import CCompression

/// Streaming gzip decompression with zlib, for catalogs that arrive compressed.
///
/// A class because zlib's internal state points back at its `z_stream`: the stream must never move
/// once initialised, so it lives in its own allocation for the inflater's lifetime.
package final class GzipInflater {
    /// The outcome of one `inflate` call.
    struct Step {
        /// Input bytes consumed.
        var consumed: Int
        /// Output bytes produced.
        var produced: Int
        /// The current gzip member ended (its CRC and length checked out).
        var memberEnded: Bool
    }

    private let stream: UnsafeMutablePointer<z_stream>

    /// windowBits 15 + 32: the largest window, and zlib detects the gzip header itself.
    private static let windowBits: Int32 = 15 + 32

    init() throws(CatalogError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = czlib_inflate_init(stream, Self.windowBits)
        guard status == Z_OK else {
            stream.deallocate()
            throw Self.error("zlib could not start (status \(status))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Decompresses as much of `input` into `output` as fits. Call again with the rest of the input
    /// (or more of it) until a member ends; a step that consumes and produces nothing needs more input.
    func inflate(
        input: UnsafePointer<UInt8>, inputCount: Int,
        output: UnsafeMutablePointer<UInt8>, outputCount: Int
    ) throws(CatalogError) -> Step {
        // zlib counts in UInt32; our buffers are a few MiB, so clamping never loses data, only defers it.
        let availableIn = UInt32(min(inputCount, Int(UInt32.max)))
        let availableOut = UInt32(min(outputCount, Int(UInt32.max)))
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input)
        stream.pointee.avail_in = availableIn
        stream.pointee.next_out = output
        stream.pointee.avail_out = availableOut
        let status = CCompression.inflate(stream, Z_NO_FLUSH)
        let step = Step(
            consumed: Int(availableIn - stream.pointee.avail_in),
            produced: Int(availableOut - stream.pointee.avail_out),
            memberEnded: status == Z_STREAM_END)
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        switch status {
        case Z_OK, Z_STREAM_END, Z_BUF_ERROR:  // Z_BUF_ERROR only means "no progress possible yet"
            return step
        case Z_NEED_DICT:
            throw Self.error("it needs a preset dictionary")
        case Z_MEM_ERROR:
            throw Self.error("out of memory while decompressing")
        default:
            let reason = stream.pointee.msg.map { String(cString: $0) } ?? "zlib status \(status)"
            throw Self.error(reason)
        }
    }

    /// Prepares for the next member of a multi-member file (`cat a.gz b.gz`), keeping the allocation.
    func reset() throws(CatalogError) {
        let status = inflateReset(stream)
        guard status == Z_OK else { throw Self.error("zlib could not restart (status \(status))") }
    }

    /// Whether `bytes` start with the gzip magic number 1f 8b.
    package static func isGzip(_ first: UInt8, _ second: UInt8) -> Bool { first == 0x1F && second == 0x8B }

    static func error(_ reason: String) -> CatalogError {
        CatalogError(line: nil, message: "not a valid gzip stream: \(reason)", code: .invalidGzip)
    }
}
