#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Streams the lines of a catalog file with bounded memory, decompressing gzip transparently.
///
/// Reads with `read(2)` in chunks into one reusable buffer of `maxLineLength` + one chunk, finds line ends
/// with `memchr`, validates UTF-8 and hands each non-blank line to the caller as a borrowed buffer. No
/// line is ever copied or held beyond the callback, so a 500,000-line catalog costs the same memory as a
/// 5-line one, and a line longer than the limit is refused as soon as the limit is passed, without
/// reading the rest of it. Gzip is recognised by its magic bytes (1f 8b), not by the file name, because
/// upstreams serve `catalog.ndjson` compressed and `catalog.gz` plain.
///
/// A UTF-8 byte-order mark at the start of the (decompressed) file is skipped.
/// One pass only: a second `forEachLine` yields nothing. Not thread-safe; use it from one task.
public final class CatalogLineReader {
    /// The longest accepted line in bytes, newline excluded.
    public let maxLineLength: Int
    /// Raw bytes read from the file so far (compressed bytes for a gzip file), for progress against
    /// `fileSize`.
    public private(set) var bytesRead: Int64 = 0
    /// The file's size on disk (0 for pipes and other unsized files).
    public let fileSize: Int64
    /// The number of the last line read so far (blank lines count), 0 before the first.
    public private(set) var lineNumber = 0
    /// Whether the file turned out to be gzip-compressed (known once reading has started).
    public var isCompressed: Bool { inflater != nil }

    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let name: String
    private let chunkSize: Int
    private let capacity: Int
    private let buffer: UnsafeMutablePointer<UInt8>
    private var started = false
    private var formatKnown = false
    private var rawEOF = false

    // Gzip state: compressed input waiting in [inStart, inEnd) of `compressed`.
    private var inflater: GzipInflater?
    private var compressed: UnsafeMutablePointer<UInt8>?
    private var inStart = 0
    private var inEnd = 0
    private var memberOpen = false

