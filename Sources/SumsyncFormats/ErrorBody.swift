import Foundation

/// The message of an HTTP error answer, as sites and the control socket write it: Hummingbird's
/// `{"error":{"message":"…"}}`, or `{"error":"…"}`; any other body is its text, trimmed.
public enum ErrorBody {
    /// The message in `body`.
    public static func message(_ body: Data) -> String {
        if let decoded = try? JSONDecoder().decode(Shape.self, from: body) { return decoded.message }
        return String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private struct Shape: Decodable {
        var message: String

        private enum Keys: String, CodingKey { case error, message }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            if let text = try? container.decode(String.self, forKey: .error) {
                message = text
            } else {
                message = try container.nestedContainer(keyedBy: Keys.self, forKey: .error).decode(
                    String.self, forKey: .message)
            }
        }
    }
}
