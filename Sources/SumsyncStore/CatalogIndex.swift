import SumsyncFormats
import SumsyncModel

/// What the top-level site remembers of the catalog it applied last: every line in file order, with its
/// hash (``LineHash``), the update id it carried, its product and classification, and whether the
/// filter kept it.
///
/// A delta sync hashes each line and matches it here (see ``LineMatcher``): a known line was applied,
/// with every effect it has, by an earlier sync, so it only counts towards upstream's offer and marks its
/// id as still offered; only unknown lines are validated, parsed and written. Kept lines that no longer
/// appear name the candidates for removal. Upstream snapshots mostly keep their order, so matching walks
/// the lines in order (sequential memory, no cache misses) and asks the hash table only for a line out of
/// place. The index is valid only for the database state it was made with (its ``Stamp``); see
/// ``CatalogIndexCache``. About 32 bytes a line: 500,000 lines take about 16 MB.
package struct CatalogIndex: Sendable {
    /// The database state an index describes: the site's sync counter and catalog version after the sync
    /// that made it, and the filter it was made under.
    package struct Stamp: Sendable, Equatable {
        var syncCounter: Int64
        var catalogVersion: Int64
        package var filter: UInt64

        package init(syncCounter: Int64, catalogVersion: Int64, filter: UInt64) {
            self.syncCounter = syncCounter
            self.catalogVersion = catalogVersion
            self.filter = filter
        }

        /// A filter's part of the stamp.
        package static func filterHash(_ filter: UpdateFilter) -> UInt64 {
            var text = filter.fingerprint
            return text.withUTF8 { LineHash.hash(UnsafeRawBufferPointer($0)) }
        }
    }

    /// A line's product and classification (indexes into the name lists), whether the filter kept it, and
    /// whether another kept line carries the same id (set by ``prepare()``).
    struct Meta: Equatable {
        var product: UInt16
        var classification: UInt16
        var kept: Bool
        var sharedID = false

        var packed: UInt32 {
            UInt32(product) | UInt32(classification & 0x3FFF) << 16 | (kept ? 1 << 31 : 0) | (sharedID ? 1 << 30 : 0)
        }

        init(product: UInt16, classification: UInt16, kept: Bool) {
            self.product = product
            self.classification = classification
            self.kept = kept
        }

        init(packed: UInt32) {
            product = UInt16(truncatingIfNeeded: packed)
            classification = UInt16(truncatingIfNeeded: packed >> 16) & 0x3FFF
            kept = packed >> 31 == 1
            sharedID = (packed >> 30) & 1 == 1
        }

        /// Product and classification indexes must fit these.
        static let maximumNames = 0x3FFF
    }

    package var stamp: Stamp
    /// Product and classification names, indexed by ``Meta``.
    var products: [String]
    var classifications: [String]
    /// The lines in file order: hash, update id (0 for a line the filter dropped), packed ``Meta``.
    private(set) var hashes: [UInt64]
    private(set) var ids: [UInt128]
    private(set) var metas: [UInt32]
    /// Open addressing, linear probing: position + 1 of the first line with a hash, 0 = empty. Empty
    /// until ``prepare()``.
    private var table: [UInt32] = []

    init(stamp: Stamp, products: [String], classifications: [String], hashes: [UInt64], ids: [UInt128], metas: [UInt32])
    {
        precondition(hashes.count == ids.count && ids.count == metas.count)
        self.stamp = stamp
        self.products = products
        self.classifications = classifications
        self.hashes = hashes
        self.ids = ids
        self.metas = metas
    }

    /// Lines in the catalog, duplicates included.
    var count: Int { hashes.count }

    /// Whether ``position(of:)`` can be asked (the table is built).
    var hasTable: Bool { !table.isEmpty || hashes.isEmpty }
    /// Whether ``Meta/sharedID`` is set on the lines (``markSharedIDs()`` ran).
    private(set) var hasSharedIDs = false

    /// Builds the hash table and marks ids carried by more than one kept line.
    mutating func prepare() {
        buildTable()
        markSharedIDs()
    }

    /// Builds the hash table behind ``position(of:)``. The line matcher does it on its reading thread
    /// when it first meets a line out of place.
    mutating func buildTable() {
        guard !hasTable else { return }
        let capacity = Self.capacity(for: hashes.count)
        var table = [UInt32](repeating: 0, count: capacity)
        let mask = capacity - 1
        hashes.withUnsafeBufferPointer { hashes in
            table.withUnsafeMutableBufferPointer { table in
                for position in 0..<hashes.count {
                    let hash = hashes[position]
                    var slot = Int(truncatingIfNeeded: hash) & mask
                    while table[slot] != 0 {
                        if hashes[Int(table[slot]) - 1] == hash { break }
                        slot = (slot + 1) & mask
                    }
                    if table[slot] == 0 { table[slot] = UInt32(position + 1) }
                }
            }
        }
        self.table = table
    }

    /// The position of the first line with `hash`, or nil. Only after ``buildTable()``.
    @inline(__always)
    func position(of hash: UInt64) -> Int? {
        table.withUnsafeBufferPointer { table in
            let mask = table.count - 1
            guard mask > 0 else { return nil }
            var slot = Int(truncatingIfNeeded: hash) & mask
            while true {
                let entry = table[slot]
                if entry == 0 { return nil }
                if hashes[Int(entry) - 1] == hash { return Int(entry) - 1 }
                slot = (slot + 1) & mask
            }
        }
    }

    func meta(at position: Int) -> Meta { Meta(packed: metas[position]) }
    func id(at position: Int) -> UInt128 { ids[position] }

    /// Finds the ids that stand on more than one kept line (removal needs a closer look for those:
    /// another line may still offer the id), through a scratch open-addressing table of kept ids. The
    /// line matcher does it on its reading thread once the catalog is read.
    mutating func markSharedIDs() {
        guard !hasSharedIDs else { return }
        hasSharedIDs = true
        let capacity = Self.capacity(for: hashes.count)
        let mask = capacity - 1
        var table = [UInt32](repeating: 0, count: capacity)
        ids.withUnsafeBufferPointer { ids in
            metas.withUnsafeMutableBufferPointer { metas in
                table.withUnsafeMutableBufferPointer { table in
                    for position in 0..<ids.count where metas[position] >> 31 == 1 {
                        let id = ids[position]
                        let folded =
                            UInt64(truncatingIfNeeded: id)
                            ^ (UInt64(truncatingIfNeeded: id >> 64) &* 0x9E37_79B9_7F4A_7C15)
                        var slot = Int(truncatingIfNeeded: (folded &* 0xBF58_476D_1CE4_E5B9) >> 32) & mask
                        while true {
                            let entry = table[slot]
                            if entry == 0 {
                                table[slot] = UInt32(position + 1)
                                break
                            }
                            if ids[Int(entry) - 1] == id {
                                metas[Int(entry) - 1] |= 1 << 30
                                metas[position] |= 1 << 30
                                break
                            }
                            slot = (slot + 1) & mask
                        }
                    }
                }
            }
        }
    }

    /// A power of two at least 1.5 × the lines.
    private static func capacity(for lines: Int) -> Int {
        var capacity = 16
        while capacity < lines + lines / 2 { capacity <<= 1 }
        return capacity
    }
}

/// A set of line positions of a ``CatalogIndex`` (the lines seen again in this sync).
package struct PositionSet: Sendable {
    private(set) var words: [UInt64]

    init(capacity: Int) { words = Array(repeating: 0, count: (capacity + 63) / 64) }

    @inline(__always)
    mutating func insert(_ position: Int) { words[position >> 6] |= 1 << UInt64(position & 63) }

    @inline(__always)
    func contains(_ position: Int) -> Bool { words[position >> 6] & (1 << UInt64(position & 63)) != 0 }

    /// Calls `body` with every position below `count` that is not in the set.
    func forEachMissing(below count: Int, _ body: (Int) throws -> Void) rethrows {
        for (wordIndex, word) in words.enumerated() where word != .max {
            var missing = ~word
            while missing != 0 {
                let position = wordIndex << 6 + missing.trailingZeroBitCount
                guard position < count else { return }
                try body(position)
                missing &= missing - 1
            }
        }
    }
}
