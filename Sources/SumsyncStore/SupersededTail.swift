import Foundation
import SumsyncFormats

/// The `superseded_by` and `superseded_released` a change stream's record carries last, in the shape
/// ``UpdateColumn/writeLine(_:from:into:)`` writes them: `,"superseded_by":"<id>","superseded_released":<n>}`.
/// Read from the line's end, so the catalog parser needs no fields it would otherwise ignore.
package enum SupersededTail {
    enum Reading: Equatable {
        /// The record carries none: nothing supersedes it.
        case none
        case superseded(by: String, released: Int64)
        /// The line names `superseded_by` but not in that shape.
        case unreadable
    }

    private static let byKey = Array(#","superseded_by":""#.utf8)
    private static let releasedKey = Array(#"","superseded_released":"#.utf8)
    private static let name = Array(#""superseded_by""#.utf8)

    static func read(_ line: UnsafeRawBufferPointer) -> Reading {
        guard let tail = tail(line) else {
            return mentions(line) ? .unreadable : .none
        }
        return tail
    }

    /// Whether `"superseded_by"` appears in the line (inside a JSON string its quotes would be escaped).
    /// Most lines of a snapshot carry no supersedence and come here, so it looks for the name's `_` (11
    /// bytes in), a byte catalog lines seldom hold, with `memchr`, rather than comparing at every quote.
    private static func mentions(_ line: UnsafeRawBufferPointer) -> Bool {
        guard let base = line.baseAddress, line.count >= name.count else { return false }
        let underscore = 11
        var from = underscore
        let last = line.count - name.count + underscore  // the last place the name's `_` can be
        while from <= last, let hit = memchr(base + from, Int32(UInt8(ascii: "_")), last - from + 1) {
            let start = base.distance(to: UnsafeRawPointer(hit)) - underscore
            if line[start..<(start + name.count)].elementsEqual(name) { return true }
            from = start + underscore + 1
        }
        return false
    }

    private static func tail(_ line: UnsafeRawBufferPointer) -> Reading? {
        var end = line.count - 1
        guard end > 0, line[end] == UInt8(ascii: "}") else { return nil }
        var released: Int64 = 0
        var scale: Int64 = 1
        var digits = 0
        end -= 1
        while end >= 0, (0x30...0x39).contains(line[end]), digits < 18 {
            released += Int64(line[end] - 0x30) * scale
            scale *= 10
            digits += 1
            end -= 1
        }
        guard digits > 0 else { return nil }
        if end >= 0, line[end] == UInt8(ascii: "-") {
            released = -released
            end -= 1
        }
        let idEnd = end + 1 - releasedKey.count
        let idStart = idEnd - 36
        guard idStart - byKey.count >= 0,
            line[idEnd...end].elementsEqual(releasedKey),
            line[(idStart - byKey.count)..<idStart].elementsEqual(byKey)
        else { return nil }
        guard let id = JSONScanner.lowercasedGUID(UnsafeRawBufferPointer(rebasing: line[idStart..<idEnd])) else {
            return .unreadable
        }
        return .superseded(by: id, released: released)
    }
}
