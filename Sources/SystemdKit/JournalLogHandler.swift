import CSystemd
import Foundation
import Logging

/// A swift-log handler that writes structured entries to the systemd journal with `sd_journal_sendv(3)`.
///
/// Each entry carries `MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER`, `CODE_FILE`/`CODE_LINE`/`CODE_FUNC`,
/// `MESSAGE_ID` when the metadata names one (key `message.id`), and every other metadata key as a
/// `SUMSYNC_…` field (see ``JournalFields``).
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info

    /// The `SYSLOG_IDENTIFIER` of every entry.
    public let identifier: String

    /// Makes a handler; `label` is kept as the swift-log label only.
    public init(label: String, identifier: String = "sumsyncd", metadataProvider: Logger.MetadataProvider? = nil) {
        self.identifier = identifier
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

        var fields = [
            "MESSAGE=\(event.message.description)",
            "PRIORITY=\(JournalFields.priority(for: event.level))",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "CODE_FILE=\(event.file)",
            "CODE_LINE=\(event.line)",
            "CODE_FUNC=\(event.function)",
        ]
        if let error = event.error {
            fields.append("\(JournalFields.prefix)ERROR=\(error)")
        }
        for (key, value) in merged {
            fields.append("\(JournalFields.fieldName(forMetadataKey: key))=\(JournalFields.text(value))")
        }
        Self.send(fields)
    }

    /// Writes one entry. Values may hold newlines: `sd_journal_sendv` takes each field as raw bytes.
    static func send(_ fields: [String]) {
        let buffers = fields.map { Array($0.utf8) }
        let storage = buffers.map { bytes -> UnsafeMutableRawPointer in
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            return pointer
        }
        defer { for pointer in storage { pointer.deallocate() } }
        var vectors = zip(storage.indices, buffers).map { index, bytes in
            iovec(iov_base: storage[index], iov_len: bytes.count)
        }
        _ = vectors.withUnsafeMutableBufferPointer { buffer in
            sd_journal_sendv(buffer.baseAddress, Int32(buffer.count))
        }
    }
}
