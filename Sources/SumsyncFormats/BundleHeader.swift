import Foundation

/// The three text lines at the start of a bundle file, before the payload (docs/bundle-format.md):
///
/// ```
/// sumsync-bundle 1
/// {"format":1,"kind":"site",…,"payload_sha256":"…","payload_size":1234,…}
/// ed25519 <base64 of the 64-byte signature of the manifest line>
/// <payload: gzip, to the end of the file>
/// ```
public struct BundleHeader: Sendable {
    /// The first line's word.
    static let magic = "sumsync-bundle"
    /// The signature line's prefix.
    static let signaturePrefix = "ed25519 "
    /// The longest manifest line read.
    static let maxManifestLength = 1 << 20

    /// The format version on the first line.
    public var format: Int
    /// The manifest line's bytes, exactly as signed.
    public var manifestBytes: Data
    /// The Ed25519 signature of `manifestBytes`.
    public var signature: Data
    /// Where the payload starts in the file.
    public var payloadOffset: Int

    /// The header's text for a manifest line and its signature.
    package static func text(manifest: Data, signature: Data) -> Data {
        var data = Data("\(magic) \(BundleManifest.currentFormat)\n".utf8)
        data.append(manifest)
        data.append(0x0A)
        data.append(contentsOf: "\(signaturePrefix)\(signature.base64EncodedString())\n".utf8)
        return data
    }

    /// The manifest, decoded. Call it after the signature verified: before, it is anyone's text.
    public func manifest() throws(BundleError) -> BundleManifest {
        let manifest: BundleManifest
        do {
            manifest = try JSONDecoder().decode(BundleManifest.self, from: manifestBytes)
        } catch {
            throw BundleError(.invalidManifest, "the bundle's manifest is not valid: \(Self.describe(error))")
        }
        guard manifest.format == format else {
            throw BundleError(
                .invalidManifest, "the manifest says format \(manifest.format) but the file's first line says \(format)"
            )
        }
        return manifest
    }

    /// The manifest's `key_id`, read leniently, for messages about a signature that does not verify.
    package var claimedKeyID: String? {
        (try? JSONSerialization.jsonObject(with: manifestBytes) as? [String: Any])?["key_id"] as? String
    }

    /// Reads and checks the layout of the header from `fd` (from offset 0); `path` is for messages.
    /// An unknown format version is refused here, before anything else is interpreted.
    public static func read(from fd: Int32, path: String) throws(BundleError) -> BundleHeader {
        var data = Data()
        var lines: [Range<Int>] = []
        var lineStart = 0
        var firstLineChecked = false
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while lines.count < 3 {
            if data.count - lineStart > maxManifestLength + 128 {
                throw BundleError(.invalidManifest, "\(path): the bundle's header has a line longer than 1 MiB")
            }
            let count = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(data.count)) }
            if count < 0 {
                throw BundleError(.unreadable, "cannot read the bundle \(path): \(String(cString: strerror(errno)))")
            }
            let eof = count == 0
            var index = data.count
            data.append(contentsOf: chunk[0..<count])
            while lines.count < 3, let newline = data[index...].firstIndex(of: 0x0A) {
                lines.append(lineStart..<newline)
                lineStart = newline + 1
                index = lineStart
            }
            // The first line decides whether the rest can be read at all: check it as soon as it is there.
            if !firstLineChecked {
                try checkFirstLine(data, path: path, eof: eof)
                firstLineChecked = !lines.isEmpty
            }
            if eof && lines.count < 3 {
                throw BundleError(.truncated, "\(path) is truncated: the file ends inside the bundle's header")
            }
        }
        let first = String(decoding: data[lines[0]], as: UTF8.self)
        let format = Int(first.dropFirst(magic.count + 1)) ?? 0
        let signatureLine = String(decoding: data[lines[2]], as: UTF8.self)
        guard signatureLine.hasPrefix(signaturePrefix),
            let signature = Data(base64Encoded: String(signatureLine.dropFirst(signaturePrefix.count))),
            signature.count == 64
        else {
            throw BundleError(
                .badSignature, "bad signature: the bundle's signature line is damaged (expected 'ed25519 <base64>')")
        }
        return BundleHeader(
            format: format, manifestBytes: Data(data[lines[1]]), signature: signature, payloadOffset: lineStart)
    }

    /// `sumsync-bundle N`, N this sumsync's format. `data` is what has been read so far.
    private static func checkFirstLine(_ data: Data, path: String, eof: Bool) throws(BundleError) {
        let newline = data.firstIndex(of: 0x0A)
        let line = String(decoding: data[..<(newline ?? data.endIndex)], as: UTF8.self)
        let prefix = magic + " "
        let truncated = BundleError(.truncated, "\(path) is truncated: the file ends inside the bundle's header")
        guard line.hasPrefix(prefix) else {
            // Still possibly the start of the magic word: wait for more, unless the file has ended.
            guard newline == nil, prefix.hasPrefix(line) else {
                throw BundleError(.notABundle, "\(path) is not a sumsync bundle (it does not start with '\(magic)')")
            }
            if eof { throw data.isEmpty ? BundleError(.truncated, "\(path) is empty") : truncated }
            return
        }
        guard newline != nil else {
            if eof { throw truncated }
            return
        }
        guard let number = Int(line.dropFirst(prefix.count)), number > 0 else {
            throw BundleError(.notABundle, "\(path) is not a sumsync bundle (its first line is '\(line.prefix(40))')")
        }
        guard number == BundleManifest.currentFormat else {
            throw BundleError(
                .unknownFormat,
                "\(path) is a bundle of format version \(number); this sumsync reads format version \(BundleManifest.currentFormat) only (export it with the same sumsync version as this site runs)"
            )
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing field \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let field = context.codingPath.map { $0.stringValue }.joined(separator: ".")
            return "field \"\(field)\" has the wrong type or value"
        case DecodingError.dataCorrupted: return "not JSON"
        default: return "\(error)"
        }
    }
}
