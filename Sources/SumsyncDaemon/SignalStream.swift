import Dispatch
import Foundation

/// Delivers Unix signals as an `AsyncStream`, through Dispatch signal sources.
///
/// The default action of each signal is ignored first, so a signal arriving before the consumer runs is
/// queued in the stream rather than killing the process.
public final class SignalStream: @unchecked Sendable {
    /// The signals, in arrival order.
    public let signals: AsyncStream<Int32>
    // Dispatch sources are thread-safe; they are kept only to stay alive and to be cancelled.
    private let sources: [any DispatchSourceSignal]

    /// Starts listening for `numbers`.
    public init(_ numbers: [Int32]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let queue = DispatchQueue(label: "sumsync.signals")
        self.signals = stream
        self.sources = numbers.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        continuation.onTermination = { _ in }
    }

    /// Stops listening.
    public func cancel() {
        for source in sources { source.cancel() }
    }
}
