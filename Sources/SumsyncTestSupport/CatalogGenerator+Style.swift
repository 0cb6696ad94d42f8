import SumsyncFormats
import SumsyncModel

/// How one generated line is written. Catalogs in the wild come from different encoders, so a share of
/// lines uses the legal-but-unusual forms a parser must handle: upper-case ids, another field order,
/// unknown (nested) fields, explicit nulls, `\uXXXX` and `\/` escapes, fractional seconds and offsets.
extension CatalogGenerator {
    struct Style {
        var uppercaseID: Bool
        var reordered: Bool
        var extra: Int
        var expiredOmitted: Bool
        var nullsForAbsent: Bool
        var revisedNull: Bool
        var asciiOnly: Bool
        var timeStyle: Int

        init(rng: inout CatalogRandom) {
            uppercaseID = rng.chance(perMille: 20)
            reordered = rng.chance(perMille: 50)
            extra = rng.chance(perMille: 100) ? 1 + rng.below(4) : 0
            expiredOmitted = rng.chance(perMille: 150)
            nullsForAbsent = rng.chance(perMille: 50)
            revisedNull = rng.chance(perMille: 100)
            asciiOnly = rng.chance(perMille: 30)
            timeStyle = rng.weighted([92, 5, 3])
        }

        /// `2026-11-11T18:00:00Z`, `2026-11-11T18:00:00.250Z` or `2026-11-11T20:00:00+02:00`.
        func timestamp(_ epoch: Int64) -> String {
            switch timeStyle {
            case 1: return String(RFC3339.format(epochSeconds: epoch).dropLast()) + ".250Z"
            case 2: return String(RFC3339.format(epochSeconds: epoch + 7_200).dropLast()) + "+02:00"
            default: return RFC3339.format(epochSeconds: epoch)
            }
        }
    }

    /// Unknown fields some lines carry; the parser must skip every one of them.
    private static let extras: [StaticString] = [
        #""msrcSeverity":"Important","cves":["CVE-2026-21001","CVE-2026-21002"]"#,
        #""metadata":{"arch":["x64","arm64"],"reboot":{"required":true,"behavior":null},"score":7.8e0,"tags":[]}"#,
        #""installable":true,"deploymentAction":"Install","priority":-1.5E+2"#,
        #""eula":{"id":null,"text":"I agree \"fully\" \\ \u00e9\ud83d\ude00","accepted":false},"deps":[[1,2],[3,[4]]]"#,
    ]

    /// Appends `record` as one line (with newline) in the given style.
    static func append(_ record: CatalogRecord, style: Style, to w: inout CatalogJSONWriter) {
        let ascii = style.asciiOnly
        var first = true
        func key(_ name: StaticString) {
            w.key(name, first: first)
            first = false
        }
        func id() {
            key("id")
            w.string(style.uppercaseID ? record.id.uppercased() : record.id, asciiOnly: ascii)
        }
        w.raw("{")
        if style.reordered {
            key("released")
            w.string(record.released, asciiOnly: ascii)
        } else {
            id()
        }
        if style.extra == 1 || style.extra == 3 {
            w.raw(",")
            w.raw(extras[style.extra - 1])
        }
        key("revision")
        w.integer(Int64(record.revision))
        key("title")
        w.string(record.title, asciiOnly: ascii)
        key("product")
        w.string(record.product, asciiOnly: ascii)
        key("classification")
        w.string(record.classification, asciiOnly: ascii)
        key("languages")
        w.stringArray(record.languages)
        func optional(_ name: StaticString, _ value: String?) {
            if let value {
                key(name)
                w.string(value, asciiOnly: ascii)
            } else if style.nullsForAbsent {
                key(name)
                w.raw("null")
            }
        }
        optional("kb", record.kb)
        optional("bulletin", record.bulletin)
        optional("severity", record.severity)
        if !style.reordered {
            key("released")
            w.string(record.released, asciiOnly: ascii)
        }
        if let revised = record.revised {
            key("revised")
            w.string(revised, asciiOnly: ascii)
        } else if style.revisedNull || style.nullsForAbsent {
            key("revised")
            w.raw("null")
        }
        if !record.supersedes.isEmpty {
            key("supersedes")
            w.stringArray(style.uppercaseID ? record.supersedes.map { $0.uppercased() } : record.supersedes)
        } else if style.nullsForAbsent {
            key("supersedes")
            w.raw("null")
        }
        if record.expired || !style.expiredOmitted {
            key("expired")
            w.raw(record.expired ? "true" : "false")
        }
        if let size = record.size {
            key("size")
            w.integer(size)
        } else if style.nullsForAbsent {
            key("size")
            w.raw("null")
        }
        optional("url", record.url)
        optional("description", record.description)
        if style.extra == 2 || style.extra == 4 {
            w.raw(",")
            w.raw(extras[style.extra - 1])
        }
        if style.reordered { id() }
        w.raw("}\n")
    }
}
