// TEMPORARY: replaced by the real Catalog/ module from the catalog parser work.
import Foundation

public struct CatalogRecord: Sendable, Equatable {
    public var id: String
    public var revision: Int
    public var title: String
    public var product: String
    public var classification: String
    public var languages: [String]
    public var kb: String?
    public var bulletin: String?
    public var severity: String?
    public var released: String
    public var releasedEpoch: Int64
    public var revised: String?
    public var supersedes: [String]
    public var expired: Bool
    public var size: Int64?
    public var url: String?
    public var description: String?
}

public struct CatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int?
    public var message: String
    public var description: String { line.map { "line \($0): \(message)" } ?? message }
}

public enum CatalogRecordParser {
    public static func parse(_ bytes: UnsafeRawBufferPointer, line: Int) throws(CatalogError) -> CatalogRecord {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw CatalogError(line: line, message: "invalid JSON")
        }
        func string(_ key: String) throws(CatalogError) -> String {
            guard let value = object[key] as? String else { throw CatalogError(line: line, message: "missing required field \"\(key)\"") }
            return value
        }
        guard let revision = object["revision"] as? Int, revision >= 1 else { throw CatalogError(line: line, message: "bad revision") }
        let released = try string("released")
        let formatter = ISO8601DateFormatter()
        guard let date = formatter.date(from: released) else { throw CatalogError(line: line, message: "bad released") }
        return CatalogRecord(
            id: try string("id").lowercased(), revision: revision, title: try string("title"), product: try string("product"),
            classification: try string("classification"), languages: object["languages"] as? [String] ?? ["all"],
            kb: object["kb"] as? String, bulletin: object["bulletin"] as? String, severity: object["severity"] as? String,
            released: released, releasedEpoch: Int64(date.timeIntervalSince1970), revised: object["revised"] as? String,
            supersedes: (object["supersedes"] as? [String] ?? []).map { $0.lowercased() }, expired: object["expired"] as? Bool ?? false,
            size: (object["size"] as? Int).map(Int64.init), url: object["url"] as? String, description: object["description"] as? String
        )
    }
}

public final class CatalogLineReader {
    let data: Data
    public private(set) var bytesRead: Int64 = 0
    public var fileSize: Int64 { Int64(data.count) }
    public init(path: String, maxLineLength: Int = 1 << 20) throws(CatalogError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw CatalogError(line: nil, message: "cannot read") }
        self.data = data
    }
    public func forEachLine(_ body: (_ number: Int, _ bytes: UnsafeRawBufferPointer) throws -> Void) throws {
        var number = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            bytesRead += Int64(line.count + 1)
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            try Data(line).withUnsafeBytes { try body(number, $0) }
        }
    }
}

extension CatalogRecord {
    public func jsonLine() -> String {
        var object: [String: Any] = [
            "id": id, "revision": revision, "title": title, "product": product, "classification": classification,
            "languages": languages, "released": released, "expired": expired,
        ]
        if let kb { object["kb"] = kb }
        if let bulletin { object["bulletin"] = bulletin }
        if let severity { object["severity"] = severity }
        if let revised { object["revised"] = revised }
        if !supersedes.isEmpty { object["supersedes"] = supersedes }
        if let size { object["size"] = size }
        if let url { object["url"] = url }
        if let description { object["description"] = description }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
