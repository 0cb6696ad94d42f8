import Foundation
import SumsyncModel

extension CatalogRecord {
    /// One canonical NDJSON line (no trailing newline).
    ///
    /// Fields appear in declaration order; nil optionals are omitted, `supersedes` is omitted when empty,
    /// `expired` is always present and `releasedEpoch` is never written (it is derived from `released`).
    /// Strings are escaped minimally (`"`, `\`, control characters); non-ASCII stays UTF-8.
    /// `CatalogRecordParser.parse` of the result gives back an equal record, provided the record is valid.
    public func jsonLine() -> String {
        var out = CatalogJSONWriter()
        out.out.reserveCapacity(256 + title.utf8.count + (description?.utf8.count ?? 0))
        out.raw("{")
        out.key("id", first: true)
        out.string(id)
        out.key("revision")
        out.integer(Int64(revision))
        out.key("title")
        out.string(title)
        out.key("product")
        out.string(product)
        out.key("classification")
        out.string(classification)
        out.key("languages")
        out.stringArray(languages)
        if let kb {
            out.key("kb")
            out.string(kb)
        }
        if let bulletin {
            out.key("bulletin")
            out.string(bulletin)
        }
        if let severity {
            out.key("severity")
            out.string(severity)
        }
        out.key("released")
        out.string(released)
        if let revised {
            out.key("revised")
            out.string(revised)
        }
        if !supersedes.isEmpty {
            out.key("supersedes")
            out.stringArray(supersedes)
        }
        out.key("expired")
        out.raw(expired ? "true" : "false")
        if let size {
            out.key("size")
            out.integer(size)
        }
        if let url {
            out.key("url")
            out.string(url)
        }
        if let description {
            out.key("description")
            out.string(description)
        }
        if let source {
            out.key("source")
            out.string(source)
        }
        if let advisory {
            out.key("advisory")
            out.string(advisory)
        }
        if !cves.isEmpty {
            out.key("cves")
            out.stringArray(cves)
        }
        if !packages.isEmpty {
            out.key("packages")
            out.stringArray(packages)
        }
        if rebootSuggested {
            out.key("reboot_suggested")
            out.raw("true")
        }
        if let digest {
            out.key("digest")
            out.integer(digest)
        }
        out.raw("}")
        return String(decoding: out.out, as: UTF8.self)
    }
}

/// Appends JSON tokens to a byte buffer. Shared by `jsonLine()` and the generator, so both emit the same
/// escaping.
package struct CatalogJSONWriter {
    package var out: [UInt8] = []

    package init() {}

    @inline(__always)
    package mutating func raw(_ s: StaticString) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    package mutating func key(_ name: StaticString, first: Bool = false) {
        if !first { out.append(0x2C) }  // ,
        out.append(0x22)
        raw(name)
        out.append(0x22)
        out.append(0x3A)  // :
    }

    package mutating func integer(_ value: Int64) {
        if value < 0 { out.append(0x2D) }
        let magnitude = value.magnitude
        var divisor: UInt64 = 1
        while divisor <= magnitude / 10 { divisor *= 10 }
        while divisor > 0 {
            out.append(UInt8(truncatingIfNeeded: 0x30 + (magnitude / divisor) % 10))
            divisor /= 10
        }
    }

    /// A JSON string. With `asciiOnly`, non-ASCII is written as `\uXXXX` (surrogate pairs above U+FFFF)
    /// and `/` as `\/`, as some encoders do; the generator uses it to exercise parsers.
    package mutating func string(_ value: String, asciiOnly: Bool = false) {
        out.append(0x22)
        if asciiOnly {
            for scalar in value.unicodeScalars {
                if scalar.value < 0x80 {
                    if scalar.value == 0x2F { out.append(0x5C) }
                    escape(UInt8(scalar.value))
                } else if scalar.value <= 0xFFFF {
                    unicodeEscape(UInt16(scalar.value))
                } else {
                    let v = scalar.value - 0x10000
                    unicodeEscape(UInt16(0xD800 + (v >> 10)))
                    unicodeEscape(UInt16(0xDC00 + (v & 0x3FF)))
                }
            }
        } else {
            var value = value
            value.withUTF8 { appendEscaped($0) }
        }
        out.append(0x22)
    }

    /// A JSON string from UTF-8 bytes (a stored column read in place).
    package mutating func string(utf8: UnsafeBufferPointer<UInt8>) {
        out.append(0x22)
        appendEscaped(utf8)
        out.append(0x22)
    }

    /// Copies runs of bytes that need no escaping in one go; most values have no escapes at all.
    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var run = 0
        for k in 0..<utf8.count {
            let b = utf8[k]
            guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run..<k]))
            escape(b)
            run = k + 1
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run...]))
    }

    @inline(__always)
    private mutating func escape(_ byte: UInt8) {
        switch byte {
        case 0x22:
            out.append(0x5C)
            out.append(0x22)
        case 0x5C:
            out.append(0x5C)
            out.append(0x5C)
        case 0x0A:
            out.append(0x5C)
            out.append(0x6E)
        case 0x0D:
            out.append(0x5C)
            out.append(0x72)
        case 0x09:
            out.append(0x5C)
            out.append(0x74)
        case 0x08:
            out.append(0x5C)
            out.append(0x62)
        case 0x0C:
            out.append(0x5C)
            out.append(0x66)
        case 0..<0x20: unicodeEscape(UInt16(byte))
        default: out.append(byte)
        }
    }

    private mutating func unicodeEscape(_ unit: UInt16) {
        out.append(0x5C)
        out.append(0x75)
        for shift in stride(from: 12, through: 0, by: -4) { out.append(hexDigit(UInt8((unit >> UInt16(shift)) & 0xF))) }
    }

    private func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x57 + nibble }

    package mutating func stringArray(_ values: [String]) {
        out.append(0x5B)  // [
        for (k, value) in values.enumerated() {
            if k > 0 { out.append(0x2C) }
            string(value)
        }
        out.append(0x5D)  // ]
    }
}

extension CatalogJSONWriter {
    /// A list of strings as JSON text (`["en","de"]`), written as every record's lists are: how the site
    /// database stores `languages` and `supersedes`, so a change stream copies them as they stand.
    package static func text(of values: [String]) -> String {
        var writer = CatalogJSONWriter()
        writer.stringArray(values)
        return String(decoding: writer.out, as: UTF8.self)
    }

    /// The strings of a stored list (``text(of:)``); nil or anything but a JSON list of strings is empty.
    package static func strings(fromJSON text: String?) -> [String] {
        guard let text, let list = try? listDecoder.decode([String].self, from: Data(text.utf8)) else { return [] }
        return list
    }

    /// One decoder for every row (`sumsyncctl updates` lists hundreds of thousands); decoding does not
    /// change its state.
    private static let listDecoder = JSONDecoder()
}
