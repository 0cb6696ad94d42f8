import SumsyncFormats
import SumsyncModel

extension FuzzTarget {
    /// The input as a catalog file: every line the reader hands out is parsed; a record must write back
    /// (``CatalogRecord/jsonLine()``) as one line that parses to the same record.
    static func catalogLine(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) -> Bool {
        let file = ScratchFile(input)
        // Small limits: the same code paths (a line over the limit, a partial line moved to the front)
        // with small inputs, and no 2 MiB buffer per input.
        guard
            let reader = try? CatalogLineReader(
                fileDescriptor: file.descriptor, name: "fuzz input", maxLineLength: 16_384, chunkSize: 4_096)
        else { return false }
        var violation: InvariantViolation?
        var records = 0
        // Lines that are not UTF-8 or too long are skipped (`skip-invalid = true`), so the rest are read too.
        let skip: (CatalogError) throws -> Void = { _ in }
        try? reader.forEachLine(
            onInvalidLine: skip,
            { number, bytes in
                guard violation == nil, let record = try? CatalogRecordParser.parse(bytes, line: number) else {
                    return
                }
                records += 1
                do throws(InvariantViolation) {
                    try checkRoundTrip(record, line: number)
                } catch {
                    violation = error
                }
            })
        if let violation { throw violation }
        return records > 0
    }

    private static func checkRoundTrip(_ record: CatalogRecord, line: Int) throws(InvariantViolation) {
        let written = record.jsonLine()
        try catalogLine.expect(
            !written.utf8.contains(0x0A) && !written.utf8.contains(0x0D),
            "line \(line): the record writes back with a line break: \(written)")
        let again: CatalogRecord
        do {
            again = try CatalogRecordParser.parse(written, line: line)
        } catch {
            throw InvariantViolation(
                catalogLine, "line \(line): the record's own line does not parse: \(error.message): \(written)")
        }
        try catalogLine.expect(
            again == record, "line \(line): parse(jsonLine()) differs: \(record) became \(again) via \(written)")
    }
}
