import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import SumsyncFormats
import SumsyncModel
import SumsyncStore
import Synchronization

/// What one source's fetch found.
package struct SourceFetch: Sendable {
    package enum Content: Sendable {
        /// The same content as the last applied; its kept copy stands.
        case unchanged
        /// New content: its records are in the copy at `path`, named by `contentKey`.
        case changed(path: String, contentKey: String, records: Int)
    }

    package var content: Content
    /// Validators of the first document asked for, for the next conditional request.
    package var etag: String?
    package var lastModified: String?
    /// Advisories skipped as invalid (`skip-invalid`).
    package var skipped = 0
}

/// Settings every source fetch shares.
package struct SourceFetchContext: Sendable {
    package var httpClient: HTTPClient
    /// `sources/` in the state folder: downloads and the kept copies of each source's records.
    package var directory: String
    package var idleTimeout: Duration
    package var maxMetadataSize: Int64
    package var skipInvalid: Bool
    package var logger: Logger
    /// The stored revision and digest of each advisory update, read from the site database when first
    /// asked for (an unchanged source never needs it).
    package var ledger: AdvisoryLedger
}

/// The site database's advisory ledger (``SiteStore/advisoryLedger()``), read once per sync, when needed.
package final class AdvisoryLedger: Sendable {
    package typealias Entries = [String: (revision: Int, digest: Int64)]
    private let read: @Sendable () throws -> Entries
    private let cache = Mutex<Entries?>(nil)

    package init(_ read: @escaping @Sendable () throws -> Entries) { self.read = read }

    package func entries() throws(SyncError) -> Entries {
        do {
            return try cache.withLock { cached in
                if let cached { return cached }
                let entries = try read()
                cached = entries
                return entries
            }
        } catch {
            throw SyncError("cannot read the site database: \(error)")
        }
    }
}

/// The kept copy of a source's records: `sources/NAME@KEY.ndjson`, KEY the end of its content key.
package enum SourceCopy {
    package static func path(directory: String, source: String, contentKey: String) -> String {
        let key = contentKey.split(separator: ":").last.map(String.init) ?? contentKey
        let tail = key.count > 24 ? String(key.suffix(24)) : key
        return (directory as NSString).appendingPathComponent("\(source)@\(tail).ndjson")
    }
}

