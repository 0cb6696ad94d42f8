import Foundation

/// The parent's view of the link to one child: a small state machine over delivery results.
///
/// `healthy` until a sync request fails; `degraded` while failures continue; `error` after
/// ``errorAfterFailures`` failures in a row; back to `healthy` on the next success.
package struct LinkState: Sendable, Equatable {
    static let errorAfterFailures = 5

    package var link: SiteStatus.Link = .healthy
    package var failures = 0
    var lastError: String?
    /// When the child first fell behind this site's catalog version, for staleness.
    package var behindSince: Date?
    /// Whether the current staleness has been logged.
    package var staleReported = false

    package init() {}

    /// The delay before retry `attempt` (1-based): 1 s, 2 s, 4 s, … capped at `cap`.
    package static func backoff(attempt: Int, cap: Duration) -> Duration {
        let seconds = attempt >= 30 ? Int64.max : Int64(1) << Int64(max(0, attempt - 1))
        return min(.seconds(seconds), cap)
    }

    /// Records a failed delivery; returns the link state before it, for logging the transition.
    package mutating func failed(_ error: String) -> SiteStatus.Link {
        let before = link
        failures += 1
        lastError = error
        link = failures >= Self.errorAfterFailures ? .error : .degraded
        return before
    }

    /// Records a delivery; returns the link state before it.
    package mutating func succeeded() -> SiteStatus.Link {
        let before = link
        failures = 0
        lastError = nil
        link = .healthy
        return before
    }

    /// Whether the child counts as stale at `now`, given whether it is behind its parent.
    package mutating func updateStaleness(behind: Bool, now: Date, staleAfter: TimeInterval) -> Bool {
        guard behind else {
            behindSince = nil
            staleReported = false
            return false
        }
        let since = behindSince ?? now
        behindSince = since
        return now.timeIntervalSince(since) >= staleAfter
    }
}
