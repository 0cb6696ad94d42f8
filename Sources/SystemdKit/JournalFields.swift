import Logging

/// Maps swift-log levels and metadata onto journal fields, in one place.
public enum JournalFields {
    /// The metadata key whose value becomes the entry's `MESSAGE_ID` (a 128-bit id in hex).
    public static let messageIDKey = "message.id"

    /// The prefix of every field made from a metadata key.
    public static let prefix = "SUMSYNC_"

    /// The journal field for a metadata key: `site.code` → `SUMSYNC_SITE_CODE`.
    ///
    /// journald silently drops fields that are not uppercase ASCII letters, digits and `_`, so every
    /// other character becomes `_`.
    public static func fieldName(forMetadataKey key: String) -> String {
        if key == messageIDKey { return "MESSAGE_ID" }
        var name = prefix
        for scalar in key.unicodeScalars {
            switch scalar {
            case "a"..."z": name.unicodeScalars.append(Unicode.Scalar(scalar.value - 32)!)
            case "A"..."Z", "0"..."9": name.unicodeScalars.append(scalar)
            default: name.append("_")
            }
        }
        return name
    }

    /// The syslog priority (`PRIORITY=`) for a swift-log level.
    public static func priority(for level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// Flattens a metadata value into the text stored in the journal.
    public static func text(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let array): array.map { text($0) }.joined(separator: ",")
        case .dictionary(let dictionary):
            dictionary.sorted { $0.key < $1.key }.map { "\($0.key)=\(text($0.value))" }.joined(separator: ",")
        }
    }
}
