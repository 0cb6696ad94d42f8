import CLibXML2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An XML document that cannot be read, with where: libxml2's line and column.
package struct XMLReadError: Error, Sendable, CustomStringConvertible {
    /// How messages name the document (its file or URL).
    package var document: String
    package var line: Int
    package var column: Int
    package var message: String

    package init(document: String, line: Int, column: Int, message: String) {
        self.document = document
        self.line = line
        self.column = column
        self.message = message
    }

    package var description: String {
        column > 0 ? "\(document) line \(line) column \(column): \(message)" : "\(document) line \(line): \(message)"
    }
}

/// libxml2's streaming reader (`xmlTextReader`) over a ``FileDecompressor`` or bytes in memory: one node
/// at a time, in bounded memory, never loading the network, a DTD or external entities.
package final class XMLStreamReader {
    /// The node kinds the readers act on (libxml2's `xmlReaderTypes`).
    package enum Node {
        case start(empty: Bool)
        case end
        case text
        case other
    }

    package let document: String
    private let reader: OpaquePointer
    private let sink: ErrorSink
    /// Kept alive while libxml2 reads from it.
    private let source: FileDecompressor?
    private let memory: UnsafeMutableRawBufferPointer?

    /// What libxml2 reported last, as it reported it.
    private final class ErrorSink {
        var message: String?
        var line = 0
        var column = 0
    }

    private static let options = Int32(
        XML_PARSE_NONET.rawValue | XML_PARSE_COMPACT.rawValue | XML_PARSE_BIG_LINES.rawValue)

    /// Reads the decompressed bytes of `source`; `document` names it in messages.
    package init(source: FileDecompressor, document: String) throws(XMLReadError) {
        self.document = document
        self.source = source
        self.memory = nil
        sink = ErrorSink()
        let read: xmlInputReadCallback = { context, buffer, length in
            guard let context, let buffer, length > 0 else { return -1 }
            let source = Unmanaged<FileDecompressor>.fromOpaque(context).takeUnretainedValue()
            do {
                return Int32(try source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(length))))
            } catch {
                return -1
            }
        }
        let close: xmlInputCloseCallback = { _ in 0 }
        guard
            let reader = xmlReaderForIO(
                read, close, Unmanaged.passUnretained(source).toOpaque(), document, nil, Self.options)
        else {
            throw XMLReadError(document: document, line: 0, column: 0, message: "libxml2 cannot start a reader")
        }
        self.reader = reader
        installErrorHandler()
    }

    /// Reads `bytes` (copied: libxml2 reads them after this returns).
    package init(bytes: [UInt8], document: String) throws(XMLReadError) {
        self.document = document
        self.source = nil
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        memory.copyBytes(from: bytes)
        self.memory = memory
        sink = ErrorSink()
        guard
            let reader = xmlReaderForMemory(
                memory.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(bytes.count), document, nil,
                Self.options)
        else {
            memory.deallocate()
            throw XMLReadError(document: document, line: 0, column: 0, message: "libxml2 cannot start a reader")
        }
        self.reader = reader
        installErrorHandler()
    }

    private func installErrorHandler() {
        let handler: xmlStructuredErrorFunc = { context, error in
            guard let context, let error else { return }
            let sink = Unmanaged<ErrorSink>.fromOpaque(context).takeUnretainedValue()
            // The first error is the cause; libxml2 may report follow-on ones.
            guard sink.message == nil else { return }
            let text = error.pointee.message.map { String(cString: $0) } ?? "error \(error.pointee.code)"
            sink.message = text.trimmingTrailingNewlines()
            sink.line = Int(error.pointee.line)
            sink.column = Int(error.pointee.int2)
        }
        xmlTextReaderSetStructuredErrorHandler(reader, handler, Unmanaged.passUnretained(sink).toOpaque())
    }

    deinit {
        xmlFreeTextReader(reader)
        memory?.deallocate()
    }

    /// Moves to the next node; nil at the document's end.
    package func next() throws(XMLReadError) -> Node? {
        switch xmlTextReaderRead(reader) {
        case 1:
            switch xmlTextReaderNodeType(reader) {
            case Int32(XML_READER_TYPE_ELEMENT.rawValue): return .start(empty: xmlTextReaderIsEmptyElement(reader) == 1)
            case Int32(XML_READER_TYPE_END_ELEMENT.rawValue): return .end
            case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue): return .text
            default: return .other
            }
        case 0: return nil
        default: throw failure()
        }
    }

    /// The error that stopped reading: the decompressor's, else libxml2's with its line and column.
    private func failure() -> XMLReadError {
        if let problem = source?.failure {
            return XMLReadError(document: document, line: line, column: 0, message: problem.message)
        }
        if let message = sink.message {
            return XMLReadError(document: document, line: sink.line, column: sink.column, message: message)
        }
        return XMLReadError(document: document, line: line, column: 0, message: "the XML cannot be read")
    }

    /// Whether the current node's local name is `name`.
    @inline(__always)
    package func named(_ name: StaticString) -> Bool {
        guard let local = xmlTextReaderConstLocalName(reader) else { return false }
        return memcmp(local, name.utf8Start, name.utf8CodeUnitCount + 1) == 0
    }

    /// The current node's local name.
    package var name: String {
        xmlTextReaderConstLocalName(reader).map { String(cString: $0) } ?? ""
    }

    /// The current text node's value.
    package var value: String {
        xmlTextReaderConstValue(reader).map { String(cString: $0) } ?? ""
    }

    /// The current text node's length in bytes.
    package var valueLength: Int {
        xmlTextReaderConstValue(reader).map { strlen($0) } ?? 0
    }

    /// The value of the current element's attribute `name`; nil when it has none.
    package func attribute(_ name: StaticString) -> String? {
        let found = name.utf8Start.withMemoryRebound(to: xmlChar.self, capacity: name.utf8CodeUnitCount + 1) {
            xmlTextReaderMoveToAttribute(reader, $0) == 1
        }
        guard found else { return nil }
        defer { xmlTextReaderMoveToElement(reader) }
        return xmlTextReaderConstValue(reader).map { String(cString: $0) } ?? ""
    }

    /// The line of the current node (where its start tag is), else the parser's.
    package var line: Int {
        if let node = xmlTextReaderCurrentNode(reader) {
            let line = xmlGetLineNo(node)
            if line > 0 { return Int(line) }
        }
        return Int(xmlTextReaderGetParserLineNumber(reader))
    }

    /// The column the reader is at.
    package var column: Int { Int(xmlTextReaderGetParserColumnNumber(reader)) }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        return text
    }
}
