import Foundation
import SumsyncFormats
import SumsyncModel
import SumsyncStore

/// Joins the kept copies of every source into the one snapshot a top-level sync applies.
///
/// Catalog sources' records pass as they are. Advisory (rpm, osv) records are merged and completed:
/// - the same advisory of one product in several sources is one update: fields from the first source
///   (in config order) that lists it, packages and CVEs the union of all;
/// - supersedence (rpm only: OSV records state what they fix, not what they replace): within one product, A supersedes B when every package of B (by name and arch)
///   appears in A at a higher epoch:version-release by rpm's comparison. The relation is transitive, so
///   each record lists only its direct successors' predecessors — A lists B when no advisory between them
///   (A supersedes C, C supersedes B) is kept — which marks exactly the same updates superseded while
///   a package family of n advisories costs n list entries, not n²/2. Only advisories the filter keeps
///   take part (the others are not stored, so they cannot stand between two that are);
/// - revision: 1 for a new advisory, the stored one while its content (its digest) stays the same, one
///   more whenever it changes.
///
/// Two passes over the copies keep memory to the package keys: the first collects each advisory's
/// (name.arch, EVR) pairs, the second writes the records.
struct SourceMerge {
    struct Input {
        var source: UpstreamSourceConfig
        var path: String
    }

    /// The stored revision and digest of each advisory update, by id.
    var ledger: [String: (revision: Int, digest: Int64)]
    /// What the site keeps: supersedence is worked out among these advisories.
    var filter: UpdateFilter

    /// One advisory update's package keys: (product + name.arch, EVR rank), one per key (the highest).
    private struct Entry {
        var keys: [(key: Int32, rank: Int32)] = []
    }

