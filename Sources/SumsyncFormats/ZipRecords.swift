import CCompression
import Foundation
import ZIPFoundation

/// A zip that cannot be read, or one entry of it.
package struct ZipReadError: Error, Sendable, CustomStringConvertible {
    /// The entry's name, nil for the whole archive.
    package var entry: String?
    package var message: String
    package var description: String { entry.map { "entry \($0): \(message)" } ?? message }
}

/// One entry of a zip, as its central directory states it.
package struct ZipEntryInfo: Sendable, Equatable {
    package var name: String
    package var crc32: UInt32
    package var compressedSize: UInt64
    package var uncompressedSize: UInt64
    package var isFile: Bool
}

/// The entries of a zip file read with ZIPFoundation through its central directory, each one's bytes
/// decompressed only when asked for, under a size cap and checked against its CRC-32.
package final class ZipRecords {
    private let archive: Archive
    /// How many entries the end-of-central-directory record states.
    package let statedCount: UInt64

    package init(path: String) throws(ZipReadError) {
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw ZipReadError(
                entry: nil,
                message: "not a zip file, or one cut short (\(error): no end of central directory)")
        }
        guard let count = Self.statedEntryCount(path) else {
            throw ZipReadError(entry: nil, message: "not a zip file: no end of central directory record")
        }
        statedCount = count
    }

    /// Calls `body` with each entry in central-directory order (those at the positions `wanted` accepts);
    /// `read` gives an entry's bytes. Throws when
    /// the central directory holds fewer readable entries than it states (ZIPFoundation's iteration ends
    /// quietly at a damaged one).
    package func forEachEntry(
        where wanted: (_ position: Int) -> Bool = { _ in true },
        _ body: (ZipEntryInfo, _ read: (_ limit: Int) throws(ZipReadError) -> [UInt8]) throws -> Void
    ) throws {
        var seen: UInt64 = 0
        for entry in archive {
            seen += 1
            // Only the entries asked for cost their name and type.
            guard wanted(Int(seen - 1)) else { continue }
            // A name ending in `/` is a directory, as the zip specification says (§4.4.17): ZIPFoundation's
            // `type` decodes the name a second time to tell the same.
            let name = entry.path
            let info = ZipEntryInfo(
                name: name, crc32: entry.checksum, compressedSize: entry.compressedSize,
                uncompressedSize: entry.uncompressedSize, isFile: !name.hasSuffix("/"))
            try body(info) { (limit: Int) throws(ZipReadError) in try self.contents(of: entry, info: info, limit: limit)
            }
        }
        guard seen == statedCount else {
            throw ZipReadError(
                entry: nil,
                message:
                    "its central directory states \(statedCount) entries, but only \(seen) can be read (the zip is damaged)"
            )
        }
    }

    /// The decompressed bytes of `entry`, at most `limit` of them, checked against its CRC-32.
    private func contents(of entry: Entry, info: ZipEntryInfo, limit: Int) throws(ZipReadError) -> [UInt8] {
        func fail(_ message: String) -> ZipReadError { ZipReadError(entry: info.name, message: message) }
        guard info.uncompressedSize <= UInt64(limit) else {
            throw fail("it states \(info.uncompressedSize) bytes, more than a record may have (\(limit) bytes)")
        }
        guard info.compressedSize <= UInt64(limit) else {
            throw fail("it is \(info.compressedSize) bytes compressed, more than a record may have (\(limit) bytes)")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.uncompressedSize))
        // ZIPFoundation 0.9.20's inflate loop on Linux reads the archive on from the entry's data and spins
        // forever once a stream that never ends meets the end of the file. With the read size one more than
        // the compressed size, a stream that ends where the central directory says ends within the first
        // read; one that does not makes a second read, which always finds bytes (the central directory
        // follows every entry's data), and the consumer stops it there.
        let bufferSize = Int(info.compressedSize) + 1
        var firstReadDone = false
        let stated = Int(info.uncompressedSize)
        // zlib's crc32 rather than ZIPFoundation's own (a byte loop on Linux, several times slower).
        var crc: UInt = 0
        do {
            _ = try archive.extract(entry, bufferSize: max(bufferSize, 64), skipCRC32: true) { data in
                if firstReadDone && entry.isCompressed {
                    throw fail("its compressed data does not end where the central directory says (the zip is damaged)")
                }
                if data.count < max(bufferSize, 64) { firstReadDone = true }
                guard bytes.count + data.count <= stated else {
                    throw fail(
                        "it decompresses to more than the \(stated) bytes its central directory states (a zip bomb, or a damaged zip)"
                    )
                }
                bytes.append(contentsOf: data)
                data.withUnsafeBytes { raw in
                    if let base = raw.baseAddress, raw.count > 0 {
                        crc = CCompression.crc32(crc, base.assumingMemoryBound(to: UInt8.self), UInt32(raw.count))
                    }
                }
            }
        } catch let error as ZipReadError {
            throw error
        } catch {
            throw fail("cannot be decompressed (\(error))")
        }
        guard bytes.count == stated else {
            throw fail("it decompresses to \(bytes.count) bytes, but its central directory states \(stated)")
        }
        guard UInt32(truncatingIfNeeded: crc) == info.crc32 else {
            throw fail(
                "its CRC-32 is \(Hex.string(UInt32(truncatingIfNeeded: crc))), but its central directory states \(Hex.string(info.crc32)) (the zip is damaged)"
            )
        }
        return bytes
    }

    /// The entry count of the end-of-central-directory record (or its ZIP64 form): a cross-check of the
    /// iteration, not a reader of the archive.
    static func statedEntryCount(_ path: String) -> UInt64? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd(), size >= 22 else { return nil }
        // The record is 22 bytes plus a comment of at most 65,535.
        let tail = min(size, 22 + 65_535 + 20)
        guard (try? handle.seek(toOffset: size - tail)) != nil, let data = try? handle.read(upToCount: Int(tail)),
            data.count == Int(tail)
        else { return nil }
        let bytes = [UInt8](data)
        func u16(_ i: Int) -> UInt64 { UInt64(bytes[i]) | UInt64(bytes[i + 1]) << 8 }
        func u32(_ i: Int) -> UInt64 { u16(i) | u16(i + 2) << 16 }
        func u64(_ i: Int) -> UInt64 { u32(i) | u32(i + 4) << 32 }
        var i = bytes.count - 22
        while i >= 0 {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4B, bytes[i + 2] == 0x05, bytes[i + 3] == 0x06 { break }
            i -= 1
        }
        guard i >= 0 else { return nil }
        let count = u16(i + 10)
        guard count == 0xFFFF else { return count }
        // ZIP64: the locator's 20 bytes come just before; it gives the ZIP64 record's offset.
        guard i >= 20, u32(i - 20) == 0x0706_4B50 else { return count }
        let recordOffset = u64(i - 20 + 8)
        guard (try? handle.seek(toOffset: recordOffset)) != nil, let record = try? handle.read(upToCount: 56),
            record.count == 56
        else { return nil }
        let r = [UInt8](record)
        guard r[0] == 0x50, r[1] == 0x4B, r[2] == 0x06, r[3] == 0x06 else { return nil }
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(r[32 + $1]) << (8 * UInt64($1)) }
    }
}