/// An RPM repository as an upstream source: `repodata/repomd.xml` (conditional GET, optionally checked
/// against `repomd.xml.asc` with gpgv), then the `updateinfo` file it points at, verified against the
/// checksum repomd states, decompressed and read with libxml2 one advisory at a time. The records go to
/// the source's kept copy; an unchanged updateinfo checksum downloads nothing more.
package struct RpmUpstream: Sendable {
    package let config: UpstreamSourceConfig
    let context: SourceFetchContext

    package init(config: UpstreamSourceConfig, context: SourceFetchContext) {
        self.config = config
        self.context = context
    }

    var base: String { config.url.hasSuffix("/") ? config.url : config.url + "/" }

    package func fetch(state: SourceState?, full: Bool, progress: SyncProgress) async throws(SyncError) -> SourceFetch {
        let repomdURL = base + "repodata/repomd.xml"
        let copyExists: (String?) -> Bool = { key in
            guard let key else { return false }
            return FileManager.default.fileExists(
                atPath: SourceCopy.path(directory: context.directory, source: config.name, contentKey: key))
        }
        let known = !full && copyExists(state?.contentKey)
        let answer = try await UpstreamDocument.get(
            repomdURL, etag: known ? state?.etag : nil, lastModified: known ? state?.lastModified : nil,
            httpClient: context.httpClient, idleTimeout: context.idleTimeout, limit: 64 << 20)
        guard case .body(let repomd, let etag, let lastModified) = answer else {
            return SourceFetch(content: .unchanged, etag: state?.etag, lastModified: state?.lastModified)
        }
        if let key = config.gpgKey {
            try await verifySignature(repomd, key: key)
        }
        let entries: [RepomdEntry]
        do {
            entries = try Repomd.entries(repomd, document: repomdURL)
        } catch {
            throw SyncError("malformed \(error)")
        }
        guard let entry = entries.first(where: { $0.type == "updateinfo" }) else {
            context.logger.notice(
                "Source \(config.name): the repository has no updateinfo in repodata/repomd.xml, so it offers no advisories.",
                metadata: ["source.name": "\(config.name)"])
            let key = "none"
            if known && state?.contentKey == key {
                return SourceFetch(content: .unchanged, etag: etag, lastModified: lastModified)
            }
            let path = SourceCopy.path(directory: context.directory, source: config.name, contentKey: key)
            guard FileManager.default.createFile(atPath: path, contents: Data()) else {
                throw SyncError("cannot write \(path)")
            }
            return SourceFetch(
                content: .changed(path: path, contentKey: key, records: 0), etag: etag, lastModified: lastModified)
        }
        guard !entry.location.isEmpty, !entry.checksum.isEmpty else {
            throw SyncError("\(repomdURL): the updateinfo entry has no location or checksum")
        }
        let key = "\(entry.checksumType):\(entry.checksum)"
        if known && state?.contentKey == key {
            return SourceFetch(content: .unchanged, etag: etag, lastModified: lastModified)
        }
        let fileURL = base + entry.location
        let local = try await UpstreamDocument.download(
            fileURL, to: (context.directory as NSString).appendingPathComponent("\(config.name).download"),
            httpClient: context.httpClient, idleTimeout: context.idleTimeout, progress: progress)
        defer { if local.temporary { unlink(local.path) } }
        try verify(local.path, entry: entry, url: fileURL)
        progress.enter(.applying)
        let copy = SourceCopy.path(directory: context.directory, source: config.name, contentKey: key)
        let path = local.path
        let (count, skipped) = try await Offload.run { () throws(SyncError) in
            try convert(path, url: fileURL, to: copy, progress: progress)
        }
        return SourceFetch(
            content: .changed(path: copy, contentKey: key, records: count), etag: etag, lastModified: lastModified,
            skipped: skipped)
    }

    /// Checks the downloaded file's size and checksum against what repomd states.
    private func verify(_ path: String, entry: RepomdEntry, url: String) throws(SyncError) {
        if let size = entry.size, let actual = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int,
            Int64(actual) != size
        {
            throw SyncError(
                "\(url) is \(actual) bytes, but repomd.xml says \(size); nothing of this source was applied")
        }
        let actual: String
        do {
            actual = try FileDigest.hex(of: path, algorithm: entry.checksumType)
        } catch {
            throw SyncError("\(url): \(error)")
        }
        guard actual == entry.checksum else {
            throw SyncError(
                "\(url) fails its checksum: repomd.xml says \(entry.checksumType) \(entry.checksum), the file has \(actual); nothing of this source was applied"
            )
        }
    }

    /// Reads the updateinfo at `path` and writes its advisories as records to `copy`.
    private func convert(_ path: String, url: String, to copy: String, progress: SyncProgress) throws(SyncError) -> (
        Int, Int
    ) {
        let partial = copy + ".partial"
        defer { unlink(partial) }
        let output: LineFileWriter
        do {
            output = try LineFileWriter(path: partial)
        } catch {
            throw SyncError("\(error)")
        }
        var count = 0
        var skipped = 0
        do {
            let name = URL(string: url)?.lastPathComponent ?? url
            let decompressor = try FileDecompressor(
                path: path, compression: MetadataCompression(fileName: name), limit: context.maxMetadataSize)
            let reader = UpdateInfoReader(try XMLStreamReader(source: decompressor, document: url))
            while let advisory = try reader.next() {
                if count & 1023 == 0 {
                    if progress.isStopRequested { throw SyncError.cancelled }
                    progress.advance(to: count)
                }
                let record: CatalogRecord
                do {
                    record = try RpmAdvisoryMapping.record(advisory, source: config.name, product: config.product)
                } catch {
                    guard context.skipInvalid else {
                        throw SyncError(
                            "\(url): \(error); nothing of this source was applied (set [upstream] skip-invalid = true to skip bad advisories)"
                        )
                    }
                    skipped += 1
                    if skipped <= 20 {
                        context.logger.warning(
                            "Source \(config.name): skipped an invalid advisory: \(error)",
                            metadata: ["source.name": "\(config.name)"])
                    }
                    continue
                }
                try output.write(record.jsonLine())
                count += 1
            }
            try output.close()
        } catch let error as SyncError {
            throw error
        } catch let error as XMLReadError {
            throw SyncError("malformed updateinfo: \(error); nothing of this source was applied")
        } catch let error as DecompressionError {
            throw SyncError("\(error.message); nothing of this source was applied")
        } catch {
            throw SyncError("cannot write \(copy): \(error)")
        }
        guard rename(partial, copy) == 0 else {
            throw SyncError("cannot write \(copy): \(String(cString: strerror(errno)))")
        }
        return (count, skipped)
    }

    /// `gpgv` checks `repodata/repomd.xml.asc` against the configured key, as apt checks a Release file.
    private func verifySignature(_ repomd: [UInt8], key: String) async throws(SyncError) {
        let signatureURL = base + "repodata/repomd.xml.asc"
        let answer: UpstreamDocument.Answer
        do {
            answer = try await UpstreamDocument.get(
                signatureURL, etag: nil, lastModified: nil, httpClient: context.httpClient,
                idleTimeout: context.idleTimeout, limit: 1 << 20)
        } catch {
            throw SyncError(
                "gpg-key is set, but \(signatureURL) cannot be fetched (\(error.message)); nothing of this source was applied"
            )
        }
        guard case .body(let signature, _, _) = answer else {
            throw SyncError("gpg-key is set, but \(signatureURL) gave no signature")
        }
        try GPGVerifier.verify(
            document: repomd, signature: signature, keyFile: key, directory: context.directory,
            describe: "\(base)repodata/repomd.xml")
    }
}

/// The hex digest of a file, by the algorithm names repomd uses.
enum FileDigest {
    static func hex(of path: String, algorithm: String) throws -> String {
        switch algorithm {
        case "sha256": return try digest(path, SHA256())
        case "sha512": return try digest(path, SHA512())
        case "sha384": return try digest(path, SHA384())
        case "sha1", "sha": return try digest(path, Insecure.SHA1())
        default: throw SyncError("repomd.xml names checksum type \"\(algorithm)\", which sumsync does not check")
        }
    }

    private static func digest<H: HashFunction>(_ path: String, _ start: H) throws -> String {
        var hasher = start
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SyncError("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = read(fd, buffer.baseAddress, buffer.count)
            guard count >= 0 else { throw SyncError("cannot read \(path): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return Hex.string(hasher.finalize())
    }
}
