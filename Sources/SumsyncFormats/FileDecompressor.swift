import CCompression

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a metadata file is compressed, known from its name's extension as repositories name them.
package enum MetadataCompression: String, Sendable, CaseIterable {
    case none, gzip, xz, zstd, bzip2

    /// The compression of `fileName` (`updateinfo.xml.zst` → zstd); `.none` for a plain `.xml`.
    package init(fileName: String) {
        if fileName.hasSuffix(".gz") {
            self = .gzip
        } else if fileName.hasSuffix(".xz") {
            self = .xz
        } else if fileName.hasSuffix(".zst") || fileName.hasSuffix(".zstd") {
            self = .zstd
        } else if fileName.hasSuffix(".bz2") {
            self = .bzip2
        } else {
            self = .none
        }
    }
}

/// Why a file could not be decompressed.
package struct DecompressionError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// Reads a file and hands out its decompressed bytes a buffer at a time (zlib, liblzma, libzstd, libbz2),
/// in bounded memory whatever the file's size. Stops with an error once more than `limit` bytes came
/// out, so a small file that decompresses to many gigabytes never fills memory or disk.
package final class FileDecompressor {
    package let path: String
    package let compression: MetadataCompression
    /// The most bytes it hands out before it fails.
    package let limit: Int64
    /// Bytes handed out so far.
    package private(set) var produced: Int64 = 0
    /// The error that ended reading, kept for a caller whose reader only sees "failed" (libxml2's input).
    package private(set) var failure: DecompressionError?

    private let fd: Int32
    private var input: UnsafeMutableRawBufferPointer
    private var inputStart = 0
    private var inputEnd = 0
    private var inputEnded = false
    private var streamEnded = false
    private var decoder: Decoder

    /// liblzma's `LZMA_CONCATENATED` flag (a macro Swift does not import): read every stream of the file.
    private static let lzmaConcatenated: UInt32 = 0x08

    private enum Decoder {
        case none
        case gzip(UnsafeMutablePointer<z_stream>)
        case xz(UnsafeMutablePointer<lzma_stream>)
        case zstd(OpaquePointer)
        case bzip2(UnsafeMutablePointer<bz_stream>)
    }

    /// Opens `path` for reading through the decoder `compression` names.
    package init(path: String, compression: MetadataCompression, limit: Int64) throws(DecompressionError) {
        self.path = path
        self.compression = compression
        self.limit = limit
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DecompressionError("cannot read \(path): \(String(cString: strerror(errno)))") }
        input = .allocate(byteCount: 1 << 17, alignment: 16)
        switch compression {
        case .none: decoder = .none
        case .gzip:
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // 15 + 32: zlib or gzip header, detected.
            guard czlib_inflate_init(stream, 15 + 32) == Z_OK else {
                stream.deallocate()
                Self.release(fd, input)
                throw DecompressionError("cannot start zlib")
            }
            decoder = .gzip(stream)
        case .xz:
            let stream = UnsafeMutablePointer<lzma_stream>.allocate(capacity: 1)
            stream.initialize(to: ccompression_lzma_stream())
            guard lzma_stream_decoder(stream, UInt64.max, Self.lzmaConcatenated) == LZMA_OK else {
                stream.deallocate()
                Self.release(fd, input)
                throw DecompressionError("cannot start liblzma")
            }
            decoder = .xz(stream)
        case .zstd:
            guard let stream = ZSTD_createDStream() else {
                Self.release(fd, input)
                throw DecompressionError("cannot start libzstd")
            }
            decoder = .zstd(stream)
        case .bzip2:
            let stream = UnsafeMutablePointer<bz_stream>.allocate(capacity: 1)
            stream.initialize(to: bz_stream())
            guard BZ2_bzDecompressInit(stream, 0, 0) == BZ_OK else {
                stream.deallocate()
                Self.release(fd, input)
                throw DecompressionError("cannot start libbz2")
            }
            decoder = .bzip2(stream)
        }
    }

    private static func release(_ fd: Int32, _ input: UnsafeMutableRawBufferPointer) {
        close(fd)
        input.deallocate()
    }

    deinit {
        switch decoder {
        case .none: break
        case .gzip(let stream):
            inflateEnd(stream)
            stream.deallocate()
        case .xz(let stream):
            lzma_end(stream)
            stream.deallocate()
        case .zstd(let stream): ZSTD_freeDStream(stream)
        case .bzip2(let stream):
            BZ2_bzDecompressEnd(stream)
            stream.deallocate()
        }
        Self.release(fd, input)
    }

    /// Fills up to `buffer.count` bytes; 0 at the end of the data.
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws(DecompressionError) -> Int {
        if let failure { throw failure }
        do throws(DecompressionError) {
            let count = try decode(into: buffer)
            produced += Int64(count)
            if produced > limit {
                throw DecompressionError(
                    "\(path) decompresses to more than \(limit) bytes ([upstream] max-metadata-size); stopped reading it"
                )
            }
            return count
        } catch {
            failure = error
            throw error
        }
    }

    /// Refills the compressed input when it is used up; false at the file's end.
    private func refill() throws(DecompressionError) -> Bool {
        if inputStart < inputEnd { return true }
        if inputEnded { return false }
        var count: Int
        repeat { count = Glibc.read(fd, input.baseAddress, input.count) } while count < 0 && errno == EINTR
        guard count >= 0 else { throw DecompressionError("cannot read \(path): \(String(cString: strerror(errno)))") }
        inputStart = 0
        inputEnd = count
        if count == 0 { inputEnded = true }
        return count > 0
    }

    private var truncated: DecompressionError {
        DecompressionError("\(path) is cut short: its \(compression.rawValue) data ends before the stream does")
    }

    private func decode(into buffer: UnsafeMutableRawBufferPointer) throws(DecompressionError) -> Int {
        guard let out = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let capacity = buffer.count
        while true {
            let more = try refill()
            let next = input.baseAddress! + inputStart
            let available = inputEnd - inputStart
            switch decoder {
            case .none:
                guard more else { return 0 }
                let count = min(available, capacity)
                out.copyMemory(from: next, byteCount: count)
                inputStart += count
                return count
            case .gzip(let stream):
                if streamEnded {
                    // Another gzip member may follow (concatenated files are valid gzip).
                    guard more else { return 0 }
                    inflateReset(stream)
                    streamEnded = false
                }
                guard more else { throw truncated }
                stream.pointee.next_in = next.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_in = uInt(available)
                stream.pointee.next_out = out.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(capacity)
                let status = inflate(stream, Z_NO_FLUSH)
                inputStart = inputEnd - Int(stream.pointee.avail_in)
                let produced = capacity - Int(stream.pointee.avail_out)
                switch status {
                case Z_STREAM_END: streamEnded = true
                case Z_OK, Z_BUF_ERROR: break
                default:
                    let reason = stream.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw DecompressionError("\(path) is not valid gzip data: \(reason)")
                }
                if produced > 0 { return produced }
            case .xz(let stream):
                if streamEnded { return 0 }
                stream.pointee.next_in = UnsafePointer(next.assumingMemoryBound(to: UInt8.self))
                stream.pointee.avail_in = more ? available : 0
                stream.pointee.next_out = out.assumingMemoryBound(to: UInt8.self)
                stream.pointee.avail_out = capacity
                let status = lzma_code(stream, more ? LZMA_RUN : LZMA_FINISH)
                inputStart = inputEnd - stream.pointee.avail_in
                let produced = capacity - stream.pointee.avail_out
                switch status {
                case LZMA_STREAM_END: streamEnded = true
                case LZMA_OK: break
                case LZMA_BUF_ERROR where !more: throw truncated
                default: throw DecompressionError("\(path) is not valid xz data (liblzma error \(status.rawValue))")
                }
                if produced > 0 || streamEnded { return produced }
                if !more { throw truncated }
            case .zstd(let stream):
                guard more else {
                    if streamEnded { return 0 }
                    throw truncated
                }
                var source = ZSTD_inBuffer(src: next, size: available, pos: 0)
                var target = ZSTD_outBuffer(dst: out, size: capacity, pos: 0)
                let status = ZSTD_decompressStream(stream, &target, &source)
                inputStart += source.pos
                if ZSTD_isError(status) != 0 {
                    throw DecompressionError(
                        "\(path) is not valid zstd data: \(String(cString: ZSTD_getErrorName(status)))")
                }
                // 0: a frame ended; another may follow.
                streamEnded = status == 0
                if target.pos > 0 { return target.pos }
            case .bzip2(let stream):
                if streamEnded {
                    guard more else { return 0 }
                    // Concatenated bzip2 streams, as pbzip2 writes them.
                    BZ2_bzDecompressEnd(stream)
                    stream.initialize(to: bz_stream())
                    guard BZ2_bzDecompressInit(stream, 0, 0) == BZ_OK else {
                        throw DecompressionError("cannot restart libbz2")
                    }
                    streamEnded = false
                }
                guard more else { throw truncated }
                stream.pointee.next_in = next.assumingMemoryBound(to: CChar.self)
                stream.pointee.avail_in = UInt32(available)
                stream.pointee.next_out = out.assumingMemoryBound(to: CChar.self)
                stream.pointee.avail_out = UInt32(capacity)
                let status = BZ2_bzDecompress(stream)
                inputStart = inputEnd - Int(stream.pointee.avail_in)
                let produced = capacity - Int(stream.pointee.avail_out)
                switch status {
                case BZ_STREAM_END: streamEnded = true
                case BZ_OK: break
                default: throw DecompressionError("\(path) is not valid bzip2 data (libbz2 error \(status))")
                }
                if produced > 0 { return produced }
            }
        }
    }
}
