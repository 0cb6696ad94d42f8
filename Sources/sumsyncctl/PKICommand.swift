import ArgumentParser
import Foundation
import SumsyncModel
import SumsyncTLS

/// `sumsyncctl pki`: a hierarchy CA and site certificates, for admins without a PKI of their own.
struct PKICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki",
        abstract: "Make a hierarchy CA and site certificates bound to their codes.",
        discussion:
            "`pki init` makes the CA (ca.crt, ca.key); `pki issue CODE --host HOST` a site's certificate (CODE.crt, CODE.key), which names HOST and carries the SAN URI sumsync:site:CODE. Every file is written with mode 0600; existing files are kept unless --force is given. Keep ca.key offline: whoever has it can make certificates for any site.",
        subcommands: [PKIInitCommand.self, PKIIssueCommand.self]
    )
}

struct PKIInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Make a hierarchy CA: DIR/ca.crt (for [hierarchy] ca-file) and DIR/ca.key.")

    @Option(help: "The folder to write ca.crt and ca.key to (made when missing).")
    var output: String

    @Option(help: "A name for the CA's subject.")
    var name = "sumsync"

    @Option(help: "Days the CA is valid.")
    var days = 3_650

    @Flag(help: "Replace existing files.")
    var force = false

    func run() throws {
        guard days > 0 else { throw fail("--days must be at least 1") }
        let issued: HierarchyPKI.Issued
        do {
            issued = try HierarchyPKI.makeAuthority(name: name, days: days)
        } catch {
            throw fail(error.description)
        }
        let certificate = (output as NSString).appendingPathComponent("ca.crt")
        let key = (output as NSString).appendingPathComponent("ca.key")
        try PKIFiles.write([(key, issued.keyPEM), (certificate, issued.certificatePEM)], folder: output, force: force)
        print(
            "Wrote the hierarchy CA \(certificate) (set [hierarchy] ca-file to a copy of it) and its key \(key) (keep it offline)."
        )
    }
}

struct PKIIssueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract:
            "Issue site CODE's certificate: DIR/CODE.crt and DIR/CODE.key, for tls-dir or the site.crt/site.key credentials."
    )

    @Argument(help: "The site code, e.g. PR1.")
    var code: String

    @Option(help: "A host name or IP address the site's url uses; repeat for several.")
    var host: [String] = []

    @Option(help: "The CA folder made by `pki init` (ca.crt and ca.key).")
    var ca: String

    @Option(help: "The folder to write CODE.crt and CODE.key to (made when missing).")
    var output: String

    @Option(help: "Days the certificate is valid.")
    var days = 365

    @Flag(help: "Replace existing files.")
    var force = false

    func run() throws {
        guard let site = SiteCode(code) else {
            throw fail("invalid site code '\(code)': use 3 characters of A–Z and 0–9")
        }
        guard !host.isEmpty else { throw fail("give the site's host with --host (the host of its url)") }
        guard days > 0 else { throw fail("--days must be at least 1") }
        let caCertificate = (ca as NSString).appendingPathComponent("ca.crt")
        let caKey = (ca as NSString).appendingPathComponent("ca.key")
        guard let authority = FileManager.default.contents(atPath: caCertificate),
            let authorityKey = FileManager.default.contents(atPath: caKey)
        else {
            throw fail("cannot read \(caCertificate) and \(caKey); make them with `sumsyncctl pki init --output \(ca)`")
        }
        let issued: HierarchyPKI.Issued
        do {
            issued = try HierarchyPKI.issue(
                code: site, hosts: host, authorityPEM: String(decoding: authority, as: UTF8.self),
                authorityKeyPEM: String(decoding: authorityKey, as: UTF8.self), days: days)
        } catch {
            throw fail(error.description)
        }
        let certificate = (output as NSString).appendingPathComponent("\(site).crt")
        let key = (output as NSString).appendingPathComponent("\(site).key")
        try PKIFiles.write([(key, issued.keyPEM), (certificate, issued.certificatePEM)], folder: output, force: force)
        print(
            "Wrote \(certificate) and \(key) for site \(site) on \(host.joined(separator: ", ")), valid \(days) days.")
    }
}

/// Writes PEM files with mode 0600, each atomically (a daemon reloading meanwhile sees old or new, never half).
enum PKIFiles {
    static func write(_ files: [(path: String, text: String)], folder: String, force: Bool) throws {
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw fail("cannot create \(folder): \(error.localizedDescription)")
        }
        if !force, let existing = files.first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            throw fail("\(existing.path) exists; not overwriting it (use --force to replace)")
        }
        for file in files {
            let temporary = file.path + ".tmp-\(getpid())"
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard descriptor >= 0 else { throw fail("cannot write \(temporary): \(String(cString: strerror(errno)))") }
            let bytes = Array(file.text.utf8)
            let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            let synced = fsync(descriptor) == 0
            close(descriptor)
            guard written == bytes.count, synced, rename(temporary, file.path) == 0 else {
                unlink(temporary)
                throw fail("cannot write \(file.path): \(String(cString: strerror(errno)))")
            }
        }
    }
}
