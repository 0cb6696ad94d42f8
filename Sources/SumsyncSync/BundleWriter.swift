import Crypto
import Foundation
import SumsyncFormats

/// Writes one bundle file with bounded memory: payload lines stream through gzip into a temporary file
/// beside the output while their SHA-256 is computed; ``finish(_:key:)`` then signs the manifest (which
/// now knows the payload's size and digest) and writes header + payload to the output, atomically.
package final class BundleWriter {
    let output: String
    private let payloadPath: String
    private let payloadFD: Int32
    private var deflater: GzipDeflater?
    private var hasher = SHA256()
    private var payloadSize = 0
    private var writeError: Int32 = 0
    private var done = false

    /// Starts a bundle that will be written to `output`.
    init(output: String) throws(BundleError) {
        self.output = output
        let folder = (output as NSString).deletingLastPathComponent
        payloadPath = ((folder.isEmpty ? "." : folder) as NSString)
            .appendingPathComponent(".\((output as NSString).lastPathComponent).\(UUID().uuidString.prefix(8)).payload")
        payloadFD = open(payloadPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard payloadFD >= 0 else {
            throw BundleError(.cannotWrite, "cannot write beside \(output): \(String(cString: strerror(errno)))")
        }
        do {
            deflater = try GzipDeflater { [unowned self] bytes in try self.append(bytes) }
        } catch {
            close(payloadFD)
            unlink(payloadPath)
            throw BundleError(.cannotWrite, "\(error)")
        }
    }

    deinit {
        close(payloadFD)
        unlink(payloadPath)
    }

    /// Adds one NDJSON line to the payload.
    func writeLine(_ line: String) throws(BundleError) {
        do {
            try deflater?.writeLine(line)
        } catch {
            throw failure(error)
        }
    }

    private func append(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bufferPointer: bytes)
        payloadSize += bytes.count
        try Self.writeAll(payloadFD, bytes)
    }

    /// Signs `manifest` (filling in the payload's size and digest and the key id) and writes the bundle.
    /// Returns the manifest as written.
    func finish(_ manifest: BundleManifest, key: BundleSigningKey) throws(BundleError) -> BundleManifest {
        precondition(!done, "a bundle is finished once")
        done = true
        do {
            try deflater?.finish()
        } catch {
            throw failure(error)
        }
        deflater = nil
        var manifest = manifest
        manifest.payloadSize = payloadSize
        manifest.payloadSHA256 = Hex.string(hasher.finalize())
        manifest.keyID = key.keyID
        let manifestBytes = try manifest.encoded()
        let header = BundleHeader.text(manifest: manifestBytes, signature: try key.sign(manifestBytes))
        let partial = payloadPath + ".bundle"
        let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw BundleError(.cannotWrite, "cannot write \(output): \(String(cString: strerror(errno)))")
        }
        do {
            defer { close(fd) }
            try header.withUnsafeBytes { try Self.writeAll(fd, $0) }
            try copyPayload(to: fd)
            guard fsync(fd) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            unlink(partial)
            throw failure(error)
        }
        guard rename(partial, output) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partial)
            throw BundleError(.cannotWrite, "cannot write \(output): \(reason)")
        }
        return manifest
    }

    private func copyPayload(to fd: Int32) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: off_t = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(payloadFD, $0.baseAddress, $0.count, offset) }
            if count < 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            if count == 0 { return }
            try buffer.withUnsafeBytes { try Self.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            offset += off_t(count)
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            offset += written
        }
    }

    private func failure(_ error: any Error) -> BundleError {
        if let error = error as? BundleError { return error }
        if let error = error as? POSIXError {
            return BundleError(
                .cannotWrite, "cannot write \(output): \(String(cString: strerror(error.code.rawValue)))")
        }
        return BundleError(.cannotWrite, "cannot write \(output): \(error)")
    }
}

/// Reading a bundle's payload back out of the file.
package enum BundlePayload {
    /// Copies the payload (from `offset` to the end of `fd`) to a new file at `path`, computing its size
    /// and SHA-256 on the way; `progress` gets the bytes copied so far. The copy is what gets applied, so
    /// a file changed after the check cannot slip anything in.
    static func copy(
        from fd: Int32, offset: Int, to path: String, progress: (Int) throws -> Void = { _ in }
    ) throws -> (size: Int, sha256: String) {
        unlink(path)
        let out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard out >= 0 else {
            throw BundleError(.cannotWrite, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(out) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var position = off_t(offset)
        var size = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, position) }
            if count < 0 {
                throw BundleError(.unreadable, "cannot read the bundle: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            try buffer.withUnsafeBytes { bytes in
                let chunk = UnsafeRawBufferPointer(rebasing: bytes[0..<count])
                hasher.update(bufferPointer: chunk)
                do {
                    try BundleWriter.writeAll(out, chunk)
                } catch {
                    throw BundleError(.cannotWrite, "cannot write \(path): \(error)")
                }
            }
            position += off_t(count)
            size += count
            try progress(size)
        }
        return (size, Hex.string(hasher.finalize()))
    }
}
