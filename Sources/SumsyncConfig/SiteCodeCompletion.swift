import Foundation
import TOMLKit

/// The site codes a shell offers after `--site` when the admin presses Tab (`sumsyncd` and `sumsyncctl`):
/// the `code` of every `[[site]]` table of the config the command line names with `--config` (else
/// `/etc/sumsync/hierarchy.toml`), in file order.
///
/// Reads only the TOML, without validating the rest of the file or reading the key files it names, so it
/// works for an admin who may not read `hierarchy.key` and for a file with a mistake elsewhere. A file that
/// cannot be read or parsed offers nothing.
public enum SiteCodeCompletion {
    public static let defaultConfig = "/etc/sumsync/hierarchy.toml"

    /// The codes that start with `prefix` (case-insensitively), for the shell words of the command line.
    public static func candidates(words: [String], prefix: String) -> [String] {
        let codes = siteCodes(configPath: configPath(words: words))
        guard !prefix.isEmpty else { return codes }
        return codes.filter { $0.lowercased().hasPrefix(prefix.lowercased()) }
    }

    /// The value of the last `--config FILE` or `--config=FILE` among `words`, else the default path. Quotes
    /// the shell passes verbatim around the whole word are taken off; `~/` is the admin's home.
    public static func configPath(words: [String]) -> String {
        var path = defaultConfig
        var index = words.startIndex
        while index < words.endIndex {
            let word = words[index]
            if word == "--config", words.index(after: index) < words.endIndex {
                path = words[words.index(after: index)]
                index = words.index(after: index)
            } else if word.hasPrefix("--config=") {
                path = String(word.dropFirst("--config=".count))
            }
            index = words.index(after: index)
        }
        if path.count >= 2, let first = path.first, first == "'" || first == "\"", path.last == first {
            path = String(path.dropFirst().dropLast())
        }
        if path.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] {
            path = home + path.dropFirst()
        }
        return path
    }

    /// Every `[[site]] code` of the file, or none when it cannot be read or parsed.
    public static func siteCodes(configPath: String) -> [String] {
        guard let text = try? String(contentsOfFile: configPath, encoding: .utf8),
            let root = try? TOMLTable(string: text),
            let sites = root["site"]?.array
        else { return [] }
        return sites.compactMap { $0.table?["code"]?.string }
    }
}
