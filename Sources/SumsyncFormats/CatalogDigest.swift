import Crypto
import Foundation
import _CryptoExtras

/// The state digest of a site's whole catalog: a homomorphic multiset hash, so adding or removing one
/// update changes it in constant time, whatever the catalog's size, and the order rows were written in
/// does not matter.
///
/// The construction is **LtHash16** (Bellare and Micciancio's lattice hash, with the parameters of Lewi
/// et al., "Securing Update Propagation with Homomorphic Hashing", IACR ePrint 2019/227): 1,024 lanes of
/// 16 bits, added lane by lane modulo 2¹⁶. An element is the 2,048-byte output of an extendable-output
/// function over the row's canonical encoding; here SHA-256 of the encoding keys a ChaCha20 keystream
/// (RFC 8439, nonce and counter 0), and its 2,048 bytes, read as little-endian 16-bit words, are the lanes.
/// Unlike a sum or XOR of SHA-256 values, which Wagner's generalized birthday attack breaks in practice,
/// finding two multisets with the same LtHash16 means solving a short-vector problem in a lattice of
/// dimension 1,024 (about 200 bits of security by the paper's estimate). docs/security.md has the details.
package struct CatalogDigest: Sendable, Equatable {
    /// Lanes of 16 bits.
    package static let lanes = 1_024
    /// The state's size in bytes.
    package static let byteCount = lanes * 2

    /// The lanes, as little-endian bytes in memory order (2,048 bytes).
    package private(set) var bytes: [UInt8]

    /// The digest of no updates.
    package init() { bytes = [UInt8](repeating: 0, count: Self.byteCount) }

    /// A stored state; nil unless it is exactly 2,048 bytes.
    package init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = Array(bytes)
    }

    /// Whether it is the digest of no updates (or of a multiset that sums to it).
    package var isZero: Bool { bytes.allSatisfy { $0 == 0 } }

    /// The digest as sites publish and sign it: `SHA-256("sumsync catalog digest v1\n" ‖ state)`, in hex
    /// (64 digits). The state itself stays at each site; the hash of it commits to all 2,048 bytes.
    package var text: String {
        var hasher = SHA256()
        hasher.update(data: Array("sumsync catalog digest v1\n".utf8))
        hasher.update(data: bytes)
        return Hex.string(hasher.finalize())
    }

    /// Adds (`sign` 1) or removes (`sign` -1) the element of one row's canonical encoding.
    package mutating func combine(encoding: UnsafeRawBufferPointer, sign: Int) {
        Self.element(of: encoding) { element in combine(lanes: element, sign: sign) }
    }

    /// Adds or removes a whole other digest (a part computed elsewhere, or a delta).
    package mutating func combine(_ other: CatalogDigest, sign: Int = 1) {
        other.bytes.withUnsafeBytes { combine(lanes: $0, sign: sign) }
    }

    /// Lane-wise addition or subtraction modulo 2¹⁶ of 2,048 bytes of little-endian lanes.
    private mutating func combine(lanes element: UnsafeRawBufferPointer, sign: Int) {
        precondition(element.count == Self.byteCount)
        bytes.withUnsafeMutableBytes { state in
            let step = MemoryLayout<SIMD32<UInt16>>.size
            var offset = 0
            while offset < Self.byteCount {
                // Little-endian lanes on every platform Swift runs sumsync on (x86-64, arm64).
                let left = state.loadUnaligned(fromByteOffset: offset, as: SIMD32<UInt16>.self)
                let right = element.loadUnaligned(fromByteOffset: offset, as: SIMD32<UInt16>.self)
                state.storeBytes(
                    of: sign >= 0 ? left &+ right : left &- right, toByteOffset: offset, as: SIMD32<UInt16>.self)
                offset += step
            }
        }
    }

    /// The 2,048-byte element of an encoding, handed to `body`.
    private static func element(of encoding: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var hasher = SHA256()
        hasher.update(data: domain)
        hasher.update(bufferPointer: encoding)
        let seed = SymmetricKey(data: hasher.finalize())
        // Encrypting zeros gives the keystream itself. Neither call can fail: the key is 256 bits and
        // the nonce 12 bytes.
        let keystream = try! Insecure.ChaCha20CTR.encrypt(zeros, using: seed, nonce: nonce)
        keystream.withUnsafeBytes(body)
    }

    private static let domain = Array("sumsync lthash16 v1\n".utf8)
    private static let zeros = Data(count: byteCount)
    private static let nonce = try! Insecure.ChaCha20CTR.Nonce(data: Data(count: 12))
}

/// The canonical encoding of one update row for ``CatalogDigest``: each column in a fixed order as a tag
/// byte (`0` NULL, `1` integer, `2` text, `3` blob, `4` real) and then, for an integer, its 8 bytes
/// big-endian; for text or a blob, a 4-byte big-endian length and the bytes; for a real, its IEEE 754 bits
/// as an integer. The column order is the change stream's (docs/security.md lists it).
package struct RowEncoding: Sendable {
    package private(set) var bytes: [UInt8] = []

    package init() { bytes.reserveCapacity(4_096) }

    /// Starts a row.
    package mutating func begin() { bytes.removeAll(keepingCapacity: true) }

    package mutating func null() { bytes.append(0) }

    package mutating func integer(_ value: Int64) {
        bytes.append(1)
        append(UInt64(bitPattern: value))
    }

    package mutating func real(_ value: Double) {
        bytes.append(4)
        append(value.bitPattern)
    }

    package mutating func text(_ utf8: UnsafeRawBufferPointer, blob: Bool = false) {
        bytes.append(blob ? 3 : 2)
        let count = UInt32(clamping: utf8.count)
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: count >> shift)) }
        bytes.append(contentsOf: utf8)
    }

    private mutating func append(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
}
