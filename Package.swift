// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "sumsync",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sumsyncd", targets: ["sumsyncd"]),
        .executable(name: "sumsyncctl", targets: ["sumsyncctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
    ],
    targets: [
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        // zlib, liblzma, libzstd and libbz2 (bzip2 ships no pkg-config file, so one module links all four). Not
        // `CZlib`: ZIPFoundation's own zlib module has that name.
        .systemLibrary(
            name: "CCompression",
            providers: [.apt(["zlib1g-dev", "liblzma-dev", "libzstd-dev", "libbz2-dev"])]
        ),
        .target(
            name: "SystemdKit",
            dependencies: [
                "CSystemd",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The layers, bottom to top; each target depends only on those below it, so the compiler refuses
        // a back-edge. docs/architecture.md walks one sync through them.
        // Values every layer shares: records, filter, triggers, outcomes, counts, config model, site role.
        .target(
            name: "SumsyncModel",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            plugins: ["SumsyncVersionPlugin"]
        ),
        // The version from the package's VERSION file, written into SumsyncModel as `SumsyncVersion` at build time.
        .executableTarget(name: "sumsync-version-source"),
        .plugin(
            name: "SumsyncVersionPlugin",
            capability: .buildTool(),
            dependencies: ["sumsync-version-source"]
        ),
        // Bytes in and out: line reader, gzip, JSON scanner and writer, RFC 3339, line hash, bundle frames,
        // decompression (zlib, liblzma, libzstd, libbz2), libxml2 readers of repomd.xml and updateinfo.xml,
        // rpm's version comparison, OSV records and the zips they come in (ZIPFoundation), CVSS scores, the
        // catalog's state digest (LtHash16) and signed roots.
        .target(
            name: "SumsyncFormats",
            dependencies: [
                "SumsyncModel", "CLibXML2", "CCompression",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // Calendar and `every` schedules; the state machine that decides when a site syncs and retries.
        .target(
            name: "SumsyncSchedule",
            dependencies: ["SumsyncModel", "SumsyncFormats"]
        ),
        // hierarchy.toml read and validated into the config model.
        .target(
            name: "SumsyncConfig",
            dependencies: [
                "SumsyncModel",
                "SumsyncFormats",
                "SumsyncSchedule",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        // The site database: the only SQL, intent methods, migrations, appliers, change log, line index.
        .target(
            name: "SumsyncStore",
            dependencies: [
                "SumsyncModel",
                "SumsyncFormats",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Certificates and keys: the hierarchy CA, each site's certificate bound to its code, the checks made
        // at start and reload, the TLS configurations of listener and client, and issuing for `sumsyncctl pki`.
        .target(
            name: "SumsyncTLS",
            dependencies: [
                "SumsyncModel",
                "SumsyncFormats",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Upstream sources, the downloader, top-level sync, parent pull, bundles, signing, child links.
        .target(
            name: "SumsyncSync",
            dependencies: [
                "SumsyncModel",
                "SumsyncFormats",
                "SumsyncSchedule",
                "SumsyncStore",
                "SumsyncTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The control socket: protocol and client (sumsyncctl ↔ sumsyncd).
        .target(
            name: "SumsyncControl",
            dependencies: [
                "SumsyncModel",
                "SumsyncFormats",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The composition root: listeners, signals, schedule timer, metrics, alerts.
        .target(
            name: "SumsyncDaemon",
            dependencies: [
                "SystemdKit",
                "SumsyncModel",
                "SumsyncFormats",
                "SumsyncSchedule",
                "SumsyncConfig",
                "SumsyncStore",
                "SumsyncSync",
                "SumsyncControl",
                "SumsyncTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Test and benchmark tooling: catalog generation and change-stream benchmarks; never linked by
        // sumsyncd or sumsyncctl.
        .target(
            name: "SumsyncTestSupport",
            dependencies: [
                "SumsyncModel", "SumsyncFormats", "SumsyncStore", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "sumsyncd",
            dependencies: [
                "SumsyncDaemon",
                "SumsyncConfig",
                "SumsyncModel",
                "SystemdKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "sumsyncctl",
            dependencies: [
                "SumsyncModel",
                "SumsyncFormats",
                "SumsyncSchedule",
                "SumsyncConfig",
                "SumsyncStore",
                "SumsyncSync",
                "SumsyncControl",
                "SumsyncTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The fuzz targets, one a parser of outside input (docs/testing.md, "Fuzzing"): only the modules that
        // hold those parsers, so the sanitizer build stays small. RequestSigner and ControlProtocol are compiled
        // in from their own files (Sources/SumsyncFuzzing/Shared holds symlinks): their modules would bring
        // NIOSSL, AsyncHTTPClient and X509 into that build.
        .target(
            name: "SumsyncFuzzing",
            dependencies: [
                "SumsyncModel", "SumsyncFormats", "SumsyncSchedule", "SumsyncConfig", "SumsyncStore",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The fuzzer binary `scripts/fuzz` builds with SUMSYNC_FUZZ=1; SUMSYNC_FUZZ_TARGET picks the target.
        .executableTarget(
            name: "sumsync-fuzz",
            dependencies: ["SumsyncFuzzing"]
        ),
        .executableTarget(
            name: "sumsync-bench",
            dependencies: [
                "SumsyncTestSupport",
                "SumsyncModel",
                "SumsyncStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SumsyncCoreTests",
            dependencies: [
                "SumsyncModel", "SumsyncFormats", "SumsyncSchedule", "SumsyncConfig", "SumsyncStore", "SumsyncSync",
                "SumsyncControl", "SumsyncDaemon", "SumsyncTestSupport", "SystemdKit", "SumsyncTLS",
                "SumsyncFuzzing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "SumsyncIntegrationTests",
            dependencies: [
                "SumsyncModel", "SumsyncFormats", "SumsyncSchedule", "SumsyncConfig", "SumsyncStore", "SumsyncSync",
                "SumsyncControl", "SumsyncDaemon", "SumsyncTestSupport", "SumsyncTLS",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// `scripts/fuzz` builds `sumsync-fuzz` with SUMSYNC_FUZZ=1: the package's own modules it links get libFuzzer's
// coverage and AddressSanitizer, and the binary links libFuzzer's main. Dependencies and the version plugin's host
// tool are left alone (a sanitized host tool would get libFuzzer's main), and no other build sees the flags.
if Context.environment["SUMSYNC_FUZZ"] == "1" {
    let sanitize: [String] = ["-sanitize=fuzzer,address"]
    for target in package.targets where target.type != .plugin && target.type != .system
        && target.name != "sumsync-version-source"
    {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(sanitize)]
        if target.name == "sumsync-fuzz" {
            target.swiftSettings?.append(.define("SUMSYNC_FUZZ"))
            target.linkerSettings = (target.linkerSettings ?? []) + [.unsafeFlags(sanitize)]
        }
    }
}
