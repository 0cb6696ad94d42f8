import Foundation
import SumsyncModel

extension FuzzTarget {
    /// The input as what crosses the control socket. Its first line is a query value as `sumsyncctl`
    /// sends it (`import`'s bundle path): ``ControlProtocol/uri(_:query:)`` must give a URI whose query
    /// reads back to exactly that value, whatever its characters. The rest, as NDJSON lines, is what
    /// `sumsyncctl` decodes from the daemon (`ping`'s answer, the events of `sync --wait`): a line that
    /// decodes must encode to one that decodes to the same value.
    static func controlRequest(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) -> Bool {
        let fields = FuzzInput.fields(input, count: 2)
        var decoded = 0
        if let value = String(validating: fields[0], as: UTF8.self) {
            let uri = ControlProtocol.uri(ControlProtocol.importPath, query: ["path": value, "force": "true"])
            let items = URLComponents(string: uri)?.queryItems ?? []
            try controlRequest.expect(
                items.count == 2 && items[0].name == "path" && items[1] == URLQueryItem(name: "force", value: "true"),
                "'\(value)' made the URI \(uri), whose query reads as \(items)")
            try controlRequest.expect(
                items[0].value == value,
                "'\(value)' made the URI \(uri), whose path= reads as '\(items[0].value ?? "")'")
        }
        for line in fields[1].split(separator: 0x0A) {
            let ping = try roundTrip(ControlProtocol.Ping.self, Data(line))
            let event = try roundTrip(ControlProtocol.SyncEvent.self, Data(line))
            if ping || event { decoded += 1 }
        }
        return decoded > 0
    }

    /// Whether `line` decodes as a `Message`; one that does must encode to one that decodes the same.
    private static func roundTrip<Message: Codable & Equatable>(_ type: Message.Type, _ line: Data)
        throws(InvariantViolation) -> Bool
    {
        guard let message = try? JSONDecoder().decode(type, from: line) else { return false }
        let encoded: Data
        do {
            encoded = try JSONEncoder().encode(message)
        } catch {
            throw InvariantViolation(controlRequest, "a decoded \(type) does not encode: \(error)")
        }
        let again = try? JSONDecoder().decode(type, from: encoded)
        try controlRequest.expect(again == message, "\(type): decode(encode()) differs for \(message)")
        return true
    }
}
