/// One package an advisory fixes, as `updateinfo.xml` lists it.
package struct RpmPackage: Sendable, Equatable, Hashable {
    package var name: String
    /// "0" when absent.
    package var epoch: String
    package var version: String
    package var release: String
    package var arch: String

    package init(name: String, epoch: String, version: String, release: String, arch: String) {
        self.name = name
        self.epoch = epoch
        self.version = version
        self.release = release
        self.arch = arch
    }

    /// `name-[epoch:]version-release.arch`, the epoch only when it is not 0.
    package var label: String {
        let shown = epoch.isEmpty || epoch == "0" ? "" : "\(epoch):"
        return "\(name)-\(shown)\(version)-\(release).\(arch)"
    }
}

/// One `<reference>` of an advisory.
package struct RpmReference: Sendable, Equatable {
    package var type: String
    package var id: String
    package var href: String
}

/// One `<update>` of `updateinfo.xml`, as written (mapping to an update is ``RpmAdvisoryMapping``).
package struct RpmAdvisory: Sendable {
    package var id = ""
    package var type = ""
    package var status = ""
    package var title = ""
    package var description: String?
    package var severity: String?
    package var issued: String?
    package var updated: String?
    package var references: [RpmReference] = []
    package var packages: [RpmPackage] = []
    /// The advisory or any package suggests a reboot.
    package var rebootSuggested = false
    /// The line its `<update>` starts on.
    package var line = 0

    package init() {}
}

/// Reads `updateinfo.xml` one advisory at a time with libxml2's streaming reader, in memory bounded by
/// the largest advisory (whose text fields and package list are capped too).
package final class UpdateInfoReader {
    /// Caps on one advisory, far beyond real ones (RHEL's largest list a few hundred packages).
    package static let maximumFieldBytes = 1 << 20
    package static let maximumPackages = 50_000

    private let xml: XMLStreamReader
    private var sawRoot = false

    package init(_ xml: XMLStreamReader) {
        self.xml = xml
    }

    private enum Capture {
        case none, id, title, description, severity, rebootSuggested
    }

    /// The next advisory; nil after the last.
    package func next() throws(XMLReadError) -> RpmAdvisory? {
        var advisory: RpmAdvisory?
        var capture = Capture.none
        var text = ""
        var depth = 0
        while let node = try xml.next() {
            switch node {
            case .start(let empty):
                guard advisory != nil else {
                    if xml.named("update") {
                        var fresh = RpmAdvisory()
                        fresh.type = xml.attribute("type") ?? ""
                        fresh.status = xml.attribute("status") ?? ""
                        fresh.line = xml.line
                        if empty { return try finished(fresh) }
                        advisory = fresh
                        depth = 0
                    } else if !sawRoot {
                        guard xml.named("updates") else {
                            throw error("expected <updates> as the document's root, found <\(xml.name)>")
                        }
                        sawRoot = true
                    }
                    continue
                }
                // This element's level below <update> (1: the advisory's own fields).
                let level = depth + 1
                if !empty { depth = level }
                if xml.named("package") {
                    guard advisory!.packages.count < Self.maximumPackages else {
                        throw error("advisory \(advisory!.id) lists more than \(Self.maximumPackages) packages")
                    }
                    let package = RpmPackage(
                        name: xml.attribute("name") ?? "", epoch: xml.attribute("epoch") ?? "0",
                        version: xml.attribute("version") ?? "", release: xml.attribute("release") ?? "",
                        arch: xml.attribute("arch") ?? "")
                    guard !package.name.isEmpty, !package.version.isEmpty else {
                        throw error("advisory \(advisory!.id): a <package> without name or version")
                    }
                    advisory!.packages.append(package)
                } else if xml.named("reference") {
                    advisory!.references.append(
                        RpmReference(
                            type: xml.attribute("type") ?? "", id: xml.attribute("id") ?? "",
                            href: xml.attribute("href") ?? ""))
                } else if xml.named("issued") {
                    advisory!.issued = xml.attribute("date")
                } else if xml.named("updated") {
                    advisory!.updated = xml.attribute("date")
                } else if xml.named("reboot_suggested") {
                    // The advisory's own or a package's; an empty element says yes.
                    if empty { advisory!.rebootSuggested = true } else { capture = .rebootSuggested }
                } else if level == 1 && !empty {
                    capture =
                        xml.named("id")
                        ? .id
                        : xml.named("title")
                            ? .title
                            : xml.named("description") ? .description : xml.named("severity") ? .severity : .none
                }
                text = ""
            case .text:
                guard capture != .none else { continue }
                guard text.utf8.count + xml.valueLength <= Self.maximumFieldBytes else {
                    throw error("advisory \(advisory?.id ?? "?"): a field longer than \(Self.maximumFieldBytes) bytes")
                }
                text += xml.value
            case .end:
                guard advisory != nil else { continue }
                if depth == 0 {
                    // </update>
                    return try finished(advisory!)
                }
                depth -= 1
                switch capture {
                case .none: break
                case .id: advisory!.id = text.trimmed
                case .title: advisory!.title = text.trimmed
                case .description: advisory!.description = text
                case .severity: advisory!.severity = text.trimmed
                case .rebootSuggested: if Self.isTrue(text) { advisory!.rebootSuggested = true }
                }
                capture = .none
            case .other:
                continue
            }
        }
        guard advisory == nil else { throw error("the document ends inside advisory \(advisory!.id)") }
        guard sawRoot else { throw error("the document has no <updates> element") }
        return nil
    }

    /// Anything but `False`, `0` or `no`: createrepo_c and libsolv take the element's presence as yes
    /// (even `False`, which sumsync reads as no).
    private static func isTrue(_ text: String) -> Bool {
        switch text.trimmed.lowercased() {
        case "false", "0", "no": false
        default: true
        }
    }

    private func finished(_ advisory: RpmAdvisory) throws(XMLReadError) -> RpmAdvisory {
        guard !advisory.id.isEmpty else {
            throw XMLReadError(
                document: xml.document, line: advisory.line, column: 0, message: "an <update> without an <id>")
        }
        return advisory
    }

    private func error(_ message: String) -> XMLReadError {
        XMLReadError(document: xml.document, line: xml.line, column: xml.column, message: message)
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and newlines.
    package var trimmed: String {
        let spaces: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !spaces($0) }), let last = lastIndex(where: { !spaces($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
