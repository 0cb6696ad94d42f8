import Foundation
import SumsyncFormats
import Synchronization

/// Keeps the top-level site's ``CatalogIndex`` between syncs: in memory while the daemon runs, and in
/// `catalog-index.bin` in the state folder so a restarted daemon's next delta sync is fast too.
///
/// An index is handed out only for the database state it describes (its stamp: sync counter, catalog
/// version, filter); anything else that wrote the database since (a site bundle import, a failed
/// write of the file, a restored backup at another state) makes the stamps differ, and that sync reads
/// every line instead and makes a new index. The file is a cache: a missing, torn or foreign one is
/// ignored, never an error.
package final class CatalogIndexCache: Sendable {
    /// The file name inside the state folder.
    static let fileName = "catalog-index.bin"

    let path: String
    private let held = Mutex<CatalogIndex?>(nil)
    /// Writing the file; each write waits for the one before, so files are renamed in order.
    private let writing = Mutex<Task<Void, Never>?>(nil)

    package init(stateDirectory: String) {
        path = stateDirectory.hasSuffix("/") ? stateDirectory + Self.fileName : stateDirectory + "/" + Self.fileName
    }

    /// Waits until the newest index is in the file.
    package func flush() async {
        await writing.withLock { $0 }?.value
    }

    /// Takes the index for `stamp` out of the cache (memory first, then the file); nil when none
    /// matches. The caller owns it and gives the next one to ``store(_:)``. Its hash table and shared-id
    /// marks are made in the background after ``store(_:)``, or else by the line matcher while it reads.
    package func take(matching stamp: CatalogIndex.Stamp) -> CatalogIndex? {
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
    package func putBack(_ index: CatalogIndex) {
        held.withLock { $0 = index }
    }

    /// Holds the index of the catalog just applied and writes it to the file in the background, off
    /// the sync's path (a failed or unfinished write only costs the next restart's speed: the stamps
    /// then differ).
    /// Then, still in the background, it makes the index's hash table and shared-id marks, and holds
    /// that copy instead if no sync has taken the index meanwhile, so the next sync's reading thread
    /// starts matching at once.
    package func store(_ index: CatalogIndex) {
        held.withLock { $0 = index }
        let path = self.path
        writing.withLock { writing in
            let previous = writing
            writing = Task { [self] in
                await previous?.value
                await BackgroundThread.shared.value {
                    CatalogIndexFile.write(index, to: path)
                    var prepared = index
                    prepared.prepare()
                    self.held.withLock { held in
                        if let current = held, current.stamp == prepared.stamp, !current.hasSharedIDs {
                            held = prepared
                        }
                    }
                }
            }
        }
    }
}

/// The on-disk form of a ``CatalogIndex``: little-endian, checksummed, written atomically.
///
/// ```
/// "SUMSYNC-CATIDX-2\n"  stamp (3 × 8)  line count (8)
/// products, classifications: count (4), then each name as length (4) + UTF-8
/// count × (hash 8, id 16, meta 4), in catalog order      checksum (8, LineHash of everything before)
/// ```
package enum CatalogIndexFile {
    static let magic = Array("SUMSYNC-CATIDX-2\n".utf8)

    static func write(_ index: CatalogIndex, to path: String) {
        let names = [index.products, index.classifications]
        let nameBytes = names.reduce(0) { $0 + 4 + $1.reduce(0) { $0 + 4 + $1.utf8.count } }
        let size = magic.count + 32 + nameBytes + index.count * 28 + 8
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var offset = 0
            func put<T: FixedWidthInteger>(_ value: T) {
                raw.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
                offset += MemoryLayout<T>.size
            }
            for byte in magic { put(byte) }
            put(UInt64(bitPattern: index.stamp.syncCounter))
            put(UInt64(bitPattern: index.stamp.catalogVersion))
            put(index.stamp.filter)
            put(UInt64(index.count))
            for list in names {
                put(UInt32(list.count))
                for name in list {
                    put(UInt32(name.utf8.count))
                    for byte in name.utf8 { put(byte) }
                }
            }
            for position in 0..<index.count {
                put(index.hashes[position])
                put(UInt64(truncatingIfNeeded: index.ids[position]))
                put(UInt64(truncatingIfNeeded: index.ids[position] >> 64))
                // Shared-id marks are worked out again by the line matcher that next reads against it.
                put(index.metas[position] & ~(1 << 30))
            }
            put(LineHash.hash(UnsafeRawBufferPointer(rebasing: raw[0..<offset])))
            initialized = offset
        }
        precondition(bytes.count == size)
        // Written to a temporary file and renamed into place; a failure leaves the old file.
        try? Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The index in the file at `path`; nil when there is none or it is torn, foreign or corrupt.
    static func read(path: String) -> CatalogIndex? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)), data.count >= magic.count + 48 else {
            return nil
        }
        let bytes = [UInt8](data)
        guard bytes.starts(with: magic) else { return nil }
        let body = bytes.count - 8
        let checksum = bytes.withUnsafeBytes { LineHash.hash(UnsafeRawBufferPointer(rebasing: $0[0..<body])) }
        var reader = Reader(bytes: bytes, offset: magic.count)
        guard let stored = reader.u64(at: body), stored == checksum else { return nil }
        guard let counter = reader.next64(), let version = reader.next64(), let filter = reader.next64(),
            let count = reader.next64(), count <= UInt64(body / 28),
            let products = reader.names(), let classifications = reader.names()
        else { return nil }
        let stamp = CatalogIndex.Stamp(
            syncCounter: Int64(bitPattern: counter), catalogVersion: Int64(bitPattern: version), filter: filter)
        var hashes: [UInt64] = []
        var ids: [UInt128] = []
        var metas: [UInt32] = []
        hashes.reserveCapacity(Int(count))
        ids.reserveCapacity(Int(count))
        metas.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let hash = reader.next64(), let low = reader.next64(), let high = reader.next64(),
                let meta = reader.next32(), hash != 0,
                Int(meta & 0xFFFF) < products.count, Int((meta >> 16) & 0x3FFF) < classifications.count
            else { return nil }
            hashes.append(hash)
            ids.append(UInt128(high) << 64 | UInt128(low))
            metas.append(meta)
        }
        guard reader.offset == body else { return nil }
        return CatalogIndex(
            stamp: stamp, products: products, classifications: classifications, hashes: hashes, ids: ids, metas: metas)
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset: Int

        func u64(at position: Int) -> UInt64? {
            guard position >= 0, position + 8 <= bytes.count else { return nil }
            return bytes.withUnsafeBytes {
                UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: UInt64.self))
            }
        }

        mutating func next64() -> UInt64? {
            guard let value = u64(at: offset) else { return nil }
            offset += 8
            return value
        }

        mutating func next32() -> UInt32? {
            guard offset + 4 <= bytes.count else { return nil }
            let value = bytes.withUnsafeBytes {
                UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            }
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
