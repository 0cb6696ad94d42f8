import SumsyncFormats
import SumsyncModel

/// Matches a catalog's lines against the last catalog's ``CatalogIndex`` as they stream by.
///
/// The common case costs a hash and one comparison with the line expected next (the one after the last
/// match); a line out of place is looked up in the index's hash table, and matching continues after it.
/// What it learns: which of the last catalog's lines came again (``seen``), how they count towards
/// upstream's offer, and the runs of known lines in the new order, from which the next index is cut.
package struct LineMatcher: KnownLineFilter, Sendable {
    /// The previous catalog's index; its hash table is built at the first line out of place, and its
    /// shared-id marks when ``finish()`` is called.
    private(set) var index: CatalogIndex?
    private var cursor = 0
    private(set) var seen: PositionSet
    /// Known lines per product and classification, by the index's name positions.
    private(set) var productCounts: [Int]
    private(set) var classificationCounts: [Int]
    /// Known lines, in the new catalog's order, as runs of the index's positions.
    private(set) var runs: [Range<Int>] = []
    private var runStart = 0
    private var runEnd = -1
    package private(set) var known = 0
    private let progress: SyncProgress?

    /// Matches against `index` (nil: every line is unknown). `progress` is asked for a stop request and
    /// told the count every 16,384 known lines.
    package init(index: CatalogIndex?, progress: SyncProgress? = nil) {
        self.index = index
        self.progress = progress
        seen = PositionSet(capacity: index?.count ?? 0)
        productCounts = Array(repeating: 0, count: index?.products.count ?? 0)
        classificationCounts = Array(repeating: 0, count: index?.classifications.count ?? 0)
    }

    package mutating func isKnown(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
        guard index != nil else { return false }
        let hash = LineHash.hash(bytes)
        let position: Int
        if cursor < index.unsafelyUnwrapped.count && index.unsafelyUnwrapped.hashes[cursor] == hash {
            position = cursor
        } else {
            if !index.unsafelyUnwrapped.hasTable { index!.buildTable() }
            guard let found = index.unsafelyUnwrapped.position(of: hash) else { return false }
            position = found
        }
        let index = self.index.unsafelyUnwrapped
        cursor = position + 1
        seen.insert(position)
        let meta = index.metas[position]
        productCounts[Int(meta & 0xFFFF)] += 1
        classificationCounts[Int((meta >> 16) & 0x3FFF)] += 1
        if position == runEnd {
            runEnd += 1
        } else {
            if runEnd > runStart { runs.append(runStart..<runEnd) }
            runStart = position
            runEnd = position + 1
        }
        known += 1
        if known & 16383 == 0, let progress {
            if progress.isStopRequested { throw SyncError.cancelled }
            progress.advance(to: known)
        }
        return true
    }

    /// Closes the last run and marks the index's shared ids (for removals); call once the catalog has
    /// been read.
    package mutating func finish() {
        if runEnd > runStart { runs.append(runStart..<runEnd) }
        runStart = 0
        runEnd = -1
        index?.markSharedIDs()
    }
}
