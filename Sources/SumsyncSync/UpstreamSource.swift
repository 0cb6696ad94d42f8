import Foundation
import SumsyncModel

/// Where the top-level site's updates come from: one configured source. Today that is the NDJSON
/// catalog (``CatalogUpstream``); RPM repositories and OSV feeds are the next implementations
/// (docs/architecture.md says where they go).
///
/// A source is asked with the conditional state its last successful sync stored, and answers that
/// nothing changed (no download, no transaction) or hands over a snapshot of everything it offers now.
/// The store applies a snapshot all or nothing and keeps the snapshot's state for the next ask, so a
/// source that fails changes nothing of what it had.
package protocol UpstreamSource: Sendable {
    /// The source's name, as history, the journal and the CLI show it.
    var name: String { get }

    /// Fetches the source. `state` is what its last successful sync stored; `full` ignores it.
    func fetch(since state: UpstreamState, full: Bool, progress: SyncProgress) async throws(SyncError) -> UpstreamFetch
}

/// What a source's last successful sync stored for the next conditional request.
package struct UpstreamState: Sendable, Equatable {
    /// HTTP validators (`ETag`, `Last-Modified`); nil for a source read from a file.
    package var etag: String?
    package var lastModified: String?

    package init(etag: String? = nil, lastModified: String? = nil) {
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// A source's answer.
package enum UpstreamFetch: Sendable {
    /// Nothing changed since the state it was asked with.
    case unchanged
    /// Everything the source offers now.
    case snapshot(UpstreamSnapshot)
}

/// A snapshot of a source: its records as a catalog file (one record a line, numbered for error
/// messages), and the state to store once it has applied.
package struct UpstreamSnapshot: Sendable {
    /// The catalog file.
    package var path: String
    /// Whether the file was made for this sync (it is removed afterwards).
    package var temporary: Bool
    /// How messages name it: the URL it came from.
    package var name: String
    /// Stored once the snapshot has applied.
    package var state: UpstreamState

    /// Removes the file when it was made for this sync.
    package func remove() {
        if temporary { unlink(path) }
    }
}
