import Foundation
import Logging
import SumsyncModel
import SumsyncStore
import SumsyncSync

/// Housekeeping after each sync (docs/operations.md, "Housekeeping"): history older than
/// `[sync] history-retention` goes (the newest ``SyncSettings/historyKept`` rows stay), and once the site
/// has been quiet for ``SiteDaemon/vacuumQuiet``, free pages go back to the file system in short steps
/// (`PRAGMA incremental_vacuum`), never inside a sync: a sync that starts stops the steps, and waits at
/// most for the one running.
extension SiteDaemon {
    /// How long the site must be quiet (no sync) before free pages are given back.
    static let vacuumQuiet: Duration = .seconds(10)
    /// Pages one step gives back (2 MiB of 4 KiB pages): one step is one short write.
    static let vacuumStepPages = 512
    /// Free pages below this are left for the next syncs to reuse (4 MiB).
    static let vacuumThresholdPages = 1_024

    /// Logs how opening the database went for incremental auto-vacuum (a converted file, or why not).
    func logVacuumConversion() {
        switch store.vacuumConversion {
        case .success(let duration)?:
            logger.notice(
                "Converted the site database to incremental auto-vacuum in \(PhaseTimes.milliseconds(duration)) ms (once, for a database an earlier release made); free pages now go back to the file system.",
                metadata: ["db.conversion_ms": "\(PhaseTimes.milliseconds(duration))"])
        case .failure(let error)?:
            logger.warning("\(error.message)")
        case nil:
            break
        }
    }

    /// After any sync: trims history and plans the vacuum for when the site is quiet.
    func housekeep() {
        let retention = config.sync.historyRetention
        do {
            let trimmed = try store.trimHistory(
                before: Date().addingTimeInterval(-Double(retention.seconds)), keeping: SyncSettings.historyKept)
            if trimmed > 0 {
                logger.info(
                    "Deleted \(trimmed) sync history row(s) older than [sync] history-retention (\(retention)).",
                    metadata: ["history.deleted": "\(trimmed)"])
            }
        } catch {
            logger.warning("Cannot trim the sync history: \(error)")
        }
        planVacuum()
    }

    /// (Re)starts the wait for quiet before the vacuum; a sync that starts meanwhile calls it off.
    func planVacuum() {
        vacuumTask?.cancel()
        vacuumTask = Task {
            try? await Task.sleep(for: Self.vacuumQuiet)
            guard !Task.isCancelled else { return }
            await self.vacuumWhileQuiet()
        }
    }

    /// A sync is starting: the vacuum stops after its current step.
    func stopVacuum() {
        vacuumTask?.cancel()
        vacuumTask = nil
    }

    /// Gives free pages back in steps while no sync runs.
    private func vacuumWhileQuiet() async {
        let free: Int
        do {
            free = try store.freePages()
        } catch {
            logger.warning("Cannot read the free pages of the site database: \(error)")
            return
        }
        guard free >= Self.vacuumThresholdPages else {
            logger.debug("\(free) free pages in the site database: left for the next syncs to reuse.")
            // An earlier vacuum that a sync cut short before the checkpoint: the file shrinks now.
            if vacuumLogPending, await cutLog() {
                logger.info(
                    "Cut the site database's log back after the last vacuum; it now takes \(store.databaseBytes() / 1_048_576) MiB.",
                    metadata: ["db.bytes": "\(store.databaseBytes())"])
            }
            return
        }
        let before = store.databaseBytes()
        logger.info(
            "Giving \(free) free pages of the site database back to the file system, \(Self.vacuumStepPages) at a time.",
            metadata: ["vacuum.free_pages": "\(free)", "db.bytes": "\(before)"])
        let started = ContinuousClock.now
        var steps = 0
        var longest = Duration.zero
        var remaining = free
        while remaining > 0, !Task.isCancelled, await coordinator.current == nil {
            let stepStarted = ContinuousClock.now
            let previous = remaining
            do {
                remaining = try await store.vacuumStep(pages: Self.vacuumStepPages)
            } catch {
                // A sync that starts cancels the step it would wait for: no failure, the next quiet spell goes on.
                if !Task.isCancelled { logger.warning("Cannot give free pages of the site database back: \(error)") }
                break
            }
            // Not in incremental auto-vacuum (its conversion failed): steps give nothing back.
            guard remaining < previous else {
                logger.warning(
                    "The site database is not in incremental auto-vacuum mode; its \(remaining) free pages stay until the daemon converts it at its next start."
                )
                break
            }
            longest = max(longest, ContinuousClock.now - stepStarted)
            steps += 1
            // Room for a sync's write between steps.
            await Task.yield()
        }
        vacuumLogPending = true
        let cut = await cutLog()
        let after = store.databaseBytes()
        var stopped =
            remaining > 0 ? " (stopped for a sync; \(remaining) free pages left for the next quiet spell)" : ""
        if !cut { stopped += " (the file shrinks at the checkpoint of the next quiet spell)" }
        logger.info(
            "Gave \(max(0, before - after) / 1_048_576) MiB of the site database back to the file system in \(steps) step(s) of up to \(Self.vacuumStepPages) pages (longest \(PhaseTimes.milliseconds(longest)) ms, \(PhaseTimes.milliseconds(ContinuousClock.now - started)) ms in all); it now takes \(after / 1_048_576) MiB\(stopped).",
            metadata: [
                "vacuum.steps": "\(steps)", "vacuum.longest_step_ms": "\(PhaseTimes.milliseconds(longest))",
                "db.bytes": "\(after)", "vacuum.free_pages_left": "\(remaining)",
            ])
    }

    /// The checkpoint that copies the moved pages back and cuts the log to nothing: only then does the
    /// file shrink. Readers and writers can hold it up, so it is tried for up to 30 s while the site stays
    /// quiet; a sync that starts puts it off to the next quiet spell (``vacuumLogPending``).
    private func cutLog() async -> Bool {
        for attempt in 1...15 {
            if Task.isCancelled { return false }
            do {
                try await store.truncateLog()
                vacuumLogPending = false
                return true
            } catch {
                if Task.isCancelled { return false }
                if attempt == 15 {
                    logger.warning(
                        "Cannot cut the site database's log back after the vacuum: \(error); tried again after the next sync."
                    )
                    return false
                }
                try? await Task.sleep(for: .seconds(2))
            }
        }
        return false
    }
}
