/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator with good statistical quality. Named for
/// its use, as the tests have a `SplitMix64` of their own.
///
/// The catalog generator must give the same bytes for the same seed on every machine and Swift release,
/// so it uses neither the system generator nor the standard library's `random(in:using:)` (whose
/// algorithm is not promised to stay the same): every draw below is plain integer arithmetic.
package struct CatalogRandom {
    private(set) var state: UInt64

    init(seed: UInt64) { state = seed }

    /// A generator for one item of a stream, independent of the draws made for other items.
    init(seed: UInt64, stream: UInt64, index: Int) {
        var mixer = CatalogRandom(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        state = mixer.next() ^ (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15)
        _ = next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` (Lemire's multiply-high; the tiny bias is irrelevant for test data).
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform in `range`.
    mutating func inRange(_ range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }

    /// True with probability `perMille` / 1000.
    mutating func chance(perMille: Int) -> Bool { below(1_000) < perMille }

    /// An index chosen with the given integer weights.
    mutating func weighted(_ weights: [Int]) -> Int {
        var pick = below(weights.reduce(0, +))
        for (k, weight) in weights.enumerated() {
            if pick < weight { return k }
            pick -= weight
        }
        return weights.count - 1
    }

    /// One element of a non-empty array.
    mutating func element<T>(_ values: [T]) -> T { values[below(values.count)] }
}
