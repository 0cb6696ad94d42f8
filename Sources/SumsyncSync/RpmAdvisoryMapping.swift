import Crypto
import Foundation
import SumsyncFormats
import SumsyncModel

/// How an `updateinfo.xml` advisory becomes an update (the table in docs/sources.md).
package enum RpmAdvisoryMapping {
    /// A bad field, named with the advisory's id.
    package struct FieldError: Error, Sendable, CustomStringConvertible {
        package var advisory: String
        package var line: Int
        package var message: String
        package var description: String { "advisory \(advisory) (line \(line)): \(message)" }
    }

    /// The update of `advisory` from source `source`, revision 1 and no supersedence (the merge of all
    /// sources fills those in).
    package static func record(_ advisory: RpmAdvisory, source: String, product: String) throws(FieldError)
        -> CatalogRecord
    {
        func fail(_ message: String) -> FieldError {
            FieldError(advisory: advisory.id, line: advisory.line, message: message)
        }
        let type = advisory.type.trimmed.lowercased()
        guard !type.isEmpty else { throw fail("no type attribute (security, bugfix, enhancement, newpackage, …)") }
        guard Classification.isAdvisoryType(type) else {
            throw fail("type \"\(advisory.type)\" is not a word of letters, digits, '.', '_' and '-'")
        }
        func date(_ text: String?, _ element: String) throws(FieldError) -> Int64? {
            guard let text, !text.trimmed.isEmpty else { return nil }
            guard let epoch = AdvisoryDate.epochSeconds(text) else {
                throw fail("<\(element) date=\"\(text)\"> is not a date sumsync reads (see docs/sources.md)")
            }
            return epoch
        }
        let issued = try date(advisory.issued, "issued")
        let updated = try date(advisory.updated, "updated")
        guard let released = issued ?? updated else { throw fail("no <issued date=…>") }
        var cves: [String] = []
        var seenCVEs: Set<String> = []
        for reference in advisory.references where reference.type.lowercased() == "cve" && !reference.id.isEmpty {
            if seenCVEs.insert(reference.id).inserted { cves.append(reference.id) }
        }
        let url =
            advisory.references.first { $0.type == "self" && !$0.href.isEmpty }?.href
            ?? advisory.references.first { !$0.href.isEmpty }?.href
        let title = advisory.title.isEmpty ? advisory.id : advisory.title
        return CatalogRecord(
            id: id(format: "rpm", product: product, advisory: advisory.id), revision: 1, title: title,
            product: product, classification: type, languages: ["all"], severity: severity(advisory.severity),
            released: RFC3339.format(epochSeconds: released), releasedEpoch: released,
            revised: updated.map { RFC3339.format(epochSeconds: $0) },
            expired: advisory.status.lowercased() == "retracted",
            url: url, description: advisory.description, source: source, advisory: advisory.id, cves: cves,
            packages: Array(Set(advisory.packages.map(\.label))).sorted(), rebootSuggested: advisory.rebootSuggested)
    }

    /// Critical / Important / Moderate / Low, case-insensitive, with Medium → Moderate and High → Important;
    /// anything else (`None`, empty, unknown words) is absent.
    package static func severity(_ text: String?) -> String? {
        switch text?.trimmed.lowercased() {
        case "critical": "Critical"
        case "important", "high": "Important"
        case "moderate", "medium": "Moderate"
        case "low": "Low"
        default: nil
        }
    }

    /// sumsync's namespace for advisory ids (a fixed random UUID).
    static let namespace: [UInt8] = [
        0x6f, 0x1c, 0x2a, 0x9e, 0x53, 0x0b, 0x4d, 0x7f, 0x9a, 0x41, 0x8e, 0x22, 0xd3, 0x5c, 0x10, 0x6b,
    ]

    /// The update id of an advisory: a UUID version 5 (RFC 9562) in sumsync's namespace of
    /// `format`, `product` and the advisory id joined by NUL bytes, lowercase.
    package static func id(format: String, product: String, advisory: String) -> String {
        var hasher = Insecure.SHA1()
        hasher.update(data: namespace)
        hasher.update(data: Array("\(format)\u{0}\(product)\u{0}\(advisory)".utf8))
        var bytes = Array(hasher.finalize().prefix(16))
        bytes[6] = bytes[6] & 0x0F | 0x50
        bytes[8] = bytes[8] & 0x3F | 0x80
        return Hex.uuid(bytes)
    }
}
