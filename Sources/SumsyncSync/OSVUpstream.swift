import AsyncHTTPClient
import Crypto
import Foundation
import SumsyncFormats
import SumsyncModel
import SumsyncStore
import Synchronization

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
        let ok = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Bool in
            let bytes = raw.bindMemory(to: UInt8.self)
            var i = 0
            /// The field up to the next tab (or the line's end for the last), as its byte range.
            func field(last: Bool) -> Range<Int>? {
                let start = i
                while i < bytes.count, bytes[i] != 0x0A, last || bytes[i] != 0x09 { i += 1 }
                if !last { guard i < bytes.count, bytes[i] == 0x09 else { return nil } }
                let range = start..<i
                i += 1
                return range
            }
            func number(_ range: Range<Int>) -> Int? {
                guard !range.isEmpty, range.count < 19 else { return nil }
                var value = 0
                for k in range {
                    let digit = bytes[k] &- 0x30
                    guard digit < 10 else { return nil }
                    value = value * 10 + Int(digit)
                }
                return value
            }
            index.spans.reserveCapacity(data.count / 48)
            while i < bytes.count {
                guard let print = field(last: false), let offset = field(last: false).flatMap(number),
                    let length = field(last: false).flatMap(number), let lines = field(last: false).flatMap(number),
                    let name = field(last: true)
                else { return false }
                index.spans[String(decoding: UnsafeBufferPointer(rebasing: bytes[name]), as: UTF8.self)] = Span(
                    fingerprint: String(decoding: UnsafeBufferPointer(rebasing: bytes[print]), as: UTF8.self),
                    offset: offset, length: length, lines: lines)
            }
            return true
        }
        return ok ? index : nil
    }
}

