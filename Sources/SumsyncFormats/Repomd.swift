/// One `<data>` entry of `repodata/repomd.xml`: where a metadata file lies and what it must hash to.
package struct RepomdEntry: Sendable, Equatable {
    /// `primary`, `updateinfo`, …
    package var type: String
    /// The `location href`, relative to the repository's base.
    package var location: String
    /// The checksum's algorithm as written (`sha256`, `sha512`, `sha1`, `sha`) and its hex value.
    package var checksumType: String
    package var checksum: String
    /// The compressed size, when stated.
    package var size: Int64?
    /// The decompressed size, when stated.
    package var openSize: Int64?
}

/// `repodata/repomd.xml`, read with libxml2.
package enum Repomd {
    /// The entries of the document `bytes`; `document` names it in messages.
    package static func entries(_ bytes: [UInt8], document: String) throws(XMLReadError) -> [RepomdEntry] {
        let xml = try XMLStreamReader(bytes: bytes, document: document)
        var entries: [RepomdEntry] = []
        var current: RepomdEntry?
        var field: String?
        var text = ""
        var sawRoot = false
        while let node = try xml.next() {
            switch node {
            case .start(let empty):
                if !sawRoot {
                    guard xml.named("repomd") else {
                        throw XMLReadError(
                            document: document, line: xml.line, column: xml.column,
                            message: "expected <repomd> as the document's root, found <\(xml.name)>")
                    }
                    sawRoot = true
                } else if xml.named("data") {
                    current = RepomdEntry(
                        type: xml.attribute("type") ?? "", location: "", checksumType: "", checksum: "")
                    if empty, let entry = current {
                        entries.append(entry)
                        current = nil
                    }
                } else if current != nil {
                    if xml.named("location") {
                        current!.location = xml.attribute("href") ?? ""
                    } else if xml.named("checksum") {
                        current!.checksumType = (xml.attribute("type") ?? "").lowercased()
                        field = "checksum"
                    } else if xml.named("size") {
                        field = "size"
                    } else if xml.named("open-size") {
                        field = "open-size"
                    } else {
                        field = nil
                    }
                    text = ""
                    if empty { field = nil }
                }
            case .text:
                if field != nil { text += xml.value }
            case .end:
                if xml.named("data"), let entry = current {
                    entries.append(entry)
                    current = nil
                } else if let name = field, current != nil {
                    let value = text.trimmed
                    switch name {
                    case "checksum": current!.checksum = value.lowercased()
                    case "size": current!.size = Int64(value)
                    default: current!.openSize = Int64(value)
                    }
                    field = nil
                }
            case .other:
                continue
            }
        }
        guard sawRoot else {
            throw XMLReadError(document: document, line: 1, column: 0, message: "the document has no <repomd> element")
        }
        return entries
    }
}
