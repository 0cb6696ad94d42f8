/// The products, classifications and languages the hierarchy keeps (`[sync]`); empty lists keep all.
public struct UpdateFilter: Sendable, Equatable, Codable {
    public var products: [String]
    public var classifications: [String]
    public var languages: [String]

    private let productSet: Set<String>
    private let classificationSet: Set<String>
    private let languageSet: Set<String>

    public init(products: [String] = [], classifications: [String] = [], languages: [String] = []) {
        self.products = products
        self.classifications = classifications
        self.languages = languages
        self.productSet = Set(products)
        self.classificationSet = Set(classifications)
        self.languageSet = Set(languages.map { $0.lowercased() })
    }

    public init(_ settings: SyncSettings) {
        self.init(products: settings.products, classifications: settings.classifications, languages: settings.languages)
    }

    enum CodingKeys: String, CodingKey { case products, classifications, languages }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            products: try container.decode([String].self, forKey: .products),
            classifications: try container.decode([String].self, forKey: .classifications),
            languages: try container.decode([String].self, forKey: .languages)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(products, forKey: .products)
        try container.encode(classifications, forKey: .classifications)
        try container.encode(languages, forKey: .languages)
    }

    public static func == (lhs: UpdateFilter, rhs: UpdateFilter) -> Bool {
        lhs.productSet == rhs.productSet && lhs.classificationSet == rhs.classificationSet
            && lhs.languageSet == rhs.languageSet
    }

    /// Keep an update iff its product is selected (or none are), its classification is selected (or none
    /// are), and its languages contain a selected language or `all` (or none are selected).
    public func keeps(product: String, classification: String, languages: [String]) -> Bool {
        if !productSet.isEmpty && !productSet.contains(product) { return false }
        if !classificationSet.isEmpty && !classificationSet.contains(classification) { return false }
        if !languageSet.isEmpty {
            return languages.contains { $0.lowercased() == "all" || languageSet.contains($0.lowercased()) }
        }
        return true
    }

    /// A stable text naming the selection, stored with the catalog so a changed filter is noticed.
    public var fingerprint: String {
        "products=\(productSet.sorted().joined(separator: "|"));classifications=\(classificationSet.sorted().joined(separator: "|"));languages=\(languageSet.sorted().joined(separator: "|"))"
    }
}
