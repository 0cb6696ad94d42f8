import SumsyncModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Parses and validates one catalog line into a `CatalogRecord`.
///
/// A single pass over the bytes with `JSONScanner`: each key is matched by length and `memcmp`, each
/// value is checked against its field's type as it is read, unknown fields are skipped without building
/// anything. Duplicate keys: every occurrence must be valid and the last one wins (as in most JSON
/// parsers); the sync engine separately resolves duplicate *ids* across lines by highest revision.
public enum CatalogRecordParser {
    /// Parses one line (its bytes without the newline; a trailing `\r` is whitespace and fine).
    ///
    /// - Throws: `CatalogError` with `line` set and a message naming what is wrong: invalid JSON (with the
    ///   1-based byte column), a value that is not an object, a missing required field, a field of the wrong
    ///   type or with an invalid value (GUID, revision, classification, languages, timestamps, severity).
    public static func parse(_ bytes: UnsafeRawBufferPointer, line: Int) throws(CatalogError) -> CatalogRecord {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw CatalogError(line: line, message: "empty line, expected a JSON object", code: .invalidJSON)
        }
        var scanner = JSONScanner(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, line: line)
        // Fill in a copy of a shared placeholder rather than build the record from locals at the end:
        // that made the optimiser copy the finished record (every string retained and released once
        // more per line). Copying the placeholder only touches immortal values.
        var record = placeholder
        try scanner.parseRecord(into: &record)
        return record
    }

    /// `parse` for a `String` (tests, tools); the sync engine uses the byte form via `CatalogLineReader`.
    public static func parse(_ line: String, line number: Int = 1) throws(CatalogError) -> CatalogRecord {
        var copy = line
        let result: Result<CatalogRecord, CatalogError> = copy.withUTF8 { utf8 in
            do throws(CatalogError) {
                return .success(try parse(UnsafeRawBufferPointer(utf8), line: number))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// The record every parse starts from; its values are all immortal, so copying it costs no allocation.
private let placeholder = CatalogRecord(
    id: "", revision: 0, title: "", product: "", classification: "", languages: [], released: "", releasedEpoch: 0)

/// The required fields seen so far on a line.
private struct RequiredFields: OptionSet {
    let rawValue: UInt8
    static let id = RequiredFields(rawValue: 1 << 0)
    static let revision = RequiredFields(rawValue: 1 << 1)
    static let title = RequiredFields(rawValue: 1 << 2)
    static let product = RequiredFields(rawValue: 1 << 3)
    static let classification = RequiredFields(rawValue: 1 << 4)
    static let languages = RequiredFields(rawValue: 1 << 5)
    static let released = RequiredFields(rawValue: 1 << 6)
    static let all: RequiredFields = [.id, .revision, .title, .product, .classification, .languages, .released]
    /// In the order a missing field is reported.
    static let names: [(RequiredFields, String)] = [
        (.id, "id"), (.revision, "revision"), (.title, "title"), (.product, "product"),
        (.classification, "classification"), (.languages, "languages"), (.released, "released"),
    ]
}

/// The fields a record knows; anything else is skipped.
private enum Field {
    case id, revision, title, product, classification, languages, kb, bulletin, severity, released, revised
    case supersedes, expired, size, url, description, source, advisory, cves, packages, rebootSuggested, digest
    case unknown
}

extension JSONScanner {
    /// Fills `record` (which starts as the placeholder) from the line.
    fileprivate mutating func parseRecord(into record: inout CatalogRecord) throws(CatalogError) {
        skipWhitespace()
        guard current == 0x7B else { throw notAnObject() }
        pos += 1
        var seen: RequiredFields = []  // a bit per required field

        skipWhitespace()
        if current == 0x7D {
            pos += 1
        } else {
            while true {
                guard current == 0x22 else { throw syntaxError("a field name in double quotes") }
                let key = try scanKey()
                skipWhitespace()
                guard current == 0x3A else { throw syntaxError("':' after the field name") }
                pos += 1
                skipWhitespace()
                switch key {
                case .id:
                    record.id = try guidValue("id")
                    seen.insert(.id)
                case .revision:
                    let value = try integerValue("revision", minimum: 1, expected: "an integer ≥ 1", nullable: false)
                    record.revision = Int(value!)
                    seen.insert(.revision)
                case .title:
                    record.title = try nonEmptyString("title")
                    seen.insert(.title)
                case .product:
                    record.product = try nonEmptyString("product")
                    seen.insert(.product)
                case .classification:
                    record.classification = try classificationValue()
                    seen.insert(.classification)
                case .languages:
                    record.languages = try languagesValue()
                    seen.insert(.languages)
                case .kb: record.kb = try optionalString("kb")
                case .bulletin: record.bulletin = try optionalString("bulletin")
                case .severity: record.severity = try severityValue()
                case .released:
                    let (text, epoch) = try timestampValue("released", nullable: false)!
                    record.released = text
                    record.releasedEpoch = epoch
                    seen.insert(.released)
                case .revised: record.revised = try timestampValue("revised", nullable: true)?.text
                case .supersedes: record.supersedes = try supersedesValue()
                case .expired: record.expired = try boolValue("expired")
                case .size:
                    record.size = try integerValue(
                        "size", minimum: 0, expected: "an integer ≥ 0 or null", nullable: true)
                case .url: record.url = try optionalString("url")
                case .description: record.description = try optionalString("description")
                case .source: record.source = try optionalString("source")
                case .advisory: record.advisory = try optionalString("advisory")
                case .cves: record.cves = try stringArrayValue("cves")
                case .packages: record.packages = try stringArrayValue("packages")
                case .rebootSuggested: record.rebootSuggested = try boolValue("reboot_suggested")
                case .digest:
                    record.digest = try integerValue(
                        "digest", minimum: Int64.min, expected: "an integer or null", nullable: true)
                case .unknown: try skipValue()
                }
                skipWhitespace()
                if current == 0x2C {
                    pos += 1
                    skipWhitespace()
                } else if current == 0x7D {
                    pos += 1
                    break
                } else {
                    throw syntaxError("',' or '}'")
                }
            }
        }
        skipWhitespace()
        guard pos == end else { throw syntaxError("the end of the line after the object") }
        if seen != .all, let (_, name) = RequiredFields.names.first(where: { !seen.contains($0.0) }) {
            throw missing(name)
        }
    }

    // MARK: Keys

    /// Reads a field name at the opening quote. Names are short plain ASCII, so the first one or two words
    /// usually show where the closing quote is, without the general string scanner.
    @inline(__always)
    private mutating func scanKey() throws(CatalogError) -> Field {
        let start = pos + 1
        if start + 16 <= end {
            var length = -1
            let first = Self.specialBytes(word(at: start))
            if first != 0 {
                length = first.trailingZeroBitCount >> 3
            } else {
                let second = Self.specialBytes(word(at: start + 8))
                if second != 0 { length = 8 + second.trailingZeroBitCount >> 3 }
            }
            if length >= 0, base[start + length] == 0x22 {
                pos = start + length + 1
                return field(at: start, count: length)
            }
        }
        let key = try scanString()
        return key.hasEscapes ? field(named: string(key)) : field(at: key.start, count: key.count)
    }

    private func field(at start: Int, count: Int) -> Field {
        let p = base + start
        @inline(__always) func eq(_ s: StaticString) -> Bool { memcmp(p, s.utf8Start, s.utf8CodeUnitCount) == 0 }
        switch count {
        case 2: return eq("id") ? .id : eq("kb") ? .kb : .unknown
        case 3: return eq("url") ? .url : .unknown
        case 4: return eq("size") ? .size : eq("cves") ? .cves : .unknown
        case 5: return eq("title") ? .title : .unknown
        case 6: return eq("source") ? .source : eq("digest") ? .digest : .unknown
        case 7: return eq("product") ? .product : eq("revised") ? .revised : eq("expired") ? .expired : .unknown
        case 8:
            return eq("revision")
                ? .revision
                : eq("released")
                    ? .released
                    : eq("bulletin")
                        ? .bulletin
                        : eq("severity")
                            ? .severity : eq("advisory") ? .advisory : eq("packages") ? .packages : .unknown
        case 9: return eq("languages") ? .languages : .unknown
        case 10: return eq("supersedes") ? .supersedes : .unknown
        case 11: return eq("description") ? .description : .unknown
        case 14: return eq("classification") ? .classification : .unknown
        case 16: return eq("reboot_suggested") ? .rebootSuggested : .unknown
        default: return .unknown
        }
    }

    /// The slow path for keys written with escapes (`"\u0069d"`), which JSON allows.
    private func field(named name: String) -> Field {
        switch name {
        case "id": .id
        case "revision": .revision
        case "title": .title
        case "product": .product
        case "classification": .classification
        case "languages": .languages
        case "kb": .kb
        case "bulletin": .bulletin
        case "severity": .severity
        case "released": .released
        case "revised": .revised
        case "supersedes": .supersedes
        case "expired": .expired
        case "size": .size
        case "url": .url
        case "description": .description
        case "source": .source
        case "advisory": .advisory
        case "cves": .cves
        case "packages": .packages
        case "reboot_suggested": .rebootSuggested
        case "digest": .digest
        default: .unknown
        }
    }

    // MARK: Errors

    private func missing(_ name: String) -> CatalogError {
        CatalogError(line: line, message: "missing required field \"\(name)\"")
    }

    private mutating func notAnObject() -> CatalogError {
        let found: String
        switch current {
        case 0x5B: found = "an array"
        case 0x22: found = "a string"
        case 0x2D, 0x30...0x39: found = "a number"
        case 0x74, 0x66: found = "a boolean"
        case 0x6E: found = "null"
        default: return syntaxError("a JSON object")
        }
        // Make sure it really is valid JSON of that kind before saying so.
        let start = pos
        do { try skipValue() } catch { return syntaxError("a JSON object", at: start) }
        return CatalogError(line: line, message: "expected a JSON object, found \(found)")
    }

    /// `"revision" must be an integer ≥ 1, found "x"`: skips the offending value to quote it.
    mutating func invalid(_ name: String, _ expected: String, from start: Int) -> CatalogError {
        pos = start
        do { try skipValue() } catch { return error }
        return CatalogError(line: line, message: "\"\(name)\" must be \(expected), found \(excerpt(start, pos))")
    }
}
