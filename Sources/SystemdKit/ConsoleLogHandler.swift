import Foundation
import Logging

/// A swift-log handler that writes one readable line per entry to standard error, for `swift run`,
/// `make demo` and tests: `2026-11-25T16:00:00Z info [CAS] Ready. site.code=CAS`.
public struct ConsoleLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let label: String

    /// Makes a handler whose lines start with `label` in brackets.
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let pairs = merged.sorted { $0.key < $1.key }
            .filter { $0.key != JournalFields.messageIDKey }
            .map { "\($0.key)=\(JournalFields.text($0.value))" }
        var line = "\(Self.timestamp()) \(event.level) [\(label)] \(event.message)"
        if let error = event.error { line += " error=\(error)" }
        if !pairs.isEmpty { line += " " + pairs.joined(separator: " ") }
        line += "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ",
            parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec
        )
    }
}
