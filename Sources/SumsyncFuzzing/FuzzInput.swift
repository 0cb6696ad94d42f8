import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Ways a target reads its input: as text, as fields, or as a file for parsers that read one.
enum FuzzInput {
    /// The input as a string when it is UTF-8 (the callers' own parsers see only text that decoded).
    static func text(_ bytes: UnsafeRawBufferPointer) -> String? {
        String(validating: bytes, as: UTF8.self)
    }

    /// The input cut at each newline into at most `count` fields (the last one keeps the rest, newlines
    /// and all); missing ones are empty.
    static func fields(_ bytes: UnsafeRawBufferPointer, count: Int) -> [[UInt8]] {
        var fields: [[UInt8]] = []
        var rest = bytes[...]
        while fields.count < count - 1, let newline = rest.firstIndex(of: 0x0A) {
            fields.append(Array(rest[..<newline]))
            rest = rest[(newline + 1)...]
        }
        fields.append(Array(rest))
        while fields.count < count { fields.append([]) }
        return fields
    }
}

/// A temporary file holding one input, for parsers that read a file or a descriptor; removed when released.
final class ScratchFile {
    let path: String
    let descriptor: Int32

    /// Writes `bytes` to a new file in the temporary folder; its descriptor is at offset 0.
    init(_ bytes: UnsafeRawBufferPointer, suffix: String = "") {
        var template = Array((NSTemporaryDirectory() + "/sumsync-fuzz-XXXXXX" + suffix).utf8CString)
        let fd = mkstemps(&template, Int32(suffix.utf8.count))
        precondition(fd >= 0, "sumsync-fuzz: cannot make a temporary file: \(String(cString: strerror(errno)))")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        descriptor = fd
        var written = 0
        while written < bytes.count {
            let count = write(fd, bytes.baseAddress! + written, bytes.count - written)
            precondition(count > 0, "sumsync-fuzz: cannot write \(path): \(String(cString: strerror(errno)))")
            written += count
        }
        lseek(fd, 0, SEEK_SET)
    }

    deinit {
        close(descriptor)
        unlink(path)
    }
}
