import Foundation
import SumsyncFormats
import SumsyncModel

/// How an OSV record becomes updates: one per ecosystem it affects (the table in docs/sources.md).
package enum OSVMapping {
    /// Ecosystems whose packages install as `name=version` (apt, apk).
    static let equalsFamilies: Set<String> = ["Debian", "Ubuntu", "Alpine"]
    /// RPM-based ecosystems: `name-version`, as yum and dnf take it.
    static let rpmFamilies: Set<String> = [
        "AlmaLinux", "Rocky Linux", "Red Hat", "SUSE", "openSUSE", "Mageia", "openEuler", "Azure Linux",
        "Oracle Linux", "Photon OS", "CentOS", "Fedora", "openCloudOS", "OpenCloudOS", "TencentOS", "Amazon Linux",
    ]

    /// The updates of `record` from source `source`, for the ecosystems `keeps` accepts, revision 1.
    package static func records(
        _ record: OSVRecord, source: String, keeps: (String) -> Bool
    ) -> [CatalogRecord] {
        var ecosystems: [String] = []
        for item in record.affected where !item.ecosystem.isEmpty && keeps(item.ecosystem) {
            if !ecosystems.contains(item.ecosystem) { ecosystems.append(item.ecosystem) }
        }
        guard !ecosystems.isEmpty else { return [] }
        let firstLine = record.details.map { details in
            String(Substring(details.utf8.prefix { $0 != 0x0A })).trimmed
        }
        let title =
            record.summary.map(\.trimmed).flatMap { $0.isEmpty ? nil : $0 }
            ?? firstLine.flatMap { $0.isEmpty ? nil : $0 } ?? record.id
        var cves: [String] = []
        for alias in record.aliases + record.upstream where alias.hasPrefix("CVE-") && !cves.contains(alias) {
            cves.append(alias)
        }
        let url =
            record.references.first { $0.type == "ADVISORY" && !$0.url.isEmpty }?.url
            ?? record.references.first { $0.type == "WEB" && !$0.url.isEmpty }?.url
        let released = record.published ?? record.modified
        let classification = classification(of: record.id)
        let ownWord = ownSeverity(record)
        return ecosystems.map { ecosystem in
            let items = record.affected.filter { $0.ecosystem == ecosystem }
            var packages: Set<String> = []
            for item in items {
                for version in item.fixed {
                    packages.insert(label(ecosystem: ecosystem, name: item.name, version: version))
                }
            }
            return CatalogRecord(
                id: RpmAdvisoryMapping.id(format: "osv", product: ecosystem, advisory: record.id), revision: 1,
                title: title, product: ecosystem, classification: classification, languages: ["all"],
                severity: ownWord ?? scoredSeverity(record, items), released: RFC3339.format(epochSeconds: released),
                releasedEpoch: released, revised: RFC3339.format(epochSeconds: record.modified),
                expired: record.withdrawn != nil, url: url, description: record.details, source: source,
                advisory: record.id, cves: cves, packages: packages.sorted())
        }
    }

    /// `security`, unless the id's prefix says bugfix (RHBA, ALBA, RLBA) or enhancement (RHEA, ALEA, RLEA).
    package static func classification(of id: String) -> String {
        switch id.split(separator: "-", maxSplits: 1).first {
        case "RHBA", "ALBA", "RLBA": "bugfix"
        case "RHEA", "ALEA", "RLEA": "enhancement"
        default: "security"
        }
    }

    /// The record's own word: `database_specific.severity`, else a `severity[]` entry of type `Ubuntu`.
    static func ownSeverity(_ record: OSVRecord) -> String? {
        if let word = RpmAdvisoryMapping.severity(record.databaseSeverity) { return word }
        for entry in record.severity where entry.type == "Ubuntu" {
            if let word = RpmAdvisoryMapping.severity(entry.score) { return word }
        }
        return nil
    }

    /// From the highest CVSS v2 or v3 base score of the record and its ecosystem's affected entries.
    static func scoredSeverity(_ record: OSVRecord, _ items: [OSVRecord.Affected]) -> String? {
        var best: Double?
        for entry in record.severity + items.flatMap(\.severity)
        where entry.type == "CVSS_V3" || entry.type == "CVSS_V2" {
            if let score = CVSS.baseScore(entry.score) { best = max(best ?? score, score) }
        }
        return best.map { CVSS.severity(score: $0) }
    }

    /// A package at its fixed version, written the way its ecosystem installs it: `name=version` for
    /// Debian, Ubuntu and Alpine, `name-version` for RPM-based ones, `name@version` for the rest.
    package static func label(ecosystem: String, name: String, version: String) -> String {
        let family = ecosystem.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ecosystem
        if equalsFamilies.contains(family) { return "\(name)=\(version)" }
        if rpmFamilies.contains(family) { return "\(name)-\(version)" }
        return "\(name)@\(version)"
    }
}
