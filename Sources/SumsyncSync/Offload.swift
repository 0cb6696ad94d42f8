import Foundation
import SumsyncModel

/// Long CPU-bound work (reading an updateinfo, merging sources) on a thread of its own, so it never holds
/// one of the few threads Swift concurrency runs the daemon's listeners and timers on.
enum Offload {
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws(SyncError) -> T) async throws(SyncError) -> T {
        let result: Result<T, SyncError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: Result { () throws(SyncError) in try work() })
            }
            thread.name = "sumsync-work"
            thread.stackSize = 8 << 20
            thread.start()
        }
        return try result.get()
    }
}
