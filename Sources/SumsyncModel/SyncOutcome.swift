import Foundation

/// What a finished sync reports.
public struct SyncOutcome: Sendable {
    public var result: SyncResult
    public var counts = ChangeCounts()
    public var catalogVersion: Int
    public var error: String?
    /// Products and classifications upstream offered for the first time (after the very first sync).
    public var newCategories: [(kind: String, name: String)] = []
    public var skippedInvalid = 0
    /// How long the sync took, fetch to commit.
    public var duration: Duration = .zero
    /// Catalog lines the line index recognised and skipped unparsed.
    public var knownLines = 0

    public init(
        result: SyncResult, counts: ChangeCounts = ChangeCounts(), catalogVersion: Int, error: String? = nil,
        newCategories: [(kind: String, name: String)] = [], skippedInvalid: Int = 0, duration: Duration = .zero,
        knownLines: Int = 0
    ) {
        self.result = result
        self.counts = counts
        self.catalogVersion = catalogVersion
        self.error = error
        self.newCategories = newCategories
        self.skippedInvalid = skippedInvalid
        self.duration = duration
        self.knownLines = knownLines
    }
}
