/// What a site does in its hierarchy, worked out once per config load: where its updates come from.
///
/// A daemon takes its role at start; a reload that would change it is refused (restart to apply), since
/// the listeners, schedule and links of a top-level site and of a child differ.
public enum SiteRole: Sendable, Equatable, CustomStringConvertible {
    /// The top-level site, syncing from its upstream sources on a schedule or on demand.
    case top
    /// The top-level site of a disconnected hierarchy: it syncs by importing bundles only.
    case disconnectedTop
    /// A child site, pulling from `parent`.
    case child(parent: SiteCode)

    /// The parent a child pulls from; nil at the top.
    public var parent: SiteCode? {
        if case .child(let parent) = self { return parent }
        return nil
    }

    /// `the top-level site`, `the disconnected top-level site`, `a child of CAS`.
    public var description: String {
        switch self {
        case .top: "the top-level site"
        case .disconnectedTop: "the disconnected top-level site"
        case .child(let parent): "a child of \(parent)"
        }
    }
}

extension HierarchyConfig {
    /// The role of the site `code`; nil when the config does not list it.
    public func role(of code: SiteCode) -> SiteRole? {
        guard let site = site(code) else { return nil }
        if let parent = site.parent { return .child(parent: parent) }
        return upstream.disconnected ? .disconnectedTop : .top
    }
}
