import Foundation
import SumsyncModel
import SumsyncSchedule
import TOMLKit

/// Reads, parses and validates `hierarchy.toml` into a ``HierarchyConfig``.
///
/// Parsing and validation collect every problem they find, so an admin fixes a file in one pass.
public struct ConfigLoader: Sendable {
    /// A folder holding a `hierarchy.key` credential (`$CREDENTIALS_DIRECTORY`); it wins over `key-file`.
    public var credentialsDirectory: String?

    /// Validates schedule expressions: nil when valid, else the problem.
    public var validateSchedule: @Sendable (String) -> String? = { text in
        do throws(ScheduleParseError) {
            _ = try Schedule.parse(text)
            return nil
        } catch {
            return error.message
        }
    }

    /// Makes a loader; `credentialsDirectory` defaults to `$CREDENTIALS_DIRECTORY`.
    public init(credentialsDirectory: String? = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"]) {
        self.credentialsDirectory = credentialsDirectory
    }

    /// Loads the file at `path`.
    public func load(path: String) throws(ConfigError) -> HierarchyConfig {
        let text: String
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let decoded = String(data: data, encoding: .utf8) else {
                throw ConfigError(issues: [ConfigIssue(file: path, message: "not UTF-8 text")])
            }
            text = decoded
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(issues: [ConfigIssue(file: path, message: "cannot read: \(Self.reason(error))")])
        }
        return try parse(text, file: path)
    }

    /// Parses and validates `text` as if read from `file` (relative paths resolve against its folder).
    public func parse(_ text: String, file: String) throws(ConfigError) -> HierarchyConfig {
        if let (line, column) = TOMLHeaderCheck.firstHeaderWithoutKey(text) {
            throw ConfigError(issues: [
                ConfigIssue(
                    file: file, line: line, column: column,
                    message: "a table header must name its table after '[': [name] or [[name]], the name bare or quoted"
                )
            ])
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(issues: [
                ConfigIssue(
                    file: file, line: error.source.begin.line, column: error.source.begin.column,
                    message: error.description
                )
            ])
        } catch {
            throw ConfigError(issues: [ConfigIssue(file: file, message: "\(error)")])
        }
        var validation = ConfigValidation(file: file, loader: self)
        let config = validation.run(root)
        guard validation.issues.isEmpty, let config else { throw ConfigError(issues: validation.issues) }
        return config
    }

    package static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSCocoaErrorDomain {
            switch nsError.code {
            case NSFileReadNoSuchFileError: return "no such file"
            case NSFileReadNoPermissionError: return "permission denied"
            default: break
            }
        }
        return nsError.localizedDescription
    }
}
