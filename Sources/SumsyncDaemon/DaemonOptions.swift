/// How `sumsyncd` was started: `--config FILE --site CODE [--state-dir DIR] [--runtime-dir DIR]`.
public struct DaemonOptions: Sendable {
    /// The hierarchy config. Default `/etc/sumsync/hierarchy.toml`.
    public var configPath: String
    /// The site this daemon serves, as given on the command line.
    public var site: String
    /// The state folder; nil = `$STATE_DIRECTORY`, else `/var/lib/sumsync/CODE`.
    public var stateDirectory: String?
    /// The runtime folder; nil = `$RUNTIME_DIRECTORY`, else `/run/sumsync/CODE`.
    public var runtimeDirectory: String?

    public init(configPath: String, site: String, stateDirectory: String? = nil, runtimeDirectory: String? = nil) {
        self.configPath = configPath
        self.site = site
        self.stateDirectory = stateDirectory
        self.runtimeDirectory = runtimeDirectory
    }
}
