import Foundation
import SumsyncModel

/// Writes a new file of lines through a buffer, and copies byte ranges of another file into it (an osv
/// source's unchanged entries): adjacent ranges are joined and copied by the kernel (`sendfile`),
/// so a feed whose entries mostly stayed costs a few system calls, not one read per entry.
final class LineFileWriter {
    private let fd: Int32
    private var buffer: [UInt8] = []
    /// A range of another file still to copy, after everything in `buffer`.
    private var pending: (fd: Int32, offset: Int, length: Int)?
    let path: String
    /// Bytes written so far, buffered or not.
    private(set) var written = 0

    /// A new file at `path`, or with `append` the end of the one there (`written` starts at its size).
    init(path: String, append: Bool = false) throws(SyncError) {
        self.path = path
        // Not O_APPEND: sendfile(2) refuses to write to such a file.
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? 0 : O_TRUNC), 0o600)
        guard fd >= 0 else { throw SyncError("cannot write \(path): \(String(cString: strerror(errno)))") }
        if append {
            let end = lseek(fd, 0, SEEK_END)
            guard end >= 0 else { throw SyncError("cannot write \(path): \(String(cString: strerror(errno)))") }
            written = Int(end)
        }
        buffer.reserveCapacity(1 << 20)
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    func write(_ line: String) throws(SyncError) {
        try placePending()
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        written += line.utf8.count + 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    func write(bytes: UnsafeRawBufferPointer) throws(SyncError) {
        try placePending()
        buffer.append(contentsOf: bytes)
        buffer.append(0x0A)
        written += bytes.count + 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Bytes as they are (lines already ended).
    func write(raw bytes: [UInt8]) throws(SyncError) {
        try placePending()
        buffer.append(contentsOf: bytes)
        written += bytes.count
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// `length` bytes of the file open as `source`, from `offset`, as the next bytes of this file.
    func copy(from source: Int32, offset: Int, length: Int) throws(SyncError) {
        guard length > 0 else { return }
        if let range = pending, range.fd == source, range.offset + range.length == offset {
            pending = (source, range.offset, range.length + length)
        } else {
            try placePending()
            pending = (source, offset, length)
        }
        written += length
    }

    /// The pending range, copied to its place before anything written after it.
    private func placePending() throws(SyncError) {
        guard let range = pending else { return }
        pending = nil
        try copyRange(range)
    }

    func flush() throws(SyncError) {
        try flushBuffer()
        if let range = pending {
            pending = nil
            try copyRange(range)
            try flushBuffer()
        }
    }

    private func flushBuffer() throws(SyncError) {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            guard written >= 0 else { throw SyncError("cannot write \(path): \(String(cString: strerror(errno)))") }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private func copyRange(_ range: (fd: Int32, offset: Int, length: Int)) throws(SyncError) {
        var from = off_t(range.offset)
        var left = range.length
        // A short range is one pread into the buffer: cheaper than the kernel's splice set-up.
        if left <= 256 << 10 {
            let start = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: left))
            while left > 0 {
                let count = buffer.withUnsafeMutableBytes {
                    pread(range.fd, $0.baseAddress! + start + (range.length - left), left, from)
                }
                guard count > 0 else {
                    throw SyncError(
                        "cannot copy into \(path): \(count == 0 ? "the source ended early" : String(cString: strerror(errno)))"
                    )
                }
                from += off_t(count)
                left -= count
            }
            if buffer.count >= 1 << 20 { try flushBuffer() }
            return
        }
        try flushBuffer()
        while left > 0 {
            let copied = sendfile(fd, range.fd, &from, left)
            if copied > 0 {
                left -= copied
                continue
            }
            guard copied < 0, [EXDEV, ENOSYS, EINVAL, EOPNOTSUPP].contains(errno) else {
                throw SyncError(
                    "cannot copy into \(path): \(copied == 0 ? "the source ended early" : String(cString: strerror(errno)))"
                )
            }
            // Where the kernel cannot copy between these files: through a buffer.
            var chunk = [UInt8](repeating: 0, count: min(left, 1 << 20))
            while left > 0 {
                let count = chunk.withUnsafeMutableBytes { pread(range.fd, $0.baseAddress, min(left, $0.count), from) }
                guard count > 0 else { throw SyncError("cannot copy into \(path): the source ended early") }
                from += off_t(count)
                left -= count
                var done = 0
                while done < count {
                    let n = chunk.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, count - done) }
                    guard n >= 0 else { throw SyncError("cannot write \(path): \(String(cString: strerror(errno)))") }
                    done += n
                }
            }
        }
    }

    func close() throws(SyncError) {
        try flush()
        guard fsync(fd) == 0 else { throw SyncError("cannot write \(path): \(String(cString: strerror(errno)))") }
    }
}
