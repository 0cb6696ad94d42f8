/// Decides, before validation, which lines of a catalog are already known (see
/// ``CatalogLineReader/forEachLine(known:onInvalidLine:_:)``).
package protocol KnownLineFilter {
    /// True takes the line: it is neither validated nor passed on.
    mutating func isKnown(_ bytes: UnsafeRawBufferPointer) throws -> Bool
}

/// Knows no line.
package struct NoKnownLines: KnownLineFilter {
    package init() {}
    package func isKnown(_ bytes: UnsafeRawBufferPointer) -> Bool { false }
}
