// The libFuzzer binary: `scripts/fuzz` builds it with SUMSYNC_FUZZ=1 (Package.swift then links libFuzzer and
// AddressSanitizer) and runs it once a target, named by SUMSYNC_FUZZ_TARGET. Any other build gets a binary that
// only says so.
import Foundation
import SumsyncFuzzing

#if SUMSYNC_FUZZ
    /// libFuzzer's driver (its `main`): SwiftPM makes this file's top-level code the binary's `main`, so
    /// libFuzzer's own is never linked.
    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32

    /// The target this process fuzzes.
    let selectedTarget: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["SUMSYNC_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: " ")
            FileHandle.standardError.write(Data("sumsync-fuzz: set SUMSYNC_FUZZ_TARGET to one of: \(names)\n".utf8))
            exit(2)
        }
        return target
    }()

    /// SUMSYNC_FUZZ_VERBOSE=1: say of each input whether the parser took it (to check new seeds).
    let showsOutcome = ProcessInfo.processInfo.environment["SUMSYNC_FUZZ_VERBOSE"] == "1"

    /// One input: a broken invariant traps, so libFuzzer reports it and keeps the input as a crash artifact.
    @_cdecl("LLVMFuzzerTestOneInput")
    func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        do {
            let taken = try selectedTarget.run(UnsafeRawBufferPointer(start: data, count: size))
            if showsOutcome { print("sumsync-fuzz: \(selectedTarget.rawValue): \(taken ? "taken" : "refused")") }
        } catch {
            fatalError("\(error)")
        }
        return 0
    }

    _ = selectedTarget
    var argumentCount = CommandLine.argc
    var arguments = CommandLine.unsafeArgv
    exit(runFuzzerDriver(&argumentCount, &arguments, fuzzTestOneInput))
#else
    FileHandle.standardError.write(
        Data("sumsync-fuzz: this build has no fuzzer; build and run it with scripts/fuzz\n".utf8))
    exit(2)
#endif
