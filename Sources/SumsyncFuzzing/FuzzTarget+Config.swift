import Foundation
import SumsyncConfig
import SumsyncModel
import SumsyncSchedule

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension FuzzTarget {
    /// Where the fuzzed config says it was read from: a folder of this process's holding `hierarchy.key`,
    /// so a config naming `key-file = "hierarchy.key"` can validate whole. Other files it names are not
    /// there, and validation says so.
    static let configFile: String = {
        let folder = NSTemporaryDirectory() + "/sumsync-fuzz-config-\(getpid())"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(
            atPath: folder + "/hierarchy.key", contents: Data(String(repeating: "5e", count: 32).utf8))
        atexit {
            try? FileManager.default.removeItem(atPath: (FuzzTarget.configFile as NSString).deletingLastPathComponent)
        }
        return folder + "/hierarchy.toml"
    }()

    /// The input as `hierarchy.toml`: parsed and validated. Issues are expected; a config that validates
    /// must be one the daemon can use: one top-level site, every parent a site of the config, every site
    /// with a role and within the top's subtree, and a schedule that parses.
    static func config(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) -> Bool {
        guard let text = FuzzInput.text(input) else { return false }
        let parsed: HierarchyConfig
        do {
            parsed = try ConfigLoader(credentialsDirectory: nil).parse(text, file: configFile)
        } catch {
            try config.expect(!error.issues.isEmpty, "a refused config came with no issue")
            try config.expect(
                error.issues.allSatisfy { !$0.message.isEmpty && $0.file == configFile },
                "an issue without a message or naming another file: \(error)")
            return false
        }
        let tops = parsed.sites.filter { $0.parent == nil }
        try config.expect(tops.count == 1, "a valid config with \(tops.count) top-level sites")
        for site in parsed.sites {
            try config.expect(parsed.role(of: site.code) != nil, "site \(site.code) has no role")
            if let parent = site.parent {
                try config.expect(
                    parsed.site(parent) != nil, "site \(site.code)'s parent \(parent) is not in the config")
            }
        }
        let reachable = parsed.subtree(of: tops[0].code).count
        try config.expect(
            reachable == parsed.sites.count, "\(parsed.sites.count) sites, \(reachable) below the top-level site")
        if let schedule = parsed.sync.schedule {
            try config.expect(
                (try? Schedule.parse(schedule)) != nil, "the valid config's schedule '\(schedule)' does not parse")
        }
        return true
    }
}
