import Dispatch
import Synchronization

/// Work started on another thread at normal priority, whose result a synchronous caller (a database
/// transaction) collects later with ``value``: for work that can overlap the caller's own but that it
/// needs before it ends.
package final class BackgroundWork<T: Sendable>: Sendable {
    private let result = Mutex<T?>(nil)
    private let done = DispatchSemaphore(value: 0)

    package init(_ work: @escaping @Sendable () -> T) {
        DispatchQueue.global().async { [self] in
            let value = work()
            result.withLock { $0 = value }
            done.signal()
        }
    }

    /// The result; waits for the work to finish. Call once.
    package var value: T {
        done.wait()
        return result.withLock { $0! }
    }
}
