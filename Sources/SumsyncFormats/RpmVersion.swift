/// rpm's version comparison: `rpmvercmp` for versions and releases, and epoch:version-release (EVR)
/// ordering as `rpm.labelCompare` does it. Checked against `rpm.labelCompare` (python3-rpm) in the tests.
package enum RpmVersion {
    /// -1, 0 or 1 as `a` sorts before, equal to or after `b` (`rpmvercmp`): alphanumeric segments
    /// compared in turn, digits numerically (leading zeros ignored) and beating letters, `~` sorting
    /// before anything (even the end), `^` after the end but before anything else.
    package static func compare(_ a: String, _ b: String) -> Int {
        if a == b { return 0 }
        let one = Array(a.utf8)
        let two = Array(b.utf8)
        var i = 0
        var j = 0
        @inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        @inline(__always) func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
        @inline(__always) func isSeparator(_ c: UInt8) -> Bool { !isDigit(c) && !isAlpha(c) && c != 0x7E && c != 0x5E }
        while i < one.count || j < two.count {
            while i < one.count && isSeparator(one[i]) { i += 1 }
            while j < two.count && isSeparator(two[j]) { j += 1 }
            let x: UInt8? = i < one.count ? one[i] : nil
            let y: UInt8? = j < two.count ? two[j] : nil
            // Tilde sorts before everything else, the end included.
            if x == 0x7E || y == 0x7E {
                if x != 0x7E { return 1 }
                if y != 0x7E { return -1 }
                i += 1
                j += 1
                continue
            }
            // Caret sorts after the end, before anything else.
            if x == 0x5E || y == 0x5E {
                if x == nil { return -1 }
                if y == nil { return 1 }
                if x != 0x5E { return 1 }
                if y != 0x5E { return -1 }
                i += 1
                j += 1
                continue
            }
            guard let first = x, y != nil else { break }
            let numeric = isDigit(first)
            var endOne = i
            var endTwo = j
            if numeric {
                while endOne < one.count && isDigit(one[endOne]) { endOne += 1 }
                while endTwo < two.count && isDigit(two[endTwo]) { endTwo += 1 }
            } else {
                while endOne < one.count && isAlpha(one[endOne]) { endOne += 1 }
                while endTwo < two.count && isAlpha(two[endTwo]) { endTwo += 1 }
            }
            // Segments of different kinds: a number beats letters.
            if endTwo == j { return numeric ? 1 : -1 }
            var startOne = i
            var startTwo = j
            if numeric {
                while startOne < endOne - 1 && one[startOne] == 0x30 { startOne += 1 }
                while startTwo < endTwo - 1 && two[startTwo] == 0x30 { startTwo += 1 }
                // Ignoring zeros, the longer number is larger.
                let lengthOne = endOne - startOne
                let lengthTwo = endTwo - startTwo
                if lengthOne != lengthTwo { return lengthOne > lengthTwo ? 1 : -1 }
            }
            let segmentOne = one[startOne..<endOne]
            let segmentTwo = two[startTwo..<endTwo]
            if segmentOne != segmentTwo { return segmentOne.lexicographicallyPrecedes(segmentTwo) ? -1 : 1 }
            i = endOne
            j = endTwo
        }
        if i >= one.count && j >= two.count { return 0 }
        return i >= one.count ? -1 : 1
    }

    /// An epoch, version and release, ordered as rpm orders them: epoch as a number (absent = 0), then
    /// version, then release by ``compare(_:_:)``.
    package struct EVR: Sendable, Hashable, Comparable {
        package var epoch: Int
        package var version: String
        package var release: String

        package init(epoch: Int, version: String, release: String) {
            self.epoch = epoch
            self.version = version
            self.release = release
        }

        /// `[epoch:]version-release`, split as rpm splits a label (the last `-` starts the release).
        package init(label: String) {
            var rest = Substring(label)
            if let colon = rest.firstIndex(of: ":"), let value = Int(rest[..<colon]) {
                epoch = value
                rest = rest[rest.index(after: colon)...]
            } else {
                epoch = 0
            }
            if let dash = rest.lastIndex(of: "-") {
                version = String(rest[..<dash])
                release = String(rest[rest.index(after: dash)...])
            } else {
                version = String(rest)
                release = ""
            }
        }

        package static func compare(_ a: EVR, _ b: EVR) -> Int {
            if a.epoch != b.epoch { return a.epoch < b.epoch ? -1 : 1 }
            let version = RpmVersion.compare(a.version, b.version)
            if version != 0 { return version }
            return RpmVersion.compare(a.release, b.release)
        }

        package static func < (a: EVR, b: EVR) -> Bool { compare(a, b) < 0 }
    }
}
