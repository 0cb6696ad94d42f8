#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Synchronization

/// Keeps the top-level site's ``CatalogIndex`` between syncs: in memory while the daemon runs, and in
/// `catalog-index.bin` in the state folder so a restarted daemon's next delta sync is fast too.
///
/// An index is handed out only for the database state it describes (its stamp: sync counter, catalog
/// version, filter); anything else that wrote the database since (a site bundle import, a failed
/// write of the file, a restored backup at another state) makes the stamps differ, and that sync reads
/// every line instead and makes a new index. The file is a cache: a missing, torn or foreign one is
/// ignored, never an error.
final class CatalogIndexCache: Sendable {
    /// The file name inside the state folder.
    static let fileName = "catalog-index.bin"

    let path: String
    private let held = Mutex<CatalogIndex?>(nil)

    init(stateDirectory: String) {
        path = stateDirectory.hasSuffix("/") ? stateDirectory + Self.fileName : stateDirectory + "/" + Self.fileName
    }

    /// Takes the index for `stamp` out of the cache (memory first, then the file); nil when none matches.
    /// The caller owns it and gives back the next one with ``store(_:)``.
    func take(matching stamp: CatalogIndex.Stamp) -> CatalogIndex? {
        if let index = held.withLock({ held -> CatalogIndex? in
            defer { held = nil }
            return held
        }), index.stamp == stamp {
            return index
        }
        guard let index = CatalogIndexFile.read(path: path), index.stamp == stamp else { return nil }
        return index
    }

    /// Puts an index back unchanged (its sync failed; the database is as it was).
    func putBack(_ index: CatalogIndex) {
        held.withLock { $0 = index }
    }

    /// Holds a new index and writes it to the file (a failed write only costs the next restart's speed).
    func store(_ index: CatalogIndex) {
        held.withLock { $0 = index }
        CatalogIndexFile.write(index, to: path)
    }
}

/// The on-disk form of a ``CatalogIndex``: little-endian, checksummed, written to a temporary file and
/// renamed into place.
///
/// ```
/// "SUMSYNC-CATIDX-1\n"  stamp (3 × 8)  lineCount, count (2 × 8)
/// products, classifications: count (4), then each name as length (4) + UTF-8
/// count × (hash 8, id 16, meta 4)      checksum (8, LineHash of everything before)
/// ```
enum CatalogIndexFile {
    static let magic = Array("SUMSYNC-CATIDX-1\n".utf8)

    static func write(_ index: CatalogIndex, to path: String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(magic.count + 64 + index.count * 28)
        bytes += magic
        for value in [UInt64(bitPattern: index.stamp.syncCounter), UInt64(bitPattern: index.stamp.catalogVersion), index.stamp.filter] {
            append(value, to: &bytes)
        }
        append(UInt64(index.lineCount), to: &bytes)
        append(UInt64(index.count), to: &bytes)
        for names in [index.products, index.classifications] {
            append(UInt32(names.count), to: &bytes)
            for name in names {
                append(UInt32(name.utf8.count), to: &bytes)
                bytes += name.utf8
            }
        }
        index.forEachSlot { slot in
            let entry = index.slots[slot]
            let id = index.ids[slot]
            append(entry.hash, to: &bytes)
            append(UInt64(truncatingIfNeeded: id), to: &bytes)
            append(UInt64(truncatingIfNeeded: id >> 64), to: &bytes)
            append(entry.meta, to: &bytes)
        }
        append(bytes.withUnsafeBytes { LineHash.hash($0) }, to: &bytes)
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let written = bytes.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                offset += n
            }
            return true
        }
        close(fd)
        if written { rename(temporary, path) } else { unlink(temporary) }
    }

    /// The index in the file at `path`; nil when there is none or it is torn, foreign or corrupt.
    static func read(path: String) -> CatalogIndex? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size >= magic.count + 48, info.st_size < 1 << 32 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let complete = bytes.withUnsafeMutableBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.read(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                offset += n
            }
            return true
        }
        guard complete, bytes.starts(with: magic) else { return nil }
        let body = bytes.count - 8
        let checksum = bytes.withUnsafeBytes { LineHash.hash(UnsafeRawBufferPointer(rebasing: $0[0..<body])) }
        var reader = Reader(bytes: bytes, offset: magic.count)
        guard let stored = reader.u64(at: body), stored == checksum else { return nil }
        guard let counter = reader.next64(), let version = reader.next64(), let filter = reader.next64(),
            let lineCount = reader.next64(), let count = reader.next64(), count <= UInt64(body / 28),
            let products = reader.names(), let classifications = reader.names()
        else { return nil }
        let stamp = CatalogIndex.Stamp(
            syncCounter: Int64(bitPattern: counter), catalogVersion: Int64(bitPattern: version), filter: filter)
        var index = CatalogIndex(
            stamp: stamp, products: products, classifications: classifications, lineCount: Int(lineCount),
            minimumCapacity: Int(count))
        for _ in 0..<count {
            guard let hash = reader.next64(), let low = reader.next64(), let high = reader.next64(),
                let meta = reader.next32(), hash != 0
            else { return nil }
            index.insert(hash: hash, id: UInt128(high) << 64 | UInt128(low), meta: CatalogIndex.Meta(packed: meta))
        }
        guard reader.offset == body else { return nil }
        return index
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset: Int

        func u64(at position: Int) -> UInt64? {
            guard position >= 0, position + 8 <= bytes.count else { return nil }
            return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: UInt64.self)) }
        }

        mutating func next64() -> UInt64? {
            guard let value = u64(at: offset) else { return nil }
            offset += 8
            return value
        }

        mutating func next32() -> UInt32? {
            guard offset + 4 <= bytes.count else { return nil }
            let value = bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
            offset += 4
            return value
        }

        mutating func names() -> [String]? {
            guard let count = next32(), count <= 1 << 16 else { return nil }
            var names: [String] = []
            for _ in 0..<count {
                guard let length = next32(), offset + Int(length) <= bytes.count else { return nil }
                names.append(String(decoding: bytes[offset..<offset + Int(length)], as: UTF8.self))
                offset += Int(length)
            }
            return names
        }
    }
}