    /// Writes the merged snapshot of `inputs` to `output`; returns its line count.
    func merge(_ inputs: [Input], to output: String) throws(SyncError) -> Int {
        // Pass 1: ids, package keys and EVRs of every advisory record.
        var keyIndex: [String: Int32] = [:]
        var evrsByKey: [[RpmVersion.EVR]] = []
        var entries: [UInt128: Int] = [:]
        var raw: [[(key: Int32, evr: Int32)]] = []
        var ids: [String] = []
        var extraPackages: [UInt128: [String]] = [:]
        var extraCVEs: [UInt128: [String]] = [:]
        // One osv source's records are never merged with another's, so its copy is read only once.
        let osvSources = inputs.filter { $0.source.format == .osv }.count
        for input in inputs where input.source.format == .rpm || (input.source.format == .osv && osvSources > 1) {
            let rpm = input.source.format == .rpm
            try Self.forEachRecord(input.path) { (record: CatalogRecord) throws(SyncError) in
                guard let id = CatalogApplier.key(record.id) else { return }
                guard
                    filter.keeps(
                        product: record.product, classification: record.classification, languages: record.languages)
                else { return }
                if entries[id] != nil {
                    extraPackages[id, default: []] += record.packages
                    extraCVEs[id, default: []] += record.cves
                } else {
                    entries[id] = raw.count
                    raw.append([])
                    ids.append(record.id)
                }
                let index = entries[id]!
                guard rpm else { return }
                for label in record.packages {
                    guard let (nameArch, evr) = Self.split(label) else { continue }
                    let name = "\(record.product)\u{0}\(nameArch)"
                    let key: Int32
                    if let known = keyIndex[name] {
                        key = known
                    } else {
                        key = Int32(evrsByKey.count)
                        keyIndex[name] = key
                        evrsByKey.append([])
                    }
                    raw[index].append((key, Int32(evrsByKey[Int(key)].count)))
                    evrsByKey[Int(key)].append(evr)
                }
            }
        }
        keyIndex = [:]
        // Ranks: within each key, equal EVRs share a rank and a higher EVR has a higher one.
        var ranks: [[Int32]] = []
        ranks.reserveCapacity(evrsByKey.count)
        for evrs in evrsByKey {
            let order = evrs.indices.sorted { RpmVersion.EVR.compare(evrs[$0], evrs[$1]) < 0 }
            var rank = [Int32](repeating: 0, count: evrs.count)
            var current: Int32 = 0
            for (position, index) in order.enumerated() {
                if position > 0, RpmVersion.EVR.compare(evrs[order[position - 1]], evrs[index]) != 0 { current += 1 }
                rank[index] = current
            }
            ranks.append(rank)
        }
        evrsByKey = []
        var advisories: [Entry] = raw.map { pairs in
            var best: [Int32: Int32] = [:]
            for (key, evr) in pairs {
                let rank = ranks[Int(key)][Int(evr)]
                best[key] = max(best[key] ?? -1, rank)
            }
            return Entry(keys: best.map { ($0.key, $0.value) }.sorted { $0.key < $1.key })
        }
        raw = []
        ranks = []
        let supersedes = Self.supersedence(&advisories, ids: ids)
        advisories = []

        // Pass 2: the records, completed, in config order; an advisory's later copies are left out.
        let writer = try LineFileWriter(path: output)
        var written: Set<UInt128> = []
        var lines = 0
        for input in inputs {
            // A lone osv source's lines are final as the converter wrote them (revisions and digests set, no
            // merging, no supersedence): copied as they are.
            if input.source.format == .osv && osvSources == 1 {
                let source = open(input.path, O_RDONLY | O_CLOEXEC)
                guard source >= 0 else { throw SyncError("cannot read the kept copy \(input.path)") }
                defer { close(source) }
                var status = stat()
                guard fstat(source, &status) == 0 else { throw SyncError("cannot read the kept copy \(input.path)") }
                try writer.copy(from: source, offset: 0, length: Int(status.st_size))
                try writer.flush()
                lines += CatalogLineReader.countLines(input.path) ?? 0
                continue
            }
            try Self.forEachRecord(input.path) { (record: CatalogRecord) throws(SyncError) in
                var record = record
                if input.source.format.isAdvisory {
                    guard let id = CatalogApplier.key(record.id), written.insert(id).inserted else { return }
                    if let more = extraPackages[id] { record.packages = Array(Set(record.packages + more)).sorted() }
                    if let more = extraCVEs[id] {
                        var seen = Set(record.cves)
                        for cve in more where seen.insert(cve).inserted { record.cves.append(cve) }
                    }
                    if let index = entries[id] {
                        record.supersedes = supersedes[index]?.sorted() ?? []
                    }
                    record.revision = 1
                    record.digest = nil
                    let digest = Self.digest(record.jsonLine())
                    record.digest = digest
                    if let stored = ledger[record.id] {
                        record.revision = stored.digest == digest ? stored.revision : stored.revision + 1
                    }
                } else {
                    record.source = input.source.name
                }
                try writer.write(record.jsonLine())
                lines += 1
            }
        }
        try writer.close()
        return lines
    }

    /// Who directly supersedes whom: for each advisory B, the advisories A holding every key of B at a
    /// higher rank, less those that supersede another such advisory. Candidates come from B's rarest key,
    /// lowest rank first (a direct successor comes before those that supersede it); the rest of B's keys
    /// are checked by binary search in A's.
    private static func supersedence(_ advisories: inout [Entry], ids: [String]) -> [Int: [String]] {
        var postings: [Int32: [(advisory: Int32, rank: Int32)]] = [:]
        for (index, entry) in advisories.enumerated() {
            for (key, rank) in entry.keys { postings[key, default: []].append((Int32(index), rank)) }
        }
        for key in postings.keys { postings[key]!.sort { $0.rank < $1.rank } }
        var result: [Int: [String]] = [:]
        var direct: [Int32] = []
        for (b, entry) in advisories.enumerated() where !entry.keys.isEmpty {
            var rarest = entry.keys[0]
            var fewest = Int.max
            for pair in entry.keys {
                let count = postings[pair.key]?.count ?? 0
                if count < fewest {
                    fewest = count
                    rarest = pair
                }
            }
            direct.removeAll(keepingCapacity: true)
            let candidates = postings[rarest.key] ?? []
            // The first candidate ranked above B on its rarest key.
            var low = 0
            var high = candidates.count
            while low < high {
                let middle = (low + high) / 2
                if candidates[middle].rank <= rarest.rank { low = middle + 1 } else { high = middle }
            }
            for (a, _) in candidates[low...] where Int(a) != b {
                let keys = advisories[Int(a)].keys
                guard dominates(keys, entry.keys) else { continue }
                // A supersedes an advisory that supersedes B: B is reached through it.
                if direct.contains(where: { dominates(keys, advisories[Int($0)].keys) }) { continue }
                direct.append(a)
                result[Int(a), default: []].append(ids[b])
            }
        }
        return result
    }

