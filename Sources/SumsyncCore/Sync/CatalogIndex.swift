/// What the top-level site remembers of the catalog it applied last: one entry per distinct line, with
/// the line's hash (``LineHash``), the update id it carried, its product and classification, and whether
/// the filter kept it.
///
/// A delta sync hashes each line and looks it up here: a known line was applied, with every effect it
/// has, by an earlier sync, so it only counts towards upstream's offer and marks its id as still offered;
/// only unknown lines are validated, parsed and written. Kept lines that no longer appear name the
/// candidates for removal. The index is valid only for the database state it was made with (its
/// ``Stamp``); see ``CatalogIndexCache``.
///
/// An open-addressing table with linear probing (home slot by multiply-shift range reduction, deletion
/// by backward shift), about 32 bytes per line, so 500,000 lines take about 23 MB.
struct CatalogIndex: Sendable {
    /// The database state an index describes: the site's sync counter and catalog version after the sync
    /// that made it, and the filter it was made under.
    struct Stamp: Sendable, Equatable {
        var syncCounter: Int64
        var catalogVersion: Int64
        var filter: UInt64

        /// A filter's part of the stamp.
        static func filterHash(_ filter: UpdateFilter) -> UInt64 {
            var text = filter.fingerprint
            return text.withUTF8 { LineHash.hash(UnsafeRawBufferPointer($0)) }
        }
    }

    /// A line's product and classification (indexes into the name lists) and whether the filter kept it.
    struct Meta: Equatable {
        var product: UInt16
        var classification: UInt16
        var kept: Bool

        var packed: UInt32 { UInt32(product) | UInt32(classification & 0x7FFF) << 16 | (kept ? 1 << 31 : 0) }

        init(product: UInt16, classification: UInt16, kept: Bool) {
            self.product = product
            self.classification = classification
            self.kept = kept
        }

        init(packed: UInt32) {
            product = UInt16(truncatingIfNeeded: packed)
            classification = UInt16(truncatingIfNeeded: packed >> 16) & 0x7FFF
            kept = packed >> 31 == 1
        }
    }

    struct Slot {
        /// 0 marks an empty slot (``LineHash`` never returns 0).
        var hash: UInt64
        var meta: UInt32
    }

    var stamp: Stamp
    /// Product and classification names, indexed by ``Meta``.
    var products: [String]
    var classifications: [String]
    /// Lines in the catalog, duplicates included (the progress total of the next sync).
    var lineCount: Int
    private(set) var slots: [Slot]
    private(set) var ids: [UInt128]
    /// Distinct lines held.
    private(set) var count = 0

    init(stamp: Stamp, products: [String], classifications: [String], lineCount: Int, minimumCapacity: Int) {
        self.stamp = stamp
        self.products = products
        self.classifications = classifications
        self.lineCount = lineCount
        let capacity = Self.capacity(for: minimumCapacity)
        slots = Array(repeating: Slot(hash: 0, meta: 0), count: capacity)
        ids = Array(repeating: 0, count: capacity)
    }

    var capacity: Int { slots.count }

    /// The slot holding `hash`, or nil.
    @inline(__always)
    func slot(of hash: UInt64) -> Int? {
        slots.withUnsafeBufferPointer { slots in
            var index = Self.home(hash, slots.count)
            while true {
                let found = slots[index].hash
                if found == hash { return index }
                if found == 0 { return nil }
                index += 1
                if index == slots.count { index = 0 }
            }
        }
    }

    func meta(at slot: Int) -> Meta { Meta(packed: slots[slot].meta) }
    func id(at slot: Int) -> UInt128 { ids[slot] }

    /// Adds a line (or replaces the entry of an equal hash).
    mutating func insert(hash: UInt64, id: UInt128, meta: Meta) {
        if (count + 1) * 5 > capacity * 4 { grow() }
        var index = Self.home(hash, capacity)
        while slots[index].hash != 0 && slots[index].hash != hash {
            index += 1
            if index == capacity { index = 0 }
        }
        if slots[index].hash == 0 { count += 1 }
        slots[index] = Slot(hash: hash, meta: meta.packed)
        ids[index] = id
    }

    /// Removes the line with `hash`, if held, moving later entries of its probe run back.
    mutating func remove(hash: UInt64) {
        guard var hole = slot(of: hash) else { return }
        var next = hole
        while true {
            next += 1
            if next == capacity { next = 0 }
            let moving = slots[next].hash
            if moving == 0 { break }
            let home = Self.home(moving, capacity)
            // The entry at `next` may stay when its home lies cyclically in (hole, next].
            let stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if stays { continue }
            slots[hole] = slots[next]
            ids[hole] = ids[next]
            hole = next
        }
        slots[hole] = Slot(hash: 0, meta: 0)
        ids[hole] = 0
        count -= 1
    }

    /// Calls `body` with every held line's slot.
    func forEachSlot(_ body: (Int) throws -> Void) rethrows {
        for index in 0..<capacity where slots[index].hash != 0 { try body(index) }
    }

    private mutating func grow() {
        let old = (slots, ids)
        slots = Array(repeating: Slot(hash: 0, meta: 0), count: Self.capacity(for: count * 2))
        ids = Array(repeating: 0, count: slots.count)
        count = 0
        for index in 0..<old.0.count where old.0[index].hash != 0 {
            insert(hash: old.0[index].hash, id: old.1[index], meta: Meta(packed: old.0[index].meta))
        }
    }

    /// Slots for `lines` at a load of at most 70 %.
    private static func capacity(for lines: Int) -> Int { max(16, lines * 10 / 7 + 1) }

    @inline(__always)
    private static func home(_ hash: UInt64, _ capacity: Int) -> Int {
        Int(truncatingIfNeeded: hash.multipliedFullWidth(by: UInt64(capacity)).high)
    }
}

/// A set of slots of a ``CatalogIndex`` (the lines seen again in this sync).
struct SlotSet {
    private var words: [UInt64]

    init(capacity: Int) { words = Array(repeating: 0, count: (capacity + 63) / 64) }

    @inline(__always)
    mutating func insert(_ slot: Int) { words[slot >> 6] |= 1 << UInt64(slot & 63) }

    @inline(__always)
    func contains(_ slot: Int) -> Bool { words[slot >> 6] & (1 << UInt64(slot & 63)) != 0 }
}
