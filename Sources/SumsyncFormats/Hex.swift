/// Lowercase hexadecimal text of bytes and integers, without `String(format:)` (which goes through
/// Foundation's formatter and costs microseconds a call: too much once per record).
package enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Two digits per byte.
    package static func string(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Eight digits, most significant first (a CRC-32 as `crc32` tools print it).
    package static func string(_ value: UInt32) -> String {
        string((0..<4).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) })
    }

    /// A UUID's text, 8-4-4-4-12, from its 16 bytes.
    package static func uuid(_ bytes: [UInt8]) -> String {
        precondition(bytes.count >= 16)
        return String(unsafeUninitializedCapacity: 36) { out in
            var n = 0
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    out[n] = UInt8(ascii: "-")
                    n += 1
                }
                out[n] = digits[Int(bytes[index] >> 4)]
                out[n + 1] = digits[Int(bytes[index] & 0x0F)]
                n += 2
            }
            return n
        }
    }
}
