import SumsyncFormats

extension FuzzTarget {
    /// The input as `updateinfo.xml`: every advisory read until the end or the first error. Each must
    /// keep the reader's promises (a package has a name and a version, fields within their cap) and its
    /// packages' labels compare as rpm's labels do (see ``rpmVersion(_:)``).
    static func updateinfo(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) -> Bool {
        guard let xml = try? XMLStreamReader(bytes: Array(input), document: "updateinfo.xml") else { return false }
        let reader = UpdateInfoReader(xml)
        var advisories = 0
        while let advisory = try? reader.next() {
            advisories += 1
            for field in [advisory.id, advisory.title, advisory.description ?? ""] {
                try updateinfo.expect(
                    field.utf8.count <= UpdateInfoReader.maximumFieldBytes,
                    "advisory \(advisory.id): a field of \(field.utf8.count) bytes")
            }
            try updateinfo.expect(
                advisory.packages.count <= UpdateInfoReader.maximumPackages,
                "advisory \(advisory.id): \(advisory.packages.count) packages")
            for package in advisory.packages {
                try updateinfo.expect(
                    !package.name.isEmpty && !package.version.isEmpty,
                    "advisory \(advisory.id): a package without name or version: \(package)")
                try checkComparison(package.label, package.label, target: updateinfo)
            }
        }
        return advisories > 0
    }

    /// The input as `repomd.xml`: its entries, with checksums and their types lowercased as promised.
    static func repomd(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) -> Bool {
        guard let entries = try? Repomd.entries(Array(input), document: "repomd.xml") else { return false }
        for entry in entries {
            try repomd.expect(
                entry.checksum == entry.checksum.lowercased() && entry.checksumType == entry.checksumType.lowercased(),
                "entry \(entry.type): checksum \(entry.checksumType) \(entry.checksum) not lowercased")
        }
        return !entries.isEmpty
    }

    /// The input as one OSV record: the required fields, once read, hold something, and an affected
    /// entry names its package whole (ecosystem and name) or not at all (`package` is optional in OSV).
    static func osv(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) -> Bool {
        guard let record = try? OSVRecordParser.parse(input) else { return false }
        try osv.expect(!record.id.isEmpty, "a record without an id was read")
        for affected in record.affected {
            try osv.expect(
                affected.ecosystem.isEmpty == affected.name.isEmpty,
                "record \(record.id): an affected package with only one of ecosystem and name: \(affected)")
        }
        return true
    }

    /// The input as up to three version labels, one a line: rpm's comparison of each pair must be
    /// antisymmetric (`a < b` exactly when `b > a`) and each equal to itself, both as plain versions and
    /// as `epoch:version-release` labels.
    static func rpmVersion(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) -> Bool {
        let labels = FuzzInput.fields(input, count: 3).map { String(decoding: $0, as: UTF8.self) }
        for a in labels {
            for b in labels { try checkComparison(a, b, target: rpmVersion) }
        }
        return labels.allSatisfy { !$0.isEmpty }
    }

    private static func checkComparison(_ a: String, _ b: String, target: FuzzTarget) throws(InvariantViolation) {
        let plain = (RpmVersion.compare(a, b), RpmVersion.compare(b, a))
        try target.expect(
            (-1...1).contains(plain.0) && plain.0 == -plain.1,
            "compare('\(a)', '\(b)') = \(plain.0) but compare('\(b)', '\(a)') = \(plain.1)")
        try target.expect(RpmVersion.compare(a, a) == 0, "compare('\(a)', '\(a)') = \(RpmVersion.compare(a, a))")
        let (x, y) = (RpmVersion.EVR(label: a), RpmVersion.EVR(label: b))
        let labelled = (RpmVersion.EVR.compare(x, y), RpmVersion.EVR.compare(y, x))
        try target.expect(
            (-1...1).contains(labelled.0) && labelled.0 == -labelled.1,
            "EVR '\(a)' against '\(b)' = \(labelled.0), the other way \(labelled.1)")
        try target.expect((x < y) == (labelled.0 < 0), "EVR '\(a)' < '\(b)' disagrees with compare")
    }
}
