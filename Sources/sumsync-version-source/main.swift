import Foundation

// sumsync-version-source VERSION OUTPUT: the build tool of SumsyncVersionPlugin. Reads the one line of the
// VERSION file (a Debian- and RPM-compatible version such as 0.11.0) and writes the Swift source that holds it.
let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: sumsync-version-source VERSION OUTPUT\n".utf8))
    exit(64)
}
let text: String
do {
    text = try String(contentsOfFile: arguments[1], encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("sumsync-version-source: cannot read \(arguments[1]): \(error)\n".utf8))
    exit(66)
}
let version = text.trimmingCharacters(in: .whitespacesAndNewlines)
let allowed = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+~")
guard let first = version.first, first.isNumber, version.allSatisfy({ allowed.contains($0) }) else {
    FileHandle.standardError.write(
        Data("sumsync-version-source: \(arguments[1]): '\(version)' is not a version like 0.11.0\n".utf8))
    exit(65)
}
let source = """
    // Written by SumsyncVersionPlugin from the package's VERSION file; do not edit.

    /// The version of this build of sumsync, from the package's VERSION file.
    public enum SumsyncVersion {
        /// For example `0.11.0`.
        public static let string = "\(version)"
        /// The `User-Agent` of every HTTP request sumsync makes (site to site, upstreams).
        public static let userAgent = "sumsync/\(version)"
    }

    """
do {
    try source.write(toFile: arguments[2], atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("sumsync-version-source: cannot write \(arguments[2]): \(error)\n".utf8))
    exit(73)
}