    /// Whether `a` holds every key of `b` at a higher rank (`a` supersedes `b`).
    private static func dominates(_ a: [(key: Int32, rank: Int32)], _ b: [(key: Int32, rank: Int32)]) -> Bool {
        guard a.count >= b.count else { return false }
        for pair in b {
            guard let found = find(pair.key, in: a), found > pair.rank else { return false }
        }
        return true
    }

    private static func find(_ key: Int32, in keys: [(key: Int32, rank: Int32)]) -> Int32? {
        var low = 0
        var high = keys.count
        while low < high {
            let middle = (low + high) / 2
            if keys[middle].key < key { low = middle + 1 } else { high = middle }
        }
        return low < keys.count && keys[low].key == key ? keys[low].rank : nil
    }

    /// `name.arch` and the EVR of a `name-[epoch:]version-release.arch` label.
    static func split(_ label: String) -> (String, RpmVersion.EVR)? {
        guard let dot = label.lastIndex(of: ".") else { return nil }
        let arch = label[label.index(after: dot)...]
        let rest = label[..<dot]
        guard let releaseDash = rest.lastIndex(of: "-") else { return nil }
        let head = rest[..<releaseDash]
        guard let versionDash = head.lastIndex(of: "-") else { return nil }
        let name = head[..<versionDash]
        let evr = RpmVersion.EVR(label: String(rest[rest.index(after: versionDash)...]))
        return ("\(name).\(arch)", evr)
    }

    /// A record's final line: its digest (of the line at revision 1 without one), and the revision the
    /// ledger gives it (1 when new, the stored one while the digest stays, one more when it changes). What
    /// the merge writes for an advisory nothing else changes, and what an osv source's converter writes.
    static func finalLine(_ record: CatalogRecord, ledger: [String: (revision: Int, digest: Int64)]) -> String {
        var plain = record
        plain.revision = 1
        plain.digest = nil
        let digest = digest(plain.jsonLine())
        plain.digest = digest
        if let stored = ledger[record.id] {
            plain.revision = stored.digest == digest ? stored.revision : stored.revision + 1
        }
        return plain.jsonLine()
    }

    /// The 64-bit hash of a record's canonical line, as a signed integer for SQLite.
    static func digest(_ line: String) -> Int64 {
        var copy = line
        return copy.withUTF8 { Int64(bitPattern: LineHash.hash(UnsafeRawBufferPointer($0))) }
    }

    /// Each record of a kept copy (which sumsync wrote, so a bad line is a damaged copy).
    static func forEachRecord(_ path: String, _ body: (CatalogRecord) throws(SyncError) -> Void) throws(SyncError) {
        do {
            try CatalogLineReader(path: path).forEachLine { number, bytes in
                let record = try CatalogRecordParser.parse(bytes, line: number)
                try body(record)
            }
        } catch let error as SyncError {
            throw error
        } catch {
            throw SyncError("the kept copy \(path) is damaged (\(error)); run `sumsyncctl sync --full`")
        }
    }
}
