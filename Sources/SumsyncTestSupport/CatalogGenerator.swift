import SumsyncFormats
import SumsyncModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A deterministic generator of realistic catalogs, for tests, the demo and `make bench`.
///
/// Same seed and count, same bytes, on every machine: all draws come from `CatalogRandom`, and each update
/// draws from its own generator keyed by its index, so update *i* is the same whatever else changes.
/// Output is streamed through a 1 MiB buffer, so a million-line catalog needs no more memory than a
/// small one. See `CatalogGenerator+Content.swift` for the mix of products, classifications and fields.
public struct CatalogGenerator: Sendable {
    /// The seed all content derives from.
    public let seed: UInt64
    /// The number of updates `write(to:)` writes.
    public let count: Int

    /// A generator of `count` updates from `seed`.
    public init(seed: UInt64, count: Int) {
        self.seed = seed
        self.count = max(0, count)
    }

    /// The id (lowercased GUID) of the i-th generated update. Stable for a seed; a few lines write it in
    /// upper case, which the parser folds back to this.
    public func id(at index: Int) -> String {
        var rng = CatalogRandom(seed: seed, stream: 1, index: index)
        return Self.guid(&rng)
    }

    /// Writes `count` NDJSON lines to `path` (created or truncated).
    public func write(to path: String) throws(CatalogError) {
        let sink = try FileSink(path: path)
        var chains = Chains()
        for index in 0..<count {
            let (record, _, style) = draw(index, &chains)
            try sink.append(record, style: style)
        }
        try sink.finish()
    }

    /// Writes the catalog as it looks after `changed` updates changed, for delta benchmarks and tests.
    ///
    /// Exactly `changed` distinct ids differ from `write(to:)`'s output: about 20 % are new ids (appended),
    /// the rest are existing updates chosen by `changeSeed` and either removed (~19 %), revised
    /// (revision + 1 and a later `revised`, ~56 %), newly expired (~15 %) or given a new supersedence
    /// (~10 %). Every other line is byte-identical. Same seeds, same output.
    public func writeChanged(to path: String, changed: Int, changeSeed: UInt64) throws(CatalogError) {
        let changed = max(0, changed)
        let added = max(changed / 5, changed - count)
        var toTouch = changed - added
        var picker = CatalogRandom(seed: seed ^ 0x5EED_C4A1_9E00_0001, stream: changeSeed, index: 0)
        let sink = try FileSink(path: path)
        var chains = Chains()
        for index in 0..<count {
            var (record, candidates, style) = draw(index, &chains)
            // Selection sampling (Knuth's Algorithm S): exactly `toTouch` of the remaining indexes, uniformly.
            if toTouch > 0, picker.below(count - index) < toTouch {
                toTouch -= 1
                var kind = picker.weighted([15, 45, 12, 8])  // removed, revised, expired, superseded
                let extra = candidates.filter { $0 != record.id && !record.supersedes.contains($0) }
                if kind == 2 && record.expired || kind == 3 && extra.isEmpty { kind = 1 }
                switch kind {
                case 0: continue
                case 1:
                    let last = record.revised.flatMap { RFC3339.epochSeconds($0) } ?? record.releasedEpoch
                    record.revision += 1
                    record.revised = style.timestamp(last + Int64(86_400 * (1 + picker.below(30))))
                case 2: record.expired = true
                default: record.supersedes.append(picker.element(extra))
                }
            }
            try sink.append(record, style: style)
        }
        for k in 0..<added {
            var rng = CatalogRandom(seed: seed ^ changeSeed, stream: 4, index: k)
            let id = Self.guid(&rng)
            var (record, productIndex, style) = Self.makeRecord(id: id, ordinal: 1, rng: &rng)
            record.revision = 1
            record.revised = nil
            record.expired = false
            let earlier = chains.recent(productIndex)
            if !earlier.isEmpty, rng.chance(perMille: 500) { record.supersedes = [rng.element(earlier)] }
            style.reordered = false
            try sink.append(record, style: style)
        }
        try sink.finish()
    }

    /// Update `index` as `write(to:)` produces it, with the supersedence links its draws pick from the
    /// chains of earlier updates of the same product; records the update in `chains` for later ones.
    /// Also returns the earlier ids of the same product it could supersede.
    private func draw(_ index: Int, _ chains: inout Chains) -> (CatalogRecord, [String], Style) {
        var rng = CatalogRandom(seed: seed, stream: 2, index: index)
        let ordinal = count > 1 ? Double(index) / Double(count - 1) : 0
        var (record, productIndex, style) = Self.makeRecord(id: id(at: index), ordinal: ordinal, rng: &rng)
        let earlier = chains.recent(productIndex)
        if !earlier.isEmpty, rng.chance(perMille: 150) {
            // Mostly the latest earlier update (a chain), sometimes a few more from the recent ones.
            record.supersedes = [earlier[earlier.count - 1]]
            for _ in 0..<rng.weighted([70, 20, 10]) {
                let other = rng.element(earlier)
                if !record.supersedes.contains(other) { record.supersedes.append(other) }
            }
        }
        chains.remember(record.id, productIndex)
        return (record, earlier, style)
    }

    /// A version-4-shaped GUID in lower case.
    static func guid(_ rng: inout CatalogRandom) -> String {
        let high = rng.next()
        let low = rng.next() & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        let bits = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000
        let hex = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (k, shift) in stride(from: 60, through: 0, by: -4).enumerated() {
            if k == 8 || k == 12 { text.append(0x2D) }
            text.append(hex[Int((bits >> UInt64(shift)) & 0xF)])
        }
        for (k, shift) in stride(from: 60, through: 0, by: -4).enumerated() {
            if k == 0 || k == 4 { text.append(0x2D) }
            text.append(hex[Int((low >> UInt64(shift)) & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The last few ids per product, which new updates of that product may supersede.
    private struct Chains {
        private var ids = Array(repeating: [String](), count: CatalogGenerator.products.count)

        func recent(_ product: Int) -> [String] { ids[product] }

        mutating func remember(_ id: String, _ product: Int) {
            if ids[product].count == 8 { ids[product].removeFirst() }
            ids[product].append(id)
        }
    }
}

/// Buffered NDJSON output with `write(2)`: bounded memory however many lines are written.
private final class FileSink {
    private let fd: Int32
    private let path: String
    private var writer = CatalogJSONWriter()

    init(path: String) throws(CatalogError) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        self.path = path
        guard fd >= 0 else { throw Self.error(path, errno) }
        writer.out.reserveCapacity(1 << 20 + 4_096)
    }

    deinit { if fd >= 0 { close(fd) } }

    func append(_ record: CatalogRecord, style: CatalogGenerator.Style) throws(CatalogError) {
        CatalogGenerator.append(record, style: style, to: &writer)
        if writer.out.count >= 1 << 20 { try flush() }
    }

    /// Writes what is buffered. The descriptor closes with the sink.
    func finish() throws(CatalogError) { try flush() }

    private func flush() throws(CatalogError) {
        var done = 0
        let total = writer.out.count
        while done < total {
            let n = writer.out.withUnsafeBytes { write(fd, $0.baseAddress! + done, total - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.error(path, errno)
            }
            done += n
        }
        writer.out.removeAll(keepingCapacity: true)
    }

    private static func error(_ path: String, _ code: Int32) -> CatalogError {
        CatalogError(
            line: nil, message: "cannot write catalog \(path): \(String(cString: strerror(code)))", code: .cannotWrite)
    }
}
