import SumsyncFormats
import SumsyncModel

/// What the generator writes: products, classifications, titles and the per-update draws.
/// Proportions follow a real WSUS catalog loosely: security and quality updates for Windows dominate,
/// Defender ships definition updates, drivers are numerous and small, service packs and tools are rare.
extension CatalogGenerator {
    enum Kind { case client, server, office, edge, defender, sql, dotnet, exchange, sharepoint, devtools, drivers }

    struct Product {
        var name: String
        var kind: Kind
        var weight: Int
    }

    static let products: [Product] = [
        .init(name: "Windows 10", kind: .client, weight: 60),
        .init(name: "Windows 10, version 1903 and later", kind: .client, weight: 50),
        .init(name: "Windows 10 LTSB", kind: .client, weight: 12),
        .init(name: "Windows 10 LTSC 2021", kind: .client, weight: 12),
        .init(name: "Windows 11", kind: .client, weight: 60),
        .init(name: "Windows 11 Version 22H2", kind: .client, weight: 25),
        .init(name: "Windows 11 Version 23H2", kind: .client, weight: 30),
        .init(name: "Windows 11 Version 24H2", kind: .client, weight: 35),
        .init(name: "Windows Server 2016", kind: .server, weight: 30),
        .init(name: "Windows Server 2019", kind: .server, weight: 35),
        .init(name: "Windows Server 2022", kind: .server, weight: 35),
        .init(name: "Windows Server 2025", kind: .server, weight: 20),
        .init(name: "Windows Server, version 1903 and later", kind: .server, weight: 10),
        .init(name: "Microsoft 365 Apps", kind: .office, weight: 35),
        .init(name: "Office 2016", kind: .office, weight: 40),
        .init(name: "Office 2019", kind: .office, weight: 20),
        .init(name: "Office 2021", kind: .office, weight: 15),
        .init(name: "Office LTSC 2024", kind: .office, weight: 8),
        .init(name: "Microsoft Edge", kind: .edge, weight: 30),
        .init(name: "Microsoft Defender Antivirus", kind: .defender, weight: 45),
        .init(name: "Microsoft Defender for Endpoint", kind: .defender, weight: 10),
        .init(name: "Windows Defender", kind: .defender, weight: 15),
        .init(name: "SQL Server 2016", kind: .sql, weight: 8),
        .init(name: "SQL Server 2017", kind: .sql, weight: 8),
        .init(name: "SQL Server 2019", kind: .sql, weight: 10),
        .init(name: "SQL Server 2022", kind: .sql, weight: 10),
        .init(name: ".NET Framework 4.8", kind: .dotnet, weight: 20),
        .init(name: ".NET 6.0", kind: .dotnet, weight: 8),
        .init(name: ".NET 8.0", kind: .dotnet, weight: 12),
        .init(name: ".NET 9.0", kind: .dotnet, weight: 6),
        .init(name: "Exchange Server 2016", kind: .exchange, weight: 6),
        .init(name: "Exchange Server 2019", kind: .exchange, weight: 8),
        .init(name: "SharePoint Server 2019", kind: .sharepoint, weight: 6),
        .init(name: "SharePoint Server Subscription Edition", kind: .sharepoint, weight: 5),
        .init(name: "Visual Studio 2022", kind: .devtools, weight: 8),
        .init(name: "System Center Configuration Manager", kind: .devtools, weight: 4),
        .init(name: "Windows Admin Center", kind: .devtools, weight: 3),
        .init(name: "PowerShell 7", kind: .devtools, weight: 3),
        .init(name: "Windows 10 and later drivers", kind: .drivers, weight: 70),
        .init(name: "Windows Server 2016 and later drivers", kind: .drivers, weight: 15),
    ]
    static let productWeights = products.map(\.weight)

    /// Indexes into `CatalogRecord.classifications`:
    /// 0 Critical, 1 Definition, 2 Drivers, 3 Feature Packs, 4 Security, 5 Service Packs, 6 Tools,
    /// 7 Update Rollups, 8 Updates, 9 Upgrades.
    static func classificationWeights(_ kind: Kind) -> [Int] {
        switch kind {
        case .defender: return [4, 90, 0, 0, 2, 0, 1, 0, 3, 0]
        case .drivers: return [0, 0, 100, 0, 0, 0, 0, 0, 0, 0]
        case .client: return [6, 0, 1, 2, 46, 0, 3, 6, 28, 8]
        case .server: return [6, 0, 1, 3, 48, 1, 2, 9, 28, 2]
        default: return [8, 0, 0, 4, 46, 4, 2, 8, 28, 0]
        }
    }

