/// Finds the table headers that TOMLKit's parser (toml++ 3) cannot be given: after `[` or `[[` and any
/// spaces, anything but the start of a key (a bare-key character or a quote) or `]` — `[=]`, `[.a]`, `[é]`, a
/// `[` at the end of its line — fails an assertion in toml++ (the process aborts in a debug build; in a
/// release build it is undefined behaviour) instead of giving a parse error. Found by the `config` fuzz
/// target; the document is refused here before toml++ sees it.
///
/// The document is read as toml++ reads it at the top level: header lines, comments, and key-value lines
/// whose value may go on over several lines (arrays, inline tables, multi-line strings), so a `[` that
/// starts a line inside a value is not taken for a header.
enum TOMLHeaderCheck {
    /// The 1-based line and column (in bytes) of the first character of the first such header that is
    /// not a key's, or nil when there is none.
    static func firstHeaderWithoutKey(_ text: String) -> (line: Int, column: Int)? {
        let bytes = Array(text.utf8)
        var scan = Scan(bytes: bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { scan.index = 3 }
        while scan.index < bytes.count {
            while scan.current == space || scan.current == tab { scan.index += 1 }
            if scan.current == openBracket {
                var next = scan.index + 1
                if scan.byte(next) == openBracket { next += 1 }
                while scan.byte(next) == space || scan.byte(next) == tab { next += 1 }
                // 0: the end of the text (toml++ reads the string up to a NUL), which it reports itself.
                let first = scan.byte(next)
                guard first == 0 || first == closeBracket || first == quote || first == apostrophe || isBareKey(first)
                else { return (scan.line, next - scan.lineStart + 1) }
            }
            scan.skipStatement()
        }
        return nil
    }

    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let openBracket = UInt8(ascii: "[")
    private static let closeBracket = UInt8(ascii: "]")
    private static let quote = UInt8(ascii: "\"")
    private static let apostrophe = UInt8(ascii: "'")

    /// `A`–`Z`, `a`–`z`, `0`–`9`, `-` and `_` (TOML 1.0's bare keys).
    private static func isBareKey(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    /// A position in the document, with its line.
    private struct Scan {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        /// Where the current line starts.
        var lineStart = 0

        func byte(_ at: Int) -> UInt8 { at < bytes.count ? bytes[at] : 0 }
        var current: UInt8 { byte(index) }

        /// Moves past the newline at `index`.
        mutating func newline() {
            index += 1
            line += 1
            lineStart = index
        }

        /// Moves past the statement that starts at `index` (a header, a key-value pair, a comment or
        /// nothing) and the newline that ends it: the first newline outside strings, comments and brackets.
        mutating func skipStatement() {
            var depth = 0
            while index < bytes.count {
                switch current {
                case UInt8(ascii: "\n"):
                    newline()
                    if depth == 0 { return }
                case UInt8(ascii: "#"):
                    while index < bytes.count && current != UInt8(ascii: "\n") { index += 1 }
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    depth += 1
                    index += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    depth = max(0, depth - 1)
                    index += 1
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    skipString()
                default:
                    index += 1
                }
            }
        }

        /// Moves past the string that starts at `index`: basic (`"`, with escapes) or literal (`'`), on one
        /// line or, tripled, over several.
        mutating func skipString() {
            let delimiter = current
            let escapes = delimiter == UInt8(ascii: "\"")
            let multiline = byte(index + 1) == delimiter && byte(index + 2) == delimiter
            index += multiline ? 3 : 1
            while index < bytes.count {
                let byte = current
                if escapes && byte == UInt8(ascii: "\\") {
                    index += 1
                    if current == UInt8(ascii: "\n") { newline() } else { index += 1 }
                } else if byte == UInt8(ascii: "\n") {
                    // A one-line string ends at the line's end (unterminated: toml++ reports it).
                    guard multiline else { return }
                    newline()
                } else if byte == delimiter
                    && (!multiline || (self.byte(index + 1) == delimiter && self.byte(index + 2) == delimiter))
                {
                    index += multiline ? 3 : 1
                    return
                } else {
                    index += 1
                }
            }
        }
    }
}