/// Reads a zip or folder of OSV records into a new kept copy and its entry index.
///
/// Read afresh (no last copy to copy from) on a machine with more than one core, two workers share the
/// entries (by position, even and odd), each with its own reader of the zip and its own part of the copy;
/// the parts are joined at the end. The
/// content key is of both workers' (name, fingerprint) lists, so the same feed gives the same key.
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

    /// What one worker made: its part of the copy and of the index, and its counts.
    struct Part: Sendable {
        var path: String
        var digest: [UInt8]
        var entries = 0
        var read = 0
        var copied = 0
        var records = 0
        var skipped = 0
    }

    /// What the workers share: the entry count for progress, and a stop when one fails.
    final class Shared: Sendable {
        let entries = Atomic<Int>(0)
        let failed = Atomic<Bool>(false)
        let warnings = Atomic<Int>(0)
        let decompressed = Atomic<Int64>(0)
    }

    func convert(_ input: OSVInput, progress: SyncProgress) throws(SyncError) -> Result {
        let old = previous.flatMap { path in OSVEntryIndex.load(copy: path).map { (path, $0) } }
        let files: [String]
        if case .folder(let root) = input { files = Self.jsonFiles(under: root) } else { files = [] }
        // Two workers read a feed afresh; against a last copy most entries are copied, not read, and one
        // worker spares the second walk of the central directory and the join of the parts.
        let count = old == nil ? max(1, min(2, ProcessInfo.processInfo.activeProcessorCount)) : 1
        let shared = Shared()
        let results = Mutex<[Swift.Result<Part, SyncError>?]>(Array(repeating: nil, count: count))
        let done = DispatchGroup()
        for part in 1..<count {
            done.enter()
            let thread = Thread {
                let outcome = Swift.Result { () throws(SyncError) in
                    try work(
                        part: part, of: count, input: input, files: files, old: old, shared: shared, progress: progress)
                }
                if case .failure = outcome { shared.failed.store(true, ordering: .relaxed) }
                results.withLock { $0[part] = outcome }
                done.leave()
            }
            thread.name = "sumsync-osv"
            thread.stackSize = 8 << 20
            thread.start()
        }
        let first = Swift.Result { () throws(SyncError) in
            try work(part: 0, of: count, input: input, files: files, old: old, shared: shared, progress: progress)
        }
        if case .failure = first { shared.failed.store(true, ordering: .relaxed) }
        results.withLock { $0[0] = first }
        done.wait()
        let outcomes = results.withLock { $0.compactMap { $0 } }
        var parts: [Part] = []
        var failure: SyncError?
        for outcome in outcomes {
            switch outcome {
            case .success(let part): parts.append(part)
            // The first real error, not a worker's stop because another failed.
            case .failure(let error) where failure == nil || failure?.message == Self.stopped.message: failure = error
            case .failure: break
            }
        }
        // As with a catalog: a feed of no records is a broken upstream, not one that withdrew everything.
        if failure == nil, parts.allSatisfy({ $0.entries == 0 }) {
            failure = SyncError(
                "\(config.url) holds no *.json records; refusing to treat it as a feed that withdrew every update, nothing of this source was applied"
            )
        }
        guard let failure else { return try join(parts) }
        for part in parts {
            unlink(part.path)
            unlink(OSVEntryIndex.path(ofCopy: part.path))
        }
        throw failure
    }

    private static let stopped = SyncError("stopped: another worker failed")

    /// The parts in order as one copy and one index (later parts' offsets moved on).
    private func join(_ parts: [Part]) throws(SyncError) -> Result {
        let path = parts[0].path
        let index = OSVEntryIndex.path(ofCopy: path)
        var hasher = SHA256()
        hasher.update(data: Array("osv\n\(config.product)\n".utf8))
        var total = Part(path: path, digest: [])
        do {
            let copy = try LineFileWriter(path: path, append: true)
            let indexFile = try FileHandle(forWritingTo: URL(fileURLWithPath: index))
            defer { try? indexFile.close() }
            var offset = copy.written
            _ = try indexFile.seekToEnd()
            for part in parts.dropFirst() {
                // By the kernel: a part is as large as the feed's records.
                let source = open(part.path, O_RDONLY | O_CLOEXEC)
                var status = stat()
                guard source >= 0, fstat(source, &status) == 0 else { throw SyncError("cannot read \(part.path)") }
                defer { Glibc.close(source) }
                let size = Int(status.st_size)
                try copy.copy(from: source, offset: 0, length: size)
                try copy.flush()
                var shifted: [UInt8] = []
                let lines = try Data(contentsOf: URL(fileURLWithPath: OSVEntryIndex.path(ofCopy: part.path)))
                for line in lines.split(separator: 0x0A) {
                    let fields = line.split(separator: 0x09, maxSplits: 2, omittingEmptySubsequences: false)
                    guard fields.count == 3, let start = Int(String(decoding: fields[1], as: UTF8.self)) else {
                        continue
                    }
                    shifted.append(contentsOf: fields[0])
                    shifted.append(0x09)
                    shifted.append(contentsOf: "\(start + offset)".utf8)
                    shifted.append(0x09)
                    shifted.append(contentsOf: fields[2])
                    shifted.append(0x0A)
                }
                try indexFile.write(contentsOf: Data(shifted))
                offset += size
                unlink(part.path)
                unlink(OSVEntryIndex.path(ofCopy: part.path))
            }
            try copy.close()
            try indexFile.synchronize()
        } catch {
            throw SyncError("cannot write \(path): \(error)")
        }
        for part in parts {
            hasher.update(data: part.digest)
            total.entries += part.entries
            total.read += part.read
            total.copied += part.copied
            total.records += part.records
            total.skipped += part.skipped
        }
        let key = "osv:" + Hex.string(hasher.finalize())
        context.logger.info(
            "Source \(config.name): \(total.entries) records in the feed, \(total.read) read, \(total.copied) unchanged since the last sync; \(total.records) updates",
            metadata: ["source.name": "\(config.name)"])
        return Result(path: path, key: key, records: total.records, skipped: total.skipped)
    }

    /// Worker `part` of `count`: the entries at positions ≡ part (mod count).
    private func work(
        part number: Int, of count: Int, input: OSVInput, files: [String], old: (String, OSVEntryIndex)?,
        shared: Shared, progress: SyncProgress
    ) throws(SyncError) -> Part {
        let partial = (context.directory as NSString).appendingPathComponent("\(config.name).osv\(number).partial")
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
        let oldFile: Int32? = old.flatMap { (path, _) in
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            return fd >= 0 ? fd : nil
        }
        defer { if let oldFile { Glibc.close(oldFile) } }
        var hasher = SHA256()
        var state = Part(path: partial, digest: [])
        let feedURL = config.url
        let ledger = try context.ledger.entries()

        /// One entry: its records copied from the last copy when its fingerprint is the same, else read.
        func take(name: String, fingerprint: String, read: () throws(SyncError) -> [UInt8]) throws(SyncError) {
            guard name.hasSuffix(".json") else { return }
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            guard !name.hasPrefix("/"), !parts.contains(".."), !name.utf8.contains(0x5C) else {
                throw SyncError(
                    "\(feedURL): entry \(name) names a path outside the archive; the zip is refused and nothing of this source was applied"
                )
            }
            hasher.update(data: Array("\(name)\u{0}\(fingerprint)\n".utf8))
            state.entries += 1
            let seen = shared.entries.add(1, ordering: .relaxed).newValue
            if seen & 1023 == 0 {
                if progress.isStopRequested { throw SyncError.cancelled }
                if shared.failed.load(ordering: .relaxed) { throw Self.stopped }
                progress.advance(to: seen)
            }
            let start = output.written
            let startRecords = state.records
            if let (_, index) = old, let oldFile, let span = index.spans[name], span.fingerprint == fingerprint {
                do throws(SyncError) {
                    try output.copy(from: oldFile, offset: span.offset, length: span.length)
                } catch {
                    throw SyncError("cannot read the kept copy \(old?.0 ?? ""): \(error); run `sumsyncctl sync --full`")
                }
                state.records += span.lines
                state.copied += 1
            } else {
                state.read += 1
                let bytes = try read()
                let total = shared.decompressed.add(Int64(bytes.count), ordering: .relaxed).newValue
                guard total <= context.maxMetadataSize else {
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
                    if shared.warnings.add(1, ordering: .relaxed).newValue <= 20 {
                        context.logger.warning(
                            "Source \(config.name): skipped an invalid record: entry \(name) \(error)",
                            metadata: ["source.name": "\(config.name)"])
                    }
                    // Not in the index: it is read (and skipped) again next time.
                    return
                }
                for update in OSVMapping.records(record, source: config.name, keeps: config.keeps(ecosystem:)) {
                    try output.write(SourceMerge.finalLine(update, ledger: ledger))
                    state.records += 1
                }
            }
            let length = output.written - start
            if !name.utf8.contains(0x09) && !name.utf8.contains(0x0A) {
                try indexOutput.write("\(fingerprint)\t\(start)\t\(length)\t\(state.records - startRecords)\t\(name)")
            }
        }

        switch input {
        case .zip(let path):
            do {
                let zip = try ZipRecords(path: path)
                let mine = { (position: Int) in position % count == number }
                try zip.forEachEntry(where: mine) { info, read in
                    guard info.isFile else { return }
                    try take(name: info.name, fingerprint: Hex.string(info.crc32)) { () throws(SyncError) in
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
            for (position, name) in files.enumerated() where position % count == number {
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
        state.digest = Array(hasher.finalize())
        return state
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
