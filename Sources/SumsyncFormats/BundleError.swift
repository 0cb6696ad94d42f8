/// Why a bundle could not be made, read, verified or imported: one line that says what happened and,
/// where it helps, what to do. See docs/bundle-format.md.
public struct BundleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, for people.
    public var message: String
    /// What kind of problem this is, for callers and tests that react to the kind.
    public var code: Code

    /// Creates an error of kind `code`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The kind of a ``BundleError``: a struct around a private enum, so kinds can be added without
    /// breaking callers' switches.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unreadable, notABundle, unknownFormat, truncated, invalidManifest, badSignature, untrustedKey
            case tamperedPayload, versionGap, filterMismatch, invalidKey, cannotWrite, cannotExport
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file cannot be opened or read.
        public static let unreadable = Code(.unreadable)
        /// The file does not start like a sumsync bundle.
        public static let notABundle = Code(.notABundle)
        /// A bundle of a format version this sumsync does not read.
        public static let unknownFormat = Code(.unknownFormat)
        /// The file ends before its header or its payload does.
        public static let truncated = Code(.truncated)
        /// The manifest is not the JSON object the format describes.
        public static let invalidManifest = Code(.invalidManifest)
        /// The signature does not verify with the trusted key that the manifest names.
        public static let badSignature = Code(.badSignature)
        /// The bundle was signed by a key that is not in `[upstream] trusted-keys`.
        public static let untrustedKey = Code(.untrustedKey)
        /// The payload's size or SHA-256 differs from the signed manifest.
        public static let tamperedPayload = Code(.tamperedPayload)
        /// A delta bundle that does not start at the site's catalog version.
        public static let versionGap = Code(.versionGap)
        /// The bundle was made with a different product/classification/language filter.
        public static let filterMismatch = Code(.filterMismatch)
        /// A key file that cannot be read or is not a sumsync Ed25519 key.
        public static let invalidKey = Code(.invalidKey)
        /// The bundle (or a key) cannot be written.
        public static let cannotWrite = Code(.cannotWrite)
        /// The site or catalog cannot give what the export asks for.
        public static let cannotExport = Code(.cannotExport)

        public var description: String { base.rawValue }
    }
}
