/// The update classifications upstream catalogs use; a config may select only these.
public enum Classification {
    /// Every classification name, as written in catalogs and configs.
    public static let all: [String] = [
        "Critical Updates", "Definition Updates", "Drivers", "Feature Packs", "Security Updates",
        "Service Packs", "Tools", "Update Rollups", "Updates", "Upgrades",
    ]
}
