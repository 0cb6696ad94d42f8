/// A site code: three characters of `A`–`Z` and `0`–`9`, as Configuration Manager uses (`CAS`, `PR1`).
public struct SiteCode: Sendable, Hashable, Comparable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The code as written.
    public let rawValue: String

    /// Validates `text`; nil when it is not a site code.
    public init?(_ text: String) {
        guard text.utf8.count == 3, text.utf8.allSatisfy({ (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) })
        else { return nil }
        self.rawValue = text
    }

    public init(stringLiteral value: String) {
        guard let code = SiteCode(value) else { preconditionFailure("invalid site code literal \(value)") }
        self = code
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let code = SiteCode(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "invalid site code \(text)"))
        }
        self = code
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }
    public static func < (lhs: SiteCode, rhs: SiteCode) -> Bool { lhs.rawValue < rhs.rawValue }
}
