/// The fuzz targets: one a parser of outside input, each with the invariants it must keep
/// (docs/testing.md, "Fuzzing").
///
/// ``run(_:)`` is what `sumsync-fuzz` calls for every input libFuzzer makes, and what the regression
/// tests call for every committed input. A parser's own error for bad input is expected and returns
/// normally; a broken invariant throws ``InvariantViolation`` (the fuzzer then traps, so libFuzzer keeps the
/// input); a crash, a hang or a sanitizer report is a finding by itself.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A catalog file (NDJSON, maybe gzip): ``CatalogLineReader``, ``CatalogRecordParser`` (``JSONScanner``).
    case catalogLine = "catalog-line"
    /// `hierarchy.toml`: TOMLKit's parse, then ``ConfigLoader``'s validation.
    case config
    /// A parent's change stream (header, records, removals, end) applied to a site database.
    case changeStream = "change-stream"
    /// A bundle file's three header lines (``BundleHeader/read(from:path:)``) and its manifest.
    case bundleHeader = "bundle-header"
    /// A bundle's manifest line on its own (``BundleManifest``, as ``BundleHeader/manifest()`` decodes it).
    case bundleManifest = "bundle-manifest"
    /// A signed site-to-site request's headers, path and query, checked as `SignatureMiddleware` (SumsyncDaemon) does.
    case signedRequest = "signed-request"
    /// A systemd calendar expression: parse, normalized form, next elapses.
    case calendar
    /// An `every …` schedule: parse, normalized form, next elapses.
    case simpleSchedule = "simple-schedule"
    /// The control socket's requests (``ControlProtocol/uri(_:query:)`` as the daemon reads it back) and
    /// the JSON answers `sumsyncctl` decodes.
    case controlRequest = "control-request"
    /// An RPM repository's `updateinfo.xml` (``UpdateInfoReader`` over ``XMLStreamReader``, libxml2).
    case updateinfo
    /// An RPM repository's `repomd.xml` (``Repomd``).
    case repomd
    /// One OSV record (``OSVRecordParser``).
    case osv
    /// rpm's version comparison (``RpmVersion``) of labels from upstream metadata.
    case rpmVersion = "rpm-version"

    /// Runs one input through the target's parser and checks its invariants. Returns whether the parser
    /// took the input (the seeds must be taken, so that fuzzing starts from inputs that go deep).
    /// - Throws: ``InvariantViolation`` when an invariant does not hold; never for input the parser refuses.
    @discardableResult
    public func run(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) -> Bool {
        switch self {
        case .catalogLine: return try Self.catalogLine(input)
        case .config: return try Self.config(input)
        case .changeStream: return try Self.changeStream(input)
        case .bundleHeader: return try Self.bundleHeader(input)
        case .bundleManifest: return try Self.bundleManifest(input)
        case .signedRequest: return try Self.signedRequest(input)
        case .calendar: return try Self.calendar(input)
        case .simpleSchedule: return try Self.simpleSchedule(input)
        case .controlRequest: return try Self.controlRequest(input)
        case .updateinfo: return try Self.updateinfo(input)
        case .repomd: return try Self.repomd(input)
        case .osv: return try Self.osv(input)
        case .rpmVersion: return try Self.rpmVersion(input)
        }
    }

    /// ``run(_:)`` for bytes held in an array (the regression tests).
    @discardableResult
    public func run(_ input: [UInt8]) throws(InvariantViolation) -> Bool {
        let result: Result<Bool, InvariantViolation> = input.withUnsafeBytes { bytes in
            do throws(InvariantViolation) {
                return .success(try run(bytes))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
