import Foundation
import Synchronization
import Testing

/// Every daemon a test started, so that none outlives the test process, even when a test fails in a
/// way that skips its clean-up.
private let startedDaemons = Mutex<Set<Int32>>([])
private let killStartedDaemonsAtExit: Void = {
    atexit {
        startedDaemons.withLock { pids in
            for pid in pids { kill(pid, SIGKILL) }
        }
    }
}()

/// A real `sumsyncd` started for a test; killed by PID when the test ends.
final class DaemonProcess: @unchecked Sendable {
    let process = Process()
    let site: String
    let stateDirectory: URL
    let runtimeDirectory: URL
    let logFile: URL

    /// Starts `sumsyncd --config CONFIG --site SITE` with private state and runtime folders.
    init(
        config: String, site: String, folder: URL, environment: [String: String] = [:], extraArguments: [String] = []
    ) throws {
        self.site = site
        self.stateDirectory = folder.appendingPathComponent("state-\(site)")
        self.runtimeDirectory = folder.appendingPathComponent("run-\(site)")
        self.logFile = folder.appendingPathComponent("sumsyncd-\(site).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.binary("sumsyncd"))
        process.arguments =
            [
                "--config", config, "--site", site, "--state-dir", stateDirectory.path,
                "--runtime-dir", runtimeDirectory.path, "--log-target", "console",
            ] + extraArguments
        var env = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID", "CREDENTIALS_DIRECTORY"] {
            env[key] = nil
        }
        env.merge(environment) { _, new in new }
        process.environment = env
        let log = try FileHandle(forWritingTo: logFile)
        process.standardError = log
        process.standardOutput = log
        try process.run()
        _ = killStartedDaemonsAtExit
        let pid = process.processIdentifier
        startedDaemons.withLock { _ = $0.insert(pid) }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) { kill(pid, number) }

    /// Waits for the exit and returns its status.
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        try await waitUntil("sumsyncd \(site) to exit", timeout: timeout) { !self.process.isRunning }
        return process.terminationStatus
    }

    /// Waits until `sumsyncctl ping` answers.
    func waitUntilReady(timeout: Duration = .seconds(40)) async throws {
        try await waitUntil("sumsyncd \(site) to answer ping", timeout: timeout) {
            guard self.process.isRunning else {
                throw TestFailure("sumsyncd \(site) exited with \(self.process.terminationStatus):\n\(self.log)")
            }
            return try CLI.run(["ping", "--site", self.site, "--runtime-dir", self.runtimeDirectory.path]).status == 0
        }
    }

    /// Global options that point `sumsyncctl` at this daemon.
    var ctlOptions: [String] {
        ["--site", site, "--runtime-dir", runtimeDirectory.path, "--state-dir", stateDirectory.path]
    }

    /// SIGTERM, then SIGKILL if it does not stop; for `defer`.
    func stop() {
        let pid = process.processIdentifier
        defer { startedDaemons.withLock { _ = $0.remove(pid) } }
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

/// Runs `sumsyncctl` (or another program) and collects its output.
enum CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try exec(try TestEnvironment.binary("sumsyncctl"), arguments, environment: environment)
    }

    static func exec(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        let folder = TestEnvironment.scratch("cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out")
        let err = folder.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
            stderr: try String(contentsOf: err, encoding: .utf8)
        )
    }
}
