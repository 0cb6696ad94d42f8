import Foundation
import Logging
import SumsyncModel

/// Runs syncs one at a time. Every trigger (signal, control socket, schedule, retry, parent) calls
/// ``request(_:full:)``; a request while a sync runs is coalesced into at most one follow-up, and the
/// caller is told so.
public actor SyncCoordinator {
    /// Carries out one sync; supplied by the daemon (catalog sync at the top, parent pull below).
    public typealias Perform =
        @Sendable (_ id: String, _ trigger: SyncTrigger, _ full: Bool, _ progress: SyncProgress)
        async -> SyncEngine.Outcome

    /// What happened to a request.
    public enum Answer: Sendable, Equatable {
        /// A sync started with this id.
        case started(id: String)
        /// A sync is running; this request is the follow-up with `id` that runs after it.
        case queued(id: String, running: String)
    }

    /// The running sync, for status and the control socket.
    public struct Running: Sendable {
        public var id: String
        public var trigger: SyncTrigger
        public var progress: SyncProgress
    }

    private let perform: Perform
    private let onFinished:
        @Sendable (_ id: String, _ trigger: SyncTrigger, _ outcome: SyncEngine.Outcome) async -> Void
    private var running: Running?
    private var runningTask: Task<Void, Never>?
    private var followUp: (id: String, trigger: SyncTrigger, full: Bool)?
    private var finished: [String: SyncEngine.Outcome] = [:]
    private var stopping = false

    public init(
        perform: @escaping Perform,
        onFinished:
            @escaping @Sendable (_ id: String, _ trigger: SyncTrigger, _ outcome: SyncEngine.Outcome) async -> Void
    ) {
        self.perform = perform
        self.onFinished = onFinished
    }

    /// Starts a sync now, or queues one follow-up after the running one.
    @discardableResult
    public func request(_ trigger: SyncTrigger, full: Bool = false) -> Answer? {
        guard !stopping else { return nil }
        if let running {
            if var pending = followUp {
                pending.full = pending.full || full
                followUp = pending
                return .queued(id: pending.id, running: running.id)
            }
            let id = Self.newID()
            followUp = (id, trigger, full)
            return .queued(id: id, running: running.id)
        }
        let id = Self.newID()
        start(id: id, trigger: trigger, full: full)
        return .started(id: id)
    }

    /// What happened to a request for a sync with work of its own (``requestExclusive(_:perform:)``).
    public enum ExclusiveAnswer: Sendable, Equatable {
        /// It started with this id.
        case started(id: String)
        /// Another sync runs (or is queued); nothing was started.
        case busy(running: String)
    }

    /// Starts a sync that does its own work instead of the usual one (an import, which carries its own
    /// file), only when no sync runs or is queued: such a sync never coalesces with another. Its outcome
    /// goes through the same `onFinished` as any sync. Nil while stopping.
    public func requestExclusive(_ trigger: SyncTrigger, perform work: @escaping Perform) -> ExclusiveAnswer? {
        guard !stopping else { return nil }
        if let running { return .busy(running: running.id) }
        let id = Self.newID()
        start(id: id, trigger: trigger, full: false, work: work)
        return .started(id: id)
    }

    /// The running sync, if any.
    public var current: Running? { running }

    /// Where the sync `id` is now.
    public enum State: Sendable {
        case queued(behind: String)
        case running(SyncProgress.Snapshot)
        case finished(SyncEngine.Outcome)
        case unknown
    }

    /// Where the sync `id` is now.
    public func state(of id: String) -> State {
        if let outcome = finished[id] { return .finished(outcome) }
        if let running, running.id == id { return .running(running.progress.snapshot) }
        if let followUp, followUp.id == id, let running { return .queued(behind: running.id) }
        return .unknown
    }

    /// Stops the running sync (it rolls back) and drops any follow-up; returns when it has ended.
    public func stop() async {
        stopping = true
        followUp = nil
        running?.progress.requestStop()
        await runningTask?.value
    }

    private func start(id: String, trigger: SyncTrigger, full: Bool, work: Perform? = nil) {
        let progress = SyncProgress()
        running = Running(id: id, trigger: trigger, progress: progress)
        runningTask = Task { [perform] in
            let outcome = await (work ?? perform)(id, trigger, full, progress)
            await self.finish(id: id, trigger: trigger, outcome: outcome)
        }
    }

    private func finish(id: String, trigger: SyncTrigger, outcome: SyncEngine.Outcome) async {
        finished[id] = outcome
        if finished.count > 100, let oldest = finished.keys.first { finished[oldest] = nil }
        running = nil
        runningTask = nil
        await onFinished(id, trigger, outcome)
        if let next = followUp, !stopping {
            followUp = nil
            start(id: next.id, trigger: next.trigger, full: next.full)
        }
    }

    static func newID() -> String { UUID().uuidString.lowercased() }
}
