import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SumsyncModel

/// Fetching an upstream source's files: a small document into memory with a conditional GET, a large
/// one to a file; `file://` read where it lies.
package enum UpstreamDocument {
    package enum Answer: Sendable {
        /// HTTP 304.
        case notModified
        case body([UInt8], etag: String?, lastModified: String?)
    }

    /// The document at `url`, at most `limit` bytes.
    static func get(
        _ url: String, etag: String?, lastModified: String?, httpClient: HTTPClient, idleTimeout: Duration, limit: Int
    ) async throws(SyncError) -> Answer {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased() else {
            throw SyncError("invalid URL \(url)")
        }
        if scheme == "file" {
            guard let data = FileManager.default.contents(atPath: parsed.path) else {
                throw SyncError(
                    "cannot read \(parsed.path): \(FileManager.default.fileExists(atPath: parsed.path) ? "permission denied" : "no such file")"
                )
            }
            guard data.count <= limit else { throw SyncError("\(url) is larger than \(limit) bytes") }
            return .body(Array(data), etag: nil, lastModified: nil)
        }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: SumsyncVersion.userAgent)
        if let etag { request.headers.add(name: "If-None-Match", value: etag) }
        if let lastModified { request.headers.add(name: "If-Modified-Since", value: lastModified) }
        do {
            let response = try await httpClient.execute(request, timeout: .seconds(idleTimeout.components.seconds))
            if response.status == .notModified { return .notModified }
            guard response.status == .ok else {
                throw SyncError("\(url) answered HTTP \(response.status.code) \(response.status.reasonPhrase)")
            }
            var body = try await response.body.collect(upTo: limit)
            let bytes = body.readBytes(length: body.readableBytes) ?? []
            return .body(
                bytes, etag: response.headers.first(name: "ETag"),
                lastModified: response.headers.first(name: "Last-Modified"))
        } catch let error as SyncError {
            throw error
        } catch {
            throw SyncError("cannot fetch \(url): \(CatalogFetcher.describe(error))")
        }
    }

    /// A file to read: `file://` where it lies, else downloaded to `path` (temporary).
    static func download(
        _ url: String, to path: String, httpClient: HTTPClient, idleTimeout: Duration, progress: SyncProgress
    ) async throws(SyncError) -> (path: String, temporary: Bool) {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased() else {
            throw SyncError("invalid URL \(url)")
        }
        if scheme == "file" {
            guard FileManager.default.isReadableFile(atPath: parsed.path) else {
                throw SyncError(
                    "cannot read \(parsed.path): \(FileManager.default.fileExists(atPath: parsed.path) ? "permission denied" : "no such file")"
                )
            }
            return (parsed.path, false)
        }
        let answer = try await ResponseDownload.fetch(
            url, to: path, httpClient: httpClient, idleTimeout: idleTimeout, progress: progress,
            naming: .init(subject: url, fetching: url))
        guard case .file(let file, _, _) = answer else { throw SyncError("\(url) answered 304 to a plain GET") }
        return (file, true)
    }
}

/// Checks an OpenPGP detached signature with `gpgv`, as apt does: against one key file (armored or
/// binary), never the user's keyring.
enum GPGVerifier {
    static func verify(
        document: [UInt8], signature: [UInt8], keyFile: String, directory: String, describe: String
    ) throws(SyncError) {
        guard let key = FileManager.default.contents(atPath: keyFile) else {
            throw SyncError("cannot read gpg-key \(keyFile)")
        }
        let work = (directory as NSString).appendingPathComponent(
            ".gpgv-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        } catch {
            throw SyncError("cannot make \(work): \(error)")
        }
        defer { try? FileManager.default.removeItem(atPath: work) }
        let keyring = (work as NSString).appendingPathComponent("key.gpg")
        let documentPath = (work as NSString).appendingPathComponent("repomd.xml")
        let signaturePath = (work as NSString).appendingPathComponent("repomd.xml.asc")
        guard let binary = dearmor(key) else {
            throw SyncError("gpg-key \(keyFile) is neither an armored nor a binary OpenPGP public key")
        }
        guard FileManager.default.createFile(atPath: keyring, contents: binary),
            FileManager.default.createFile(atPath: documentPath, contents: Data(document)),
            FileManager.default.createFile(atPath: signaturePath, contents: Data(signature))
        else { throw SyncError("cannot write to \(work)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/gpgv")
        process.arguments = ["--homedir", work, "--keyring", keyring, signaturePath, documentPath]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do {
            try process.run()
        } catch {
            throw SyncError("cannot run /usr/bin/gpgv (install the gpgv package): \(error)")
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let reason = text.split(separator: "\n").map { $0.replacingOccurrences(of: "gpgv: ", with: "") }
                .joined(separator: "; ")
            throw SyncError(
                "\(describe) does not verify with gpg-key \(keyFile): \(reason); nothing of this source was applied")
        }
    }

    /// The binary form of an OpenPGP key file: an ASCII-armored block decoded, a binary one as it is.
    static func dearmor(_ data: Data) -> Data? {
        let text = String(decoding: data, as: UTF8.self)
        guard text.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----") else {
            // Binary packets start with a byte whose top bit is set.
            return data.first.map { $0 & 0x80 != 0 } == true ? data : nil
        }
        var body = ""
        var inBlock = false
        var inHeaders = false
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line.hasPrefix("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
                inBlock = true
                inHeaders = true
                continue
            }
            guard inBlock else { continue }
            if line.hasPrefix("-----END") { break }
            if inHeaders {
                if line.isEmpty {
                    inHeaders = false
                } else if !line.contains(":") {
                    inHeaders = false
                    body += line
                }
                continue
            }
            if line.hasPrefix("=") { continue }  // the CRC-24 line
            body += line
        }
        return Data(base64Encoded: body)
    }
}
