import Foundation
import Synchronization

/// Remembers the nonces of recent signed requests so that none is accepted twice.
///
/// Entries older than twice the allowed clock skew are forgotten: a request that old is refused as
/// stale anyway. The size is bounded so a flood of signed requests cannot exhaust memory.
package final class NonceCache: Sendable {
    private struct State {
        var seen: [String: Int64] = [:]
        var lastPurge: Int64 = 0
    }

    private let state = Mutex(State())
    let limit: Int

    package init(limit: Int = 200_000) {
        self.limit = limit
    }

    /// Records `nonce`; false when it was already seen (a replay).
    package func insert(_ nonce: String, now: Int64) -> Bool {
        state.withLock { state in
            if now - state.lastPurge > 60 || state.seen.count >= limit {
                state.seen = state.seen.filter { now - $0.value <= 2 * RequestSigner.maxSkew }
                state.lastPurge = now
            }
            if state.seen[nonce] != nil { return false }
            state.seen[nonce] = now
            return true
        }
    }
}
