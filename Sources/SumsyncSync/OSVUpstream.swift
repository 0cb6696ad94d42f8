import AsyncHTTPClient
import Crypto
import Foundation
import SumsyncFormats
import SumsyncModel
import SumsyncStore

/// An OSV feed as an upstream source: a zip of OSV records (`<ECOSYSTEM>/all.zip`, one `<ID>.json` each)
/// over HTTP(S) or `file://`, or a folder of `*.json` records.
///
/// The zip is downloaded with a conditional GET (unchanged: nothing more is read). Its central directory
/// is then walked with ZIPFoundation: an entry whose name and CRC-32 are those of the last sync has its
/// records copied from the last kept copy without being decompressed or parsed; the others are read,
/// checked and mapped (``OSVMapping``). What each entry gave is noted in the copy's entry index
/// (`sources/NAME@KEY.entries`), so the next sync costs what changed.
package struct OSVUpstream: Sendable {
    package let config: UpstreamSourceConfig
    let context: SourceFetchContext

    /// The most one record may decompress to.
    package static let maxRecordSize = 16 << 20

    package init(config: UpstreamSourceConfig, context: SourceFetchContext) {
        self.config = config
        self.context = context
    }

    private func copyPath(_ key: String) -> String {
        SourceCopy.path(directory: context.directory, source: config.name, contentKey: key)
    }

    package func fetch(state: SourceState?, full: Bool, progress: SyncProgress) async throws(SyncError) -> SourceFetch {
        let known = !full && state?.contentKey.map { FileManager.default.fileExists(atPath: copyPath($0)) } == true
        guard let url = URL(string: config.url), let scheme = url.scheme?.lowercased() else {
            throw SyncError("invalid URL \(config.url)")
        }
        let input: OSVInput
        var etag: String?
        var lastModified: String?
        var temporary: String?
        defer { if let temporary { unlink(temporary) } }
        if scheme == "file" {
            let path = url.path
            var status = stat()
            guard stat(path, &status) == 0 else {
                throw SyncError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if status.st_mode & S_IFMT == S_IFDIR {
                input = .folder(path)
            } else {
                // A file's size and modification time stand in for HTTP's validators.
                let validator = "file:\(status.st_size):\(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec)"
                if known && state?.etag == validator {
                    return SourceFetch(content: .unchanged, etag: validator, lastModified: nil)
                }
                etag = validator
                input = .zip(path)
            }
        } else {
            let download = (context.directory as NSString).appendingPathComponent("\(config.name).download")
            let answer = try await ResponseDownload.fetch(
                config.url, to: download, etag: known ? state?.etag : nil,
                lastModified: known ? state?.lastModified : nil, httpClient: context.httpClient,
                idleTimeout: context.idleTimeout, progress: progress,
                naming: .init(subject: config.url, fetching: config.url, suffix: "; nothing of this source was applied")
            )
            guard case .file(let path, let newETag, let newLastModified) = answer else {
                return SourceFetch(content: .unchanged, etag: state?.etag, lastModified: state?.lastModified)
            }
            temporary = path
            etag = newETag
            lastModified = newLastModified
            input = .zip(path)
        }
        progress.enter(.applying)
        let previous = known ? state?.contentKey.map { copyPath($0) } : nil
        let converter = OSVConverter(config: config, context: context, previous: previous)
        let result = try await Offload.run { () throws(SyncError) in
            try converter.convert(input, progress: progress)
        }
        if known && result.key == state?.contentKey {
            unlink(result.path)
            unlink(OSVEntryIndex.path(ofCopy: result.path))
            return SourceFetch(content: .unchanged, etag: etag, lastModified: lastModified)
        }
        let copy = copyPath(result.key)
        guard rename(result.path, copy) == 0,
            rename(OSVEntryIndex.path(ofCopy: result.path), OSVEntryIndex.path(ofCopy: copy)) == 0
        else {
            throw SyncError("cannot write \(copy): \(String(cString: strerror(errno)))")
        }
        return SourceFetch(
            content: .changed(path: copy, contentKey: result.key, records: result.records), etag: etag,
            lastModified: lastModified, skipped: result.skipped)
    }
}

/// Where an osv source's records are.
enum OSVInput: Sendable {
    case zip(String)
    case folder(String)
}

/// What each entry of a kept copy gave: its fingerprint (a zip entry's CRC-32, a file's size and
/// modification time), the byte range of its records in the copy and how many there are. One line per
/// entry, `FINGERPRINT<TAB>OFFSET<TAB>LENGTH<TAB>RECORDS<TAB>NAME`.
struct OSVEntryIndex {
    struct Span {
        var fingerprint: String
        var offset: Int
        var length: Int
        var lines: Int
    }

    var spans: [String: Span] = [:]

    static func path(ofCopy copy: String) -> String {
        (copy.hasSuffix(".ndjson") ? String(copy.dropLast(7)) : copy) + ".entries"
    }

    /// The index of the copy at `copy`, or nil when there is none (every entry is read again).
    static func load(copy: String) -> OSVEntryIndex? {
        guard let data = FileManager.default.contents(atPath: path(ofCopy: copy)) else { return nil }
        var index = OSVEntryIndex()
        for line in data.split(separator: 0x0A) {
            let fields = line.split(separator: 0x09, maxSplits: 4, omittingEmptySubsequences: false)
            guard fields.count == 5, let offset = Int(String(decoding: fields[1], as: UTF8.self)),
                let length = Int(String(decoding: fields[2], as: UTF8.self)),
                let lines = Int(String(decoding: fields[3], as: UTF8.self))
            else { return nil }
            index.spans[String(decoding: fields[4], as: UTF8.self)] = Span(
                fingerprint: String(decoding: fields[0], as: UTF8.self), offset: offset, length: length, lines: lines)
        }
        return index
    }
}

/// Reads a zip or folder of OSV records into a new kept copy and its entry index.
struct OSVConverter: Sendable {
    let config: UpstreamSourceConfig
    let context: SourceFetchContext
    /// The last kept copy, whose unchanged entries are copied rather than read.
    let previous: String?

    struct Result {
        /// The new copy, still under a temporary name.
        var path: String
        var key: String
        var records: Int
        var skipped: Int
    }

    func convert(_ input: OSVInput, progress: SyncProgress) throws(SyncError) -> Result {
        let partial = (context.directory as NSString).appendingPathComponent("\(config.name).osv.partial")
        let indexPartial = OSVEntryIndex.path(ofCopy: partial)
        var done = false
        defer {
            if !done {
                unlink(partial)
                unlink(indexPartial)
            }
        }
        let output = try LineFileWriter(path: partial)
        let indexOutput = try LineFileWriter(path: indexPartial)
        let old = previous.flatMap { path in OSVEntryIndex.load(copy: path).map { (path, $0) } }
        let oldFile = old.flatMap { FileHandle(forReadingAtPath: $0.0) }
        defer { try? oldFile?.close() }
        var hasher = SHA256()
        hasher.update(data: Array("osv\n\(config.product)\n".utf8))
        var state = ConversionState()
        let feedURL = config.url

        /// One entry: its records copied from the last copy when its fingerprint is the same, else read.
        func take(name: String, fingerprint: String, read: () throws(SyncError) -> [UInt8]) throws(SyncError) {
            guard name.hasSuffix(".json") else { return }
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            guard !name.hasPrefix("/"), !parts.contains(".."), !name.contains("\\") else {
                throw SyncError(
                    "\(feedURL): entry \(name) names a path outside the archive; the zip is refused and nothing of this source was applied"
                )
            }
            hasher.update(data: Array("\(name)\u{0}\(fingerprint)\n".utf8))
            state.entries += 1
            if state.entries & 1023 == 0 {
                if progress.isStopRequested { throw SyncError.cancelled }
                progress.advance(to: state.entries)
            }
            let start = output.written
            let startRecords = state.records
            if let (_, index) = old, let oldFile, let span = index.spans[name], span.fingerprint == fingerprint {
                do {
                    try oldFile.seek(toOffset: UInt64(span.offset))
                    let bytes = try oldFile.read(upToCount: span.length) ?? Data()
                    guard bytes.count == span.length else { throw SyncError("the kept copy is shorter than its index") }
                    try output.write(raw: [UInt8](bytes))
                } catch {
                    throw SyncError(
                        "cannot read the kept copy \(previous ?? ""): \(error); run `sumsyncctl sync --full`")
                }
                state.records += span.lines
                state.copied += 1
            } else {
                state.read += 1
                let bytes = try read()
                state.decompressed += Int64(bytes.count)
                guard state.decompressed <= context.maxMetadataSize else {
                    throw SyncError(
                        "\(feedURL) decompresses to more than [upstream] max-metadata-size (\(context.maxMetadataSize) bytes); nothing of this source was applied"
                    )
                }
                let record: OSVRecord
                do {
                    record = try OSVRecordParser.parse(bytes: bytes)
                } catch {
                    guard context.skipInvalid else {
                        throw SyncError(
                            "\(feedURL): entry \(name) \(error); nothing of this source was applied (set [upstream] skip-invalid = true to skip bad records)"
                        )
                    }
                    state.skipped += 1
                    if state.skipped <= 20 {
                        context.logger.warning(
                            "Source \(config.name): skipped an invalid record: entry \(name) \(error)",
                            metadata: ["source.name": "\(config.name)"])
                    }
                    // Not in the index: it is read (and skipped) again next time.
                    return
                }
                for update in OSVMapping.records(record, source: config.name, keeps: config.keeps(ecosystem:)) {
                    try output.write(update.jsonLine())
                    state.records += 1
                }
            }
            let length = output.written - start
            if !name.contains("\t") && !name.contains("\n") {
                try indexOutput.write("\(fingerprint)\t\(start)\t\(length)\t\(state.records - startRecords)\t\(name)")
            }
        }

        switch input {
        case .zip(let path):
            do {
                let zip = try ZipRecords(path: path)
                try zip.forEachEntry { info, read in
                    guard info.isFile else { return }
                    try take(name: info.name, fingerprint: String(format: "%08x", info.crc32)) { () throws(SyncError) in
                        do {
                            return try read(OSVUpstream.maxRecordSize)
                        } catch {
                            throw SyncError("\(feedURL): \(error); nothing of this source was applied")
                        }
                    }
                }
            } catch let error as SyncError {
                throw error
            } catch {
                throw SyncError("\(feedURL): \(error); nothing of this source was applied")
            }
        case .folder(let root):
            for name in Self.jsonFiles(under: root) {
                let file = (root as NSString).appendingPathComponent(name)
                var status = stat()
                guard stat(file, &status) == 0 else {
                    throw SyncError("cannot read \(file): \(String(cString: strerror(errno)))")
                }
                let fingerprint = "\(status.st_size)-\(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec)"
                try take(name: name, fingerprint: fingerprint) { () throws(SyncError) in
                    guard status.st_size <= OSVUpstream.maxRecordSize else {
                        throw SyncError(
                            "\(file) is \(status.st_size) bytes, more than a record may have (\(OSVUpstream.maxRecordSize)); nothing of this source was applied"
                        )
                    }
                    guard let data = FileManager.default.contents(atPath: file) else {
                        throw SyncError("cannot read \(file)")
                    }
                    return [UInt8](data)
                }
            }
        }
        try output.close()
        try indexOutput.close()
        done = true
        let key = "osv:" + hasher.finalize().map { String(format: "%02x", $0) }.joined()
        context.logger.info(
            "Source \(config.name): \(state.entries) records in the feed, \(state.read) read, \(state.copied) unchanged since the last sync; \(state.records) updates",
            metadata: ["source.name": "\(config.name)"])
        return Result(path: partial, key: key, records: state.records, skipped: state.skipped)
    }

    private struct ConversionState {
        var entries = 0
        var records = 0
        var skipped = 0
        var decompressed: Int64 = 0
        /// Entries read and parsed; entries whose records were copied from the last kept copy.
        var read = 0
        var copied = 0
    }

    /// The `*.json` files under `root`, relative, in name order.
    static func jsonFiles(under root: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var names: [String] = []
        while let name = walker.nextObject() as? String {
            if name.hasSuffix(".json") { names.append(name) }
        }
        return names.sorted()
    }
}
