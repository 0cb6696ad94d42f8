import Foundation

@testable import SumsyncFormats

/// Runs the real `systemd-analyze calendar` and reads back what it printed, so the Swift
/// implementation can be compared against systemd itself.
enum SystemdAnalyze {
    static let path = "/usr/bin/systemd-analyze"

    struct Verdict: Equatable {
        /// "Normalized form:" line; nil when systemd rejected the expression.
        var normalized: String?
        /// Elapses in seconds since the epoch ("Next elapse", "Iter. #2"...); nil when rejected,
        /// empty when systemd printed "Next elapse: never".
        var elapses: [Int64]?
        /// systemd parsed the expression but its search failed ("Failed to determine next
        /// elapse", e.g. its 1000-step loop guard); it then prints no table at all.
        var searchFailed = false
    }

    struct RunError: Error, CustomStringConvertible {
        let description: String
    }

    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// Evaluates all `expressions` in one process (systemd-analyze accepts several) with the given
    /// `$TZ` and base time, returning one verdict per expression, in order.
    static func calendar(
        _ expressions: [String], timeZone: String, baseTime: Int64, iterations: Int
    ) throws -> [Verdict] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments =
            ["--no-pager", "--base-time=@\(baseTime)", "--iterations=\(iterations)", "calendar"]
            + expressions
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = timeZone
        environment["LC_ALL"] = "C"
        environment["SYSTEMD_COLORS"] = "0"
        environment["SYSTEMD_PAGER"] = "cat"
        process.environment = environment
        let stdout = Pipe()
        process.standardOutput = stdout
        // stderr goes to a file so a chatty run cannot block on a full pipe we are not reading.
        let errorURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("systemd-analyze-\(UUID().uuidString).err")
        guard FileManager.default.createFile(atPath: errorURL.path, contents: nil) else {
            throw RunError(description: "cannot create \(errorURL.path)")
        }
        defer { try? FileManager.default.removeItem(at: errorURL) }
        let errorHandle = try FileHandle(forWritingTo: errorURL)
        process.standardError = errorHandle
        try process.run()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try errorHandle.close()
        let errors = String(decoding: try Data(contentsOf: errorURL), as: UTF8.self)
        var verdicts = try parse(String(decoding: data, as: UTF8.self))
        guard verdicts.count == expressions.count else {
            throw RunError(
                description: "systemd-analyze printed \(verdicts.count) blocks for \(expressions.count) expressions")
        }
        for (index, expression) in expressions.enumerated()
        where errors.contains("Failed to determine next elapse for '\(expression)'") {
            verdicts[index].searchFailed = true
        }
        return verdicts
    }

    /// Splits the output into one block per expression: tables are separated by a single blank
    /// line, and an expression systemd rejects prints nothing (its error goes to stderr).
    static func parse(_ output: String) throws -> [Verdict] {
        var lines = output.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        var blocks: [[String]] = [[]]
        for line in lines {
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                blocks.append([])
            } else {
                blocks[blocks.count - 1].append(line)
            }
        }
        return try blocks.map(verdict(from:))
    }

    private static func verdict(from block: [String]) throws -> Verdict {
        guard !block.isEmpty else { return Verdict(normalized: nil, elapses: nil) }
        var normalized: String?
        var elapses: [Int64] = []
        var pendingLocal: String?
        func flush() throws {
            // Without an "(in UTC)" line, $TZ is UTC and the local line is already in UTC.
            if let local = pendingLocal { elapses.append(try epoch(fromSystemd: local)) }
            pendingLocal = nil
        }
        for line in block {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard let colon = trimmed.range(of: ": ") else { continue }
            let key = String(trimmed[..<colon.lowerBound])
            let value = String(trimmed[colon.upperBound...]).trimmingCharacters(in: .whitespaces)
            switch key {
            case "Normalized form":
                normalized = value
            case "Next elapse" where value == "never":
                return Verdict(normalized: normalized, elapses: [])
            case _ where key == "Next elapse" || key.hasPrefix("Iter. #"):
                try flush()
                pendingLocal = value
            case "(in UTC)":
                pendingLocal = nil
                elapses.append(try epoch(fromSystemd: value))
            default:
                continue
            }
        }
        try flush()
        return Verdict(normalized: normalized, elapses: elapses)
    }

    /// `Sun 2026-03-29 00:45:00 UTC` → seconds since the epoch.
    private static func epoch(fromSystemd text: String) throws -> Int64 {
        let fields = text.split(separator: " ")
        guard fields.count == 4, fields[3] == "UTC",
            let date = RFC3339.parse("\(fields[1])T\(fields[2])Z")
        else { throw RunError(description: "unexpected timestamp from systemd-analyze: '\(text)'") }
        return Int64(date.timeIntervalSince1970)
    }
}
