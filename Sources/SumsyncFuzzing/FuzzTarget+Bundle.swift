import Foundation
import SumsyncFormats

extension FuzzTarget {
    /// The input as a bundle file: its header read as an import reads it. A header that reads must
    /// describe the input (the payload starts within it, after the manifest line) and be written back by
    /// ``BundleHeader/text(manifest:signature:)`` as bytes that read to the same header; its manifest then
    /// goes through ``bundleManifest(_:)``'s checks.
    static func bundleHeader(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) -> Bool {
        let file = ScratchFile(input, suffix: ".bundle")
        guard let header = try? BundleHeader.read(from: file.descriptor, path: file.path) else { return false }
        try bundleHeader.expect(
            header.payloadOffset <= input.count && header.payloadOffset > header.manifestBytes.count,
            "payload offset \(header.payloadOffset) in \(input.count) bytes, manifest of \(header.manifestBytes.count)")
        try bundleHeader.expect(!header.manifestBytes.contains(0x0A), "the manifest line holds a newline")
        let text = BundleHeader.text(manifest: header.manifestBytes, signature: header.signature)
        let again = text.withUnsafeBytes { ScratchFile($0, suffix: ".bundle") }
        do {
            let reread = try BundleHeader.read(from: again.descriptor, path: again.path)
            try bundleHeader.expect(
                reread.format == header.format && reread.manifestBytes == header.manifestBytes
                    && reread.signature == header.signature && reread.payloadOffset == text.count,
                "the header written back reads differently")
        } catch let error as InvariantViolation {
            throw error
        } catch {
            throw InvariantViolation(bundleHeader, "the header written back does not read: \(error)")
        }
        _ = header.claimedKeyID
        guard let manifest = try? header.manifest() else { return false }
        try checkManifest(manifest, target: bundleHeader)
        return true
    }

    /// The input as a manifest line: decoded as ``BundleHeader/manifest()`` decodes it; one that decodes
    /// must encode (``BundleManifest/encoded()``) to a single line that decodes to the same manifest.
    static func bundleManifest(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) -> Bool {
        guard let manifest = try? JSONDecoder().decode(BundleManifest.self, from: Data(input)) else { return false }
        try checkManifest(manifest, target: bundleManifest)
        return true
    }

    private static func checkManifest(_ manifest: BundleManifest, target: FuzzTarget) throws(InvariantViolation) {
        _ = manifest.summary
        let encoded: Data
        do {
            encoded = try manifest.encoded()
        } catch {
            throw InvariantViolation(target, "a decoded manifest does not encode: \(error)")
        }
        try target.expect(!encoded.contains(0x0A), "the encoded manifest is not one line")
        let again = try? JSONDecoder().decode(BundleManifest.self, from: encoded)
        try target.expect(
            again == manifest, "decode(encoded()) differs: \(manifest) became \(String(describing: again))")
    }
}
