import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One thread, at the lowest CPU priority (nice 19), for housekeeping that may wait: preparing the next
/// line index, writing `catalog-index.bin`, checkpoints. On a busy machine (or a 2-core one running a
/// whole tree of sites) it yields to the work that a child site or a sync waits for, and it never holds
/// a thread of Swift's cooperative pool.
///
/// Jobs run one at a time, in order. A job must not wait for another job.
package final class BackgroundThread: Sendable {
    /// The process-wide housekeeping thread.
    static let shared = BackgroundThread(name: "sumsync-housekeeping")

    private struct State {
        var jobs: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())
    private let condition = NSCondition()

    init(name: String) {
        let thread = Thread { [self] in
            // Linux keeps niceness per thread, and `who` 0 is the calling thread: only this one yields.
            // Raising it needs no privilege.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
            run()
        }
        thread.name = name
        thread.start()
    }

    /// Runs `job` on the thread, after the jobs queued before it.
    func run(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        state.withLock { $0.jobs.append(job) }
        condition.signal()
        condition.unlock()
    }

    /// Runs `job` on the thread and waits for its result.
    func value<T: Sendable>(_ job: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            run { continuation.resume(returning: job()) }
        }
    }

    private func run() {
        while true {
            condition.lock()
            var job = state.withLock { $0.jobs.isEmpty ? nil : $0.jobs.removeFirst() }
            while job == nil {
                condition.wait()
                job = state.withLock { $0.jobs.isEmpty ? nil : $0.jobs.removeFirst() }
            }
            condition.unlock()
            job?()
        }
    }
}
