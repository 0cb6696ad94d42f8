import Foundation
import Hummingbird
import NIOCore
import SumsyncControl
import SumsyncModel

extension SiteDaemon {
    /// `POST /v1/sync?full=true&wait=true`: request a sync; with `wait`, stream its progress as NDJSON
    /// until it ends (see docs/operations.md).
    nonisolated func handleSyncRequest(_ request: Request) async throws -> Response {
        let full = request.uri.queryParameters.get("full").map { $0 == "true" || $0 == "1" } ?? false
        let wait = request.uri.queryParameters.get("wait").map { $0 == "true" || $0 == "1" } ?? false
        if await isDisconnectedTop {
            throw HTTPError(.conflict, message: await disconnectedNotice)
        }
        return try await startSync(trigger: .manual, full: full, wait: wait)
    }

    /// `POST /v1/purge?wait=true`: a sync with trigger `purge` at the top-level site.
    nonisolated func handlePurgeRequest(_ request: Request) async throws -> Response {
        let wait = request.uri.queryParameters.get("wait").map { $0 == "true" || $0 == "1" } ?? false
        let config = await self.config
        if let parent = config.site(site)?.parent {
            throw HTTPError(
                .conflict,
                message:
                    "\(site) is a child site: the top-level site purges, and its purges reach \(site) through \(parent) as removals"
            )
        }
        if await isDisconnectedTop {
            throw HTTPError(
                .conflict,
                message: "\(await disconnectedNotice) It purges when it imports a catalog bundle.")
        }
        guard config.sync.purgeExpiredAfter != nil else {
            throw HTTPError(.conflict, message: "[sync] purge-expired-after is \"0\": this site never purges")
        }
        return try await startSync(trigger: .purge, full: false, wait: wait)
    }

    private nonisolated func startSync(trigger: SyncTrigger, full: Bool, wait: Bool) async throws -> Response {
        guard let answer = await requestSync(trigger: trigger, full: full, source: "sumsyncctl") else {
            throw HTTPError(.serviceUnavailable, message: "the daemon is stopping; no sync was started")
        }
        let accepted: ControlProtocol.SyncEvent
        switch answer {
        case .started(let id): accepted = .init(event: "accepted", syncID: id, queued: false)
        case .queued(let id, let running):
            accepted = .init(event: "accepted", syncID: id, queued: true, running: running)
        }
        guard wait else { return try JSONResponse.make(accepted, status: .accepted) }
        return await followSync(accepted)
    }

    /// Answers NDJSON that follows the sync `accepted` names to its end: the `accepted` line, `queued`
    /// and `progress` lines while it waits and runs, and the `finished` line with its outcome.
    nonisolated func followSync(_ accepted: ControlProtocol.SyncEvent) async -> Response {
        let coordinator = await self.coordinator
        let id = accepted.syncID
        let (lines, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let follower = Task {
            defer { continuation.finish() }
            do {
                continuation.yield(try JSONResponse.line(accepted))
                var lastLine = ""
                while !Task.isCancelled {
                    switch await coordinator.state(of: id) {
                    case .finished(let outcome):
                        continuation.yield(
                            try JSONResponse.line(ControlProtocol.SyncEvent(finished: id, outcome: outcome)))
                        return
                    case .running(let snapshot):
                        if snapshot.line != lastLine {
                            lastLine = snapshot.line
                            continuation.yield(
                                try JSONResponse.line(ControlProtocol.SyncEvent(progress: id, snapshot: snapshot)))
                        }
                    case .queued(let running):
                        if lastLine != "queued" {
                            lastLine = "queued"
                            continuation.yield(
                                try JSONResponse.line(
                                    ControlProtocol.SyncEvent(
                                        event: "queued", syncID: id, queued: true, running: running))
                            )
                        }
                    case .unknown:
                        continuation.yield(
                            try JSONResponse.line(
                                ControlProtocol.SyncEvent(
                                    event: "finished", syncID: id, result: "failed",
                                    error: "the sync was dropped: the daemon is stopping"
                                )
                            )
                        )
                        return
                    }
                    try await Task.sleep(for: .milliseconds(250))
                }
            } catch {
                return
            }
        }
        // The client hung up: stop following.
        continuation.onTermination = { _ in follower.cancel() }
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody(asyncSequence: lines)
        )
    }
}

extension JSONResponse {
    static func line(_ value: some Encodable) throws -> ByteBuffer {
        var data = try encoder.encode(value)
        data.append(0x0A)
        return ByteBuffer(bytes: data)
    }
}
