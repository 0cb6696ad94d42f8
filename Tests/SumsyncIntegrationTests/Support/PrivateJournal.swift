import Foundation

/// A private `systemd-journald` for one test: started in its own mount namespace (`unshare -m`) with a
/// scratch folder bound over `/run/systemd/journal` and `/run/log/journal`, so the daemon's libsystemd
/// writes to it through the usual fixed socket path, and the host's journal is never touched.
struct PrivateJournal {
    let folder: URL

    init(folder: URL) { self.folder = folder }

    var journalDirectory: URL { folder.appendingPathComponent("log") }

    /// Runs `script` (bash) inside the namespace while the private journald runs; returns its output.
    func run(_ script: String) throws -> CLI.Result {
        let wrapper = folder.appendingPathComponent("with-journald.sh")
        let text = """
            set -eu
            J=\(folder.path)
            mkdir -p $J/socket $J/log $J/logs
            mount --make-rprivate /
            mkdir -p /run/systemd/journal /run/log/journal
            mount --bind $J/socket /run/systemd/journal
            mount --bind $J/log /run/log/journal
            RUNTIME_DIRECTORY=$J/socket LOGS_DIRECTORY=$J/logs /lib/systemd/systemd-journald >$J/journald.out 2>&1 &
            JOURNALD=$!
            trap 'kill $JOURNALD 2>/dev/null; wait $JOURNALD 2>/dev/null || true' EXIT
            for i in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
            [ -S /run/systemd/journal/socket ] || { echo "private journald did not start"; cat $J/journald.out; exit 1; }
            \(script)
            # Let journald write what it has received before it stops.
            journalctl --flush >/dev/null 2>&1 || true
            sleep 0.3
            """
        try text.write(to: wrapper, atomically: true, encoding: .utf8)
        return try CLI.exec("/usr/bin/unshare", ["-m", "/bin/bash", wrapper.path])
    }

    /// Every entry the private journald stored, as JSON objects.
    func entries() throws -> [[String: Any]] {
        let result = try CLI.exec("/usr/bin/journalctl", ["--directory", journalFolder(), "-o", "json", "--no-pager"])
        return result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The folder holding the journal files (journald adds a machine-id folder).
    func journalFolder() throws -> String {
        let contents = try FileManager.default.contentsOfDirectory(atPath: journalDirectory.path)
        guard let machine = contents.first else { throw TestFailure("the private journald wrote no journal") }
        return journalDirectory.appendingPathComponent(machine).path
    }
}
