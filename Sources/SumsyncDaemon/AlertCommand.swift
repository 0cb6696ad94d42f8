import Foundation
import Logging

/// Runs `[alerts] on-failure` after a failed sync: the command line through `/bin/sh -c`, in its own
/// process group, with the sync's fields in its environment (`SUMSYNC_SITE_CODE`, `SUMSYNC_SYNC_ID`,
/// `SUMSYNC_SYNC_TRIGGER`, `SUMSYNC_SYNC_RESULT`, `SUMSYNC_SYNC_ERROR`, `SUMSYNC_CATALOG_VERSION`);
/// its output goes to the journal line by line, and the whole group is killed after the time limit.
package struct AlertCommand: Sendable {
    let command: String
    let timeout: Duration

    /// Runs the command and waits for it (or for the time limit); never throws.
    func run(environment fields: [String: String], logger: Logger) async {
        var environment = ProcessInfo.processInfo.environment
        environment.merge(fields) { _, new in new }
        let outputFolder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sumsync-alert-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outputFolder) }
        let output = outputFolder.appendingPathComponent("output").path
        let metadata: Logger.Metadata = ["alert.command": "\(command)"]

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        let arguments = ["/bin/sh", "-c", command]
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            logger.error("Cannot run the on-failure alert: \(String(cString: strerror(spawned)))", metadata: metadata)
            return
        }
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        var killed = false
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result < 0 { break }
            if ContinuousClock.now >= deadline && !killed {
                kill(-pid, SIGKILL)
                killed = true
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        if let text = try? String(contentsOfFile: output, encoding: .utf8) {
            for line in text.split(whereSeparator: \.isNewline).prefix(200) {
                logger.info("on-failure alert: \(line)", metadata: metadata)
            }
        }
        if killed {
            logger.warning(
                "The on-failure alert ran longer than \(timeout.components.seconds) s and was killed ([alerts] timeout).",
                metadata: metadata
            )
        } else if (status & 0x7f) == 0, (status >> 8) & 0xff == 0 {
            logger.info("The on-failure alert ran.", metadata: metadata)
        } else {
            logger.warning("The on-failure alert failed (wait status \(status)).", metadata: metadata)
        }
    }
}