    static let languageCodes = ["en", "de", "fr", "ja", "es", "it", "zh-cn", "pt-br", "ko", "nl", "sv", "pl"]
    static let languageNames = [
        "English", "Deutsch", "Français", "日本語", "Español", "Italiano", "中文(简体)", "Português (Brasil)",
        "한국어", "Nederlands", "Svenska", "Polski",
    ]

    static let driverVendors = [
        "Intel Corporation", "Realtek Semiconductor Corp.", "NVIDIA", "Advanced Micro Devices, Inc.",
        "Logitech", "Synaptics", "Broadcom", "Qualcomm", "HP Inc. \"Universal\" Print", "Lenovo",
        "Dell \\ Alienware", "Société Générale d'Électronique",
    ]
    static let driverClasses = ["Display", "Net", "System", "Extension", "Printer", "MEDIA", "Bluetooth", "USB"]

    static let descriptions = [
        "Install this update to resolve issues in Windows. For a complete listing of the issues that are "
            + "included in this update, see the associated Microsoft Knowledge Base article for more "
            + "information. After you install this item, you may have to restart your computer.",
        "A security issue has been identified in a Microsoft software product that could affect your system. "
            + "You can help protect your system by installing this update from Microsoft. After you install "
            + "this update, you may have to restart your system.",
        "Install this update to revise the files that are used to detect viruses, spyware, and other "
            + "potentially unwanted software. Once you have installed this item, it cannot be removed.",
        "This driver was provided by the hardware vendor for devices that match its \"hardware ID\". "
            + "Files are installed under C:\\Windows\\System32\\DriverStore.",
        "Microsoft has released an update for this product. This update provides the latest fixes. "
            + "Additionally, this update contains stability and performance improvements.",
        "Cette mise à jour corrige des problèmes de fiabilité — redémarrage nécessaire.",
    ]

    /// The catalog's time span: releases spread from 2018-01-01 to 2026-11-30, roughly in index order.
    static let firstRelease: Int64 = 1_514_764_800
    static let lastRelease: Int64 = 1_796_083_200

    /// Draws one update. `ordinal` places its release date within the span; `rng` is the update's own
    /// generator, so an update's content does not depend on how many draws other updates made.
    static func makeRecord(
        id: String, ordinal: Double, rng: inout CatalogRandom
    ) -> (record: CatalogRecord, productIndex: Int, style: Style) {
        let productIndex = rng.weighted(productWeights)
        let product = products[productIndex]
        let classificationIndex = rng.weighted(classificationWeights(product.kind))
        let classification = CatalogRecord.classifications[classificationIndex]

        let span = Double(lastRelease - firstRelease)
        let jitter = Int64(rng.inRange(-20 * 86_400...20 * 86_400))
        let released = min(lastRelease, max(firstRelease, firstRelease + Int64(ordinal * span) + jitter))

        var languages = ["all"]
        var languageName: String?
        if rng.chance(perMille: 150) {
            var picked: [Int] = []
            for _ in 0..<rng.inRange(1...3) {
                let code = rng.below(languageCodes.count)
                if !picked.contains(code) { picked.append(code) }
            }
            languages = picked.map { languageCodes[$0] }
            languageName = languageNames[picked[0]]
        }

        let kbNumber = 5_000_000 + rng.below(100_000)
        let hasKB = classificationIndex != 2 && !rng.chance(perMille: 30)
        var title = makeTitle(product, classificationIndex, kbNumber: kbNumber, released: released, rng: &rng)
        if let languageName { title += " - \(languageName)" }
        if rng.chance(perMille: 20) { title += " \"Preview\"" }

        var severity: String?
        if classificationIndex == 4 {
            severity = CatalogRecord.severities[rng.weighted([35, 55, 7, 3])]
        } else if classificationIndex == 0, rng.chance(perMille: 300) {
            severity = "Critical"
        }
        let bulletin: String? =
            classificationIndex == 4 && rng.chance(perMille: 600) ? bulletinName(released) : nil
        let revisionDraw = rng.below(1_000)
        let revision = 1 + revisionDraw * revisionDraw * revisionDraw / 3_336_669  // skewed to small, max 300
        let revised: Int64? = revision > 1 ? released + Int64(rng.inRange(3_600...90 * 86_400)) : nil

        var style = Style(rng: &rng)
        let size: Int64? =
            rng.chance(perMille: 900)
            ? Int64(classificationIndex == 2 ? rng.inRange(50_000...60_000_000) : rng.inRange(200_000...1_200_000_000))
            : nil
        let url = hasKB ? "https://support.example.com/kb/\(kbNumber)" : "https://catalog.example.com/update/\(id)"
        let description: String? =
            rng.chance(perMille: 700) ? descriptions[rng.below(descriptions.count)] : nil
        if revised == nil { style.revisedNull = false }

        let record = CatalogRecord(
            id: id, revision: revision, title: title, product: product.name, classification: classification,
            languages: languages, kb: hasKB ? "KB\(kbNumber)" : nil, bulletin: bulletin, severity: severity,
            released: style.timestamp(released), releasedEpoch: released,
            revised: revised.map { style.timestamp($0) }, supersedes: [],
            expired: rng.chance(perMille: 50), size: size, url: url, description: description)
        return (record, productIndex, style)
    }

