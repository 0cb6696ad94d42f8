/// What a site does in its hierarchy, worked out once per config load: where its updates come from.
///
/// A daemon takes its kind of role at start; a reload that would change it is refused (restart to
/// apply), since the schedule, sources and links of a top-level site and of a child differ. A child may
/// be given another parent by a reload.
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

    /// Whether `other` is the same kind of site: both the top, both the disconnected top, or both
    /// children (of any parent: a child moved to another parent keeps its kind).
    public func isSameKind(as other: SiteRole) -> Bool {
        switch (self, other) {
        case (.top, .top), (.disconnectedTop, .disconnectedTop), (.child, .child): true
        default: false
        }
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
