#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension CatalogLineReader {
    /// Counts the lines of a plain file (a `memchr` scan), for `processed N of M`; nil for a gzip file,
    /// whose lines are only known once inflated.
    public static func countLines(_ path: String) -> Int? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var count = 0
        var last: UInt8 = 0x0A
        var first = true
        while true {
            let read = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if read <= 0 { break }
            if first {
                first = false
                if read >= 2, GzipInflater.isGzip(buffer[0], buffer[1]) { return nil }
            }
            var at = buffer.baseAddress!
            let end = at + read
            while at < end, let hit = memchr(at, 0x0A, end - at) {
                count += 1
                at = UnsafeMutableRawPointer(hit) + 1
            }
            last = buffer[read - 1]
        }
        return last == 0x0A ? count : count + 1
    }
}
