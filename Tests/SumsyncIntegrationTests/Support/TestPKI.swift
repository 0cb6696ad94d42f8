import Foundation
import NIOSSL

@testable import SumsyncModel
@testable import SumsyncTLS

/// Certificates for tests: the hierarchy's own made by `sumsyncctl pki`, foreign ones by `openssl`,
/// and ones outside their validity made with the same issuing code at another clock.
enum TestPKI {
    static func makeAuthority(in folder: URL) throws {
        let result = try CLI.run(["pki", "init", "--output", folder.path])
        guard result.status == 0 else { throw TestFailure("pki init: \(result.stderr)") }
    }

    static func issue(_ code: String, host: String = "127.0.0.1", ca: URL, into folder: URL, force: Bool = false)
        throws
    {
        let result = try CLI.run(
            ["pki", "issue", code, "--host", host, "--ca", ca.path, "--output", folder.path]
                + (force ? ["--force"] : []))
        guard result.status == 0 else { throw TestFailure("pki issue \(code): \(result.stderr)") }
    }

    /// A certificate for `code` valid from `start` for `days`, written as `CODE.crt`/`CODE.key` in `folder`.
    static func issue(_ code: String, ca: URL, into folder: URL, validFrom start: Date, days: Int) throws {
        let issued = try HierarchyPKI.issue(
            code: SiteCode(code)!, hosts: ["127.0.0.1"],
            authorityPEM: String(contentsOf: ca.appendingPathComponent("ca.crt"), encoding: .utf8),
            authorityKeyPEM: String(contentsOf: ca.appendingPathComponent("ca.key"), encoding: .utf8), days: days,
            now: start)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try write(issued.certificatePEM, to: folder.appendingPathComponent("\(code).crt"))
        try write(issued.keyPEM, to: folder.appendingPathComponent("\(code).key"))
    }

    /// Another CA and a certificate for `code` on 127.0.0.1 under it, both made by openssl: what a
    /// man in the middle or a site of another hierarchy holds.
    static func foreign(_ code: String, into folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.path
        let script = """
            set -e
            cd '\(path)'
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \\
              -days 30 -subj '/CN=foreign CA' -addext 'basicConstraints=critical,CA:TRUE' \\
              -addext 'keyUsage=critical,keyCertSign' 2>/dev/null
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout \(code).key \\
              -out \(code).csr -subj '/CN=\(code)' 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1,URI:sumsync:site:\(code)\\nextendedKeyUsage=serverAuth,clientAuth\\n' > ext
            openssl x509 -req -in \(code).csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \\
              -extfile ext -out \(code).crt 2>/dev/null
            chmod 600 \(code).key ca.key
            """
        let result = try CLI.exec("/bin/sh", ["-c", script])
        guard result.status == 0 else { throw TestFailure("openssl: \(result.stderr)") }
    }

    static func write(_ text: String, to url: URL) throws {
        try Data(text.utf8).write(to: url)
        chmod(url.path, 0o600)
    }

    /// A client TLS configuration trusting `ca` and presenting `code`'s certificate from `folder`.
    static func client(ca: URL, certificateOf code: String?, in folder: URL? = nil) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca.path))
        if let code, let folder {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(
                folder.appendingPathComponent("\(code).crt").path
            ).map { .certificate($0) }
            configuration.privateKey = .privateKey(
                try NIOSSLPrivateKey(file: folder.appendingPathComponent("\(code).key").path, format: .pem))
        }
        return configuration
    }

    /// The SHA-256 of the certificate `host:port` serves, read with openssl.
    static func servedFingerprint(port: Int) throws -> String {
        let result = try CLI.exec(
            "/bin/sh",
            [
                "-c",
                "openssl s_client -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256",
            ])
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func fingerprint(of file: URL) throws -> String {
        try CLI.exec("/usr/bin/openssl", ["x509", "-in", file.path, "-noout", "-fingerprint", "-sha256"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
