/// A fast, fixed-seed 64-bit hash of a catalog line's bytes, so a delta sync can tell a line it applied
/// before from a new one without parsing it.
///
/// Multiply-and-fold mixing over 48-byte strides (three independent lanes), in the style of wyhash:
/// several GB/s, so hashing a 265 MB catalog costs tens of milliseconds. It is not cryptographic; a
/// collision would make a changed line look unchanged. With 64 bits, the chance that any of 5,000 changed
/// lines collides with one of 500,000 known lines is about 1 in 7 billion per sync, and `sync --full`
/// re-reads every line regardless. The seed is fixed: hashes are stored in `catalog-index.bin`.
package enum LineHash {
    private static let p0: UInt64 = 0xa076_1d64_78bd_642f
    private static let p1: UInt64 = 0xe703_7ed1_a0b4_28db
    private static let p2: UInt64 = 0x8ebc_6af0_9c88_c6e3
    private static let p3: UInt64 = 0x5899_65cc_7537_4cc3

    /// The hash of `count` bytes at `base`; never 0 (0 marks an empty slot in ``CatalogIndex``).
    static func hash(_ base: UnsafeRawPointer, count: Int) -> UInt64 {
        var seed: UInt64 = 0x2d35_8dcc_aa6c_78a5 ^ mix(p0 ^ UInt64(truncatingIfNeeded: count), p1)
        var a: UInt64
        var b: UInt64
        if count <= 16 {
            if count >= 4 {
                a = UInt64(read32(base)) << 32 | UInt64(read32(base + ((count >> 3) << 2)))
                b = UInt64(read32(base + count - 4)) << 32 | UInt64(read32(base + count - 4 - ((count >> 3) << 2)))
            } else if count > 0 {
                let bytes = base.assumingMemoryBound(to: UInt8.self)
                a = UInt64(bytes[0]) << 16 | UInt64(bytes[count >> 1]) << 8 | UInt64(bytes[count - 1])
                b = 0
            } else {
                a = 0
                b = 0
            }
        } else {
            var p = base
            var left = count
            if left > 48 {
                var lane1 = seed
                var lane2 = seed
                repeat {
                    seed = mix(read64(p) ^ p1, read64(p + 8) ^ seed)
                    lane1 = mix(read64(p + 16) ^ p2, read64(p + 24) ^ lane1)
                    lane2 = mix(read64(p + 32) ^ p3, read64(p + 40) ^ lane2)
                    p += 48
                    left -= 48
                } while left > 48
                seed ^= lane1 ^ lane2
            }
            while left > 16 {
                seed = mix(read64(p) ^ p1, read64(p + 8) ^ seed)
                p += 16
                left -= 16
            }
            a = read64(p + left - 16)
            b = read64(p + left - 8)
        }
        let (low, high) = multiply(a ^ p1, b ^ seed)
        let result = mix(low ^ p0 ^ UInt64(truncatingIfNeeded: count), high ^ p1)
        return result == 0 ? 1 : result
    }

    /// The hash of a buffer's bytes.
    package static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard let base = bytes.baseAddress else { return hash(UnsafeRawPointer(bitPattern: 1)!, count: 0) }
        return hash(base, count: bytes.count)
    }

    @inline(__always)
    private static func multiply(_ a: UInt64, _ b: UInt64) -> (UInt64, UInt64) {
        let product = a.multipliedFullWidth(by: b)
        return (product.low, product.high)
    }

    @inline(__always)
    private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (low, high) = multiply(a, b)
        return low ^ high
    }

    @inline(__always)
    private static func read64(_ p: UnsafeRawPointer) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
    }

    @inline(__always)
    private static func read32(_ p: UnsafeRawPointer) -> UInt32 {
        UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
    }
}