    /// Opens `path` for reading.
    /// - Parameters:
    ///   - maxLineLength: lines longer than this many bytes are refused (default 1 MiB).
    ///   - chunkSize: bytes per `read(2)` (default 1 MiB).
    /// - Throws: `CatalogError` (`.unreadable`) when the file cannot be opened or is a directory.
    public convenience init(path: String, maxLineLength: Int = 1 << 20, chunkSize: Int = 1 << 20) throws(CatalogError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CatalogError(
                line: nil, message: "cannot open catalog \(path): \(Self.systemError(errno))", code: .unreadable)
        }
        try self.init(
            fileDescriptor: fd, closeWhenDone: true, name: path, maxLineLength: maxLineLength, chunkSize: chunkSize)
    }

    /// Reads from an open descriptor (a file, or a pipe from a download), from its current offset.
    /// - Parameters:
    ///   - closeWhenDone: close the descriptor when the reader is released (also on a throwing init).
    ///   - name: how messages refer to the source.
    public init(
        fileDescriptor: Int32, closeWhenDone: Bool = false, name: String = "catalog",
        maxLineLength: Int = 1 << 20, chunkSize: Int = 1 << 20
    ) throws(CatalogError) {
        var info = stat()
        guard fstat(fileDescriptor, &info) == 0 else {
            let code = errno
            if closeWhenDone { close(fileDescriptor) }
            throw CatalogError(
                line: nil, message: "cannot read catalog \(name): \(Self.systemError(code))", code: .unreadable)
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            if closeWhenDone { close(fileDescriptor) }
            throw CatalogError(line: nil, message: "cannot read catalog \(name): it is a directory", code: .unreadable)
        }
        self.descriptor = fileDescriptor
        self.ownsDescriptor = closeWhenDone
        self.name = name
        self.fileSize = info.st_mode & S_IFMT == S_IFREG ? Int64(info.st_size) : 0
        self.maxLineLength = max(1, maxLineLength)
        self.chunkSize = max(4_096, chunkSize)
        // A line that fits plus one full chunk: after moving a partial line to the front there is
        // always room to read a chunk, and a full buffer without a newline means the line is too long.
        self.capacity = self.maxLineLength + self.chunkSize + 1
        self.buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
        compressed?.deallocate()
        if ownsDescriptor { close(descriptor) }
    }

    /// Calls `body` for each non-blank line with its 1-based line number; the buffer is only valid inside
    /// the call. Blank lines (only spaces, tabs, `\r`) are skipped but counted.
    /// - Throws: `CatalogError` for a line that is not UTF-8 or too long, an unreadable file or a corrupt
    ///   gzip stream; and whatever `body` throws.
    public func forEachLine(_ body: (_ number: Int, _ bytes: UnsafeRawBufferPointer) throws -> Void) throws {
        try forEachLine(onInvalidLine: nil, body)
    }

    /// `forEachLine`, but lines that are not valid UTF-8 or too long are passed to `onInvalidLine` (which
    /// may log and return to skip them, for `skip-invalid = true`, or throw) instead of ending the read.
    public func forEachLine(
        onInvalidLine: ((CatalogError) throws -> Void)?,
        _ body: (_ number: Int, _ bytes: UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var none = NoKnownLines()
        try forEachLine(known: &none, onInvalidLine: onInvalidLine, body)
    }

    /// `forEachLine` that first shows every non-blank line that is not too long to `known`, before it is
    /// validated: a line `known` takes (a delta sync's line index knows these bytes were valid before)
    /// is neither validated nor passed to `body`.
    package func forEachLine<Filter: KnownLineFilter>(
        known: inout Filter,
        onInvalidLine: ((CatalogError) throws -> Void)? = nil,
        _ body: (_ number: Int, _ bytes: UnsafeRawBufferPointer) throws -> Void
    ) throws {
        guard !started else { return }
        started = true
        var start = 0  // first byte of the current line
        var end = 0  // end of valid data
        var scanFrom = 0  // [start, scanFrom) is known to hold no newline
        var discarding = false  // inside an over-long line that onInvalidLine chose to skip

        func invalid(_ error: CatalogError) throws {
            guard let onInvalidLine else { throw error }
            try onInvalidLine(error)
        }
        func emit(_ stop: Int) throws {
            lineNumber += 1
            var count = stop - start
            var line = buffer + start
            // A UTF-8 byte-order mark, which some Windows tools write, is not part of the first line.
            if lineNumber == 1, count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
                line += 3
                count -= 3
            }
            if count > maxLineLength {
                return try invalid(tooLong())
            }
            var k = 0
            while k < count, line[k] == 0x20 || line[k] == 0x09 || line[k] == 0x0D { k += 1 }
            if k == count { return }
            if try known.isKnown(UnsafeRawBufferPointer(start: line, count: count)) { return }
            if let offset = UTF8Validator.firstInvalidOffset(line, count: count) {
                return try invalid(
                    CatalogError(
                        line: lineNumber, message: "not valid UTF-8 (byte offset \(offset))", code: .invalidUTF8))
            }
            try body(lineNumber, UnsafeRawBufferPointer(start: line, count: count))
        }

        while true {
            if scanFrom < end, let hit = memchr(buffer + scanFrom, 0x0A, end - scanFrom) {
                let newline = hit.assumingMemoryBound(to: UInt8.self) - buffer
                if discarding {
                    discarding = false
                } else {
                    try emit(newline)
                }
                start = newline + 1
                scanFrom = start
                continue
            }
            if discarding {
                start = end
            } else if end - start > maxLineLength {
                // Refuse now rather than read on to the newline: the line may be hundreds of MiB.
                lineNumber += 1
                try invalid(tooLong())
                discarding = true
                start = end
            }
            if start > 0 {
                memmove(buffer, buffer + start, end - start)
                end -= start
                start = 0
            }
            scanFrom = end
            let produced = try fill(buffer + end, capacity - end)
            if produced == 0 {
                if !discarding, end > start { try emit(end) }
                return
            }
            end += produced
        }
    }

    private func tooLong() -> CatalogError {
        CatalogError(line: lineNumber, message: "longer than \(Self.size(maxLineLength))", code: .lineTooLong)
    }

    // MARK: Input

    /// Puts up to `room` more bytes of catalog text at `destination`; 0 means the end of the catalog.
    private func fill(_ destination: UnsafeMutablePointer<UInt8>, _ room: Int) throws(CatalogError) -> Int {
        if inflater != nil { return try inflate(into: destination, room) }
        if formatKnown { return try readRaw(destination, min(room, chunkSize)) }
        // First read: decide between plain text and gzip from the first two bytes.
        formatKnown = true
        var have = 0
        while have < 2 {
            let n = try readRaw(destination + have, min(room, chunkSize) - have)
            if n == 0 { break }
            have += n
        }
        guard have >= 2, GzipInflater.isGzip(destination[0], destination[1]) else { return have }
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: chunkSize)
        input.update(from: destination, count: have)
        compressed = input
        inStart = 0
        inEnd = have
        inflater = try GzipInflater()
        memberOpen = true
        return try inflate(into: destination, room)
    }

    private func inflate(into destination: UnsafeMutablePointer<UInt8>, _ room: Int) throws(CatalogError) -> Int {
        guard let inflater, let compressed else { return 0 }
        while true {
            if inStart == inEnd, !rawEOF {
                inStart = 0
                inEnd = try readRaw(compressed, chunkSize)
            }
            if !memberOpen {
                // Between members: either the end of the file or another member (`cat a.gz b.gz`).
                if inStart == inEnd, rawEOF { return 0 }
                if inEnd - inStart < 2, !rawEOF {
                    try readMoreCompressed()
                    continue
                }
                guard inEnd - inStart >= 2, GzipInflater.isGzip(compressed[inStart], compressed[inStart + 1]) else {
                    throw GzipInflater.error("unexpected data after the end of the compressed data")
                }
                try inflater.reset()
                memberOpen = true
            }
            if inStart == inEnd, rawEOF {
                throw GzipInflater.error("unexpected end of file (the file is truncated)")
            }
            let step = try inflater.inflate(
                input: compressed + inStart, inputCount: inEnd - inStart, output: destination, outputCount: room)
            inStart += step.consumed
            if step.memberEnded { memberOpen = false }
            if step.produced > 0 { return step.produced }
            if step.consumed == 0, !step.memberEnded {
                // zlib wants more input than it has: bring in the next chunk behind what is left.
                if rawEOF { throw GzipInflater.error("unexpected end of file (the file is truncated)") }
                try readMoreCompressed()
            }
        }
    }

    /// Moves unconsumed compressed input to the front and reads more behind it.
    private func readMoreCompressed() throws(CatalogError) {
        guard let compressed else { return }
        if inStart > 0 {
            memmove(compressed, compressed + inStart, inEnd - inStart)
            inEnd -= inStart
            inStart = 0
        }
        inEnd += try readRaw(compressed + inEnd, chunkSize - inEnd)
    }

    /// One `read(2)`, retried on EINTR; 0 at end of file (and remembered).
    private func readRaw(_ destination: UnsafeMutablePointer<UInt8>, _ count: Int) throws(CatalogError) -> Int {
        guard count > 0, !rawEOF else { return 0 }
        while true {
            let n = read(descriptor, destination, count)
            if n > 0 {
                bytesRead += Int64(n)
                return n
            }
            if n == 0 {
                rawEOF = true
                return 0
            }
            let code = errno
            if code == EINTR { continue }
            throw CatalogError(
                line: nil, message: "cannot read catalog \(name): \(Self.systemError(code))", code: .unreadable)
        }
    }

    private static func systemError(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// `1 MiB`, `64 KiB` or `1000 bytes`, for the too-long message.
    static func size(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}