    private static func makeTitle(
        _ product: Product, _ classification: Int, kbNumber: Int, released: Int64, rng: inout CatalogRandom
    ) -> String {
        let month = String(RFC3339.format(epochSeconds: released).prefix(7))
        let arch = product.kind == .client ? rng.element(["x64", "ARM64", "x86"]) : "x64"
        let name = product.name
        switch (classification, product.kind) {
        case (1, _):
            return
                "Security Intelligence Update for \(name) - KB2267602 (Version 1.\(rng.inRange(300...425)).\(rng.below(2_000)).0)"
        case (2, _):
            return
                "\(rng.element(driverVendors)) - \(rng.element(driverClasses)) - \(rng.inRange(1...31)).\(rng.below(100)).\(rng.below(10_000)).\(rng.below(10_000))"
        case (4, .client), (4, .server), (8, .client), (8, .server):
            let what = classification == 4 ? "Cumulative Update" : "Update"
            return "\(month) \(what) for \(name) for \(arch)-based Systems (KB\(kbNumber))"
        case (4, .office):
            return "Security Update for Microsoft \(name) (KB\(kbNumber)) \(rng.element(["32", "64"]))-Bit Edition"
        case (4, .edge), (8, .edge):
            return
                "Microsoft Edge-Stable Channel Version \(rng.inRange(100...131)).0.\(rng.inRange(1_000...2_999)).\(rng.below(200))"
        case (4, .dotnet):
            return "\(month) Security and Quality Rollup for \(name) for \(arch) (KB\(kbNumber))"
        case (4, _): return "Security Update for \(name) (KB\(kbNumber))"
        case (0, _): return "Critical Update for \(name) (KB\(kbNumber))"
        case (3, _): return "Feature Pack for \(name) (KB\(kbNumber))"
        case (5, _): return "Service Pack \(rng.inRange(1...3)) for \(name) (KB\(kbNumber))"
        case (6, _): return "Windows Malicious Software Removal Tool \(arch) - v5.\(rng.inRange(60...130)) (KB890830)"
        case (7, _): return "Update Rollup \(rng.inRange(1...30)) for \(name) (KB\(kbNumber))"
        case (9, _): return "Feature update to \(name), version \(rng.element(["22H2", "23H2", "24H2", "25H2"]))"
        default: return "Update for \(name) (KB\(kbNumber))"
        }
    }

    private static func bulletinName(_ released: Int64) -> String {
        let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        let text = RFC3339.format(epochSeconds: released)
        let year = text.dropFirst(2).prefix(2)
        let month = Int(text.dropFirst(5).prefix(2))!
        return "MS\(year)-\(months[month - 1])"
    }
}
