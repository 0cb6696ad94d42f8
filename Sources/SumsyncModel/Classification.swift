/// The update classifications upstream catalogs use; a config may select only these.
public enum Classification {
    /// Every classification name, as written in catalogs and configs.
    public static let all: [String] = [
        "Critical Updates", "Definition Updates", "Drivers", "Feature Packs", "Security Updates",
        "Service Packs", "Tools", "Update Rollups", "Updates", "Upgrades",
    ]

    /// The advisory types of RPM repositories (dnf's and Katello's words), which a config may select once
    /// an rpm source is configured.
    public static let rpmTypes: [String] = ["security", "bugfix", "enhancement", "newpackage"]

    /// Whether `name` is an advisory source's type: a lowercase word (`security`, `recommended`, …) of
    /// letters, digits, `.`, `_` and `-`, at most 64 bytes. RPM types are lowercased as read, so every
    /// type a repository publishes fits.
    public static func isAdvisoryType(_ name: some StringProtocol) -> Bool {
        let utf8 = name.utf8
        guard let first = utf8.first, utf8.count <= 64, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first)
        else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
    }
}
