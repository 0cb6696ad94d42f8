import CCompression

/// Streaming gzip compression with zlib, for export bundles: text goes in a line at a time, compressed
/// bytes come out in chunks to a sink, so memory stays at zlib's window plus one output buffer.
///
/// A class for the same reason as ``GzipInflater``: zlib's state points back at its `z_stream`.
package final class GzipDeflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutablePointer<UInt8>
    private let outputCount = 1 << 18
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    /// Lines wait here until 64 KiB have gathered: one zlib call per line would cost more than the lines.
    private var pending: [UInt8] = []
    private let pendingLimit = 1 << 16
    private var finished = false

    /// windowBits 15 + 16: the largest window, with a gzip header and trailer rather than raw zlib.
    private static let windowBits: Int32 = 15 + 16

    /// - Parameters:
    ///   - level: zlib's level, 1 (fastest) … 9 (smallest). Exports use 1: the payload is mostly text
    ///     that compresses well at any level, and the time matters more than the last few per cent.
    ///   - sink: receives each run of compressed bytes, valid only during the call.
    package init(level: Int32 = 1, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws(CatalogError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = .allocate(capacity: outputCount)
        self.sink = sink
        let status = czlib_deflate_init(stream, level, Self.windowBits)
        guard status == Z_OK else {
            stream.deallocate()
            output.deallocate()
            throw CatalogError(
                line: nil, message: "zlib could not start compressing (status \(status))", code: .cannotWrite)
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Compresses `line` followed by a newline; compressed output reaches the sink in chunks.
    package func writeLine(_ line: String) throws {
        pending.append(contentsOf: line.utf8)
        pending.append(0x0A)
        if pending.count >= pendingLimit { try drain(flush: Z_NO_FLUSH) }
    }

    /// Ends the gzip member (writing its CRC and length) and hands the rest to the sink.
    package func finish() throws {
        guard !finished else { return }
        finished = true
        try drain(flush: Z_FINISH)
    }

    private func drain(flush: Int32) throws {
        try pending.withUnsafeBufferPointer { buffer in
            var nothing: UInt8 = 0
            try withUnsafePointer(to: &nothing) { empty in
                try run(input: buffer.baseAddress ?? empty, count: buffer.count, flush: flush)
            }
        }
        pending.removeAll(keepingCapacity: true)
    }

    private func run(input: UnsafePointer<UInt8>, count: Int, flush: Int32) throws {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input)
        stream.pointee.avail_in = UInt32(count)
        defer { stream.pointee.next_in = nil }
        while true {
            stream.pointee.next_out = output
            stream.pointee.avail_out = UInt32(outputCount)
            let status = deflate(stream, flush)
            let produced = outputCount - Int(stream.pointee.avail_out)
            stream.pointee.next_out = nil
            if produced > 0 { try sink(UnsafeRawBufferPointer(start: output, count: produced)) }
            switch status {
            case Z_STREAM_END:
                return
            case Z_OK, Z_BUF_ERROR:
                // Done with this input once zlib has taken all of it and had room to spare.
                if flush != Z_FINISH, stream.pointee.avail_in == 0, stream.pointee.avail_out > 0 { return }
                if status == Z_BUF_ERROR, produced == 0 {
                    throw CatalogError(line: nil, message: "cannot compress: zlib made no progress", code: .cannotWrite)
                }
            default:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                throw CatalogError(line: nil, message: "cannot compress: \(reason)", code: .cannotWrite)
            }
        }
    }
}
