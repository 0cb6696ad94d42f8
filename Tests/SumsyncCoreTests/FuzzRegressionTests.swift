import Foundation
import SumsyncFuzzing
import Testing

/// Every committed fuzz input, the seed corpus and the inputs of past findings (`Tests/fuzz/`), through the
/// same entry functions `sumsync-fuzz` runs (here without the sanitizers): none may crash or break its
/// target's invariants. A finding's input is committed under `Tests/fuzz/regressions/TARGET/` with its fix
/// (docs/testing.md, "Fuzzing").
@Suite("fuzz regressions")
struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz")

    /// The files of `Tests/fuzz/KIND/TARGET`, by name; none when the folder is absent.
    static func inputs(_ kind: String, _ target: FuzzTarget) -> [URL] {
        let folder = root.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { folder.appendingPathComponent($0) }
    }

    /// `scripts/fuzz` fuzzes the targets that have a seed corpus: each target has one, and each corpus
    /// folder is a target's.
    @Test func everyTargetHasASeedCorpus() throws {
        let folders = try FileManager.default.contentsOfDirectory(
            atPath: Self.root.appendingPathComponent("corpus").path)
        #expect(Set(folders) == Set(FuzzTarget.allCases.map(\.rawValue)))
        for target in FuzzTarget.allCases {
            #expect(!Self.inputs("corpus", target).isEmpty, "no seed input for \(target.rawValue)")
        }
    }

    /// The seeds keep the invariants, and the parser takes each (a seed it refuses no longer leads
    /// the fuzzer into the parser: make it again from a valid input).
    @Test(arguments: FuzzTarget.allCases)
    func seedsAreTakenAndKeepTheInvariants(_ target: FuzzTarget) throws {
        for file in Self.inputs("corpus", target) {
            let input = try [UInt8](Data(contentsOf: file))
            do {
                #expect(try target.run(input), "\(file.path): the parser refuses this seed")
            } catch {
                Issue.record("\(file.path): \(error)")
            }
        }
    }

    /// The inputs of past findings: no crash, no broken invariant.
    @Test(arguments: FuzzTarget.allCases)
    func regressionInputsKeepTheInvariants(_ target: FuzzTarget) throws {
        for file in Self.inputs("regressions", target) {
            let input = try [UInt8](Data(contentsOf: file))
            do {
                try target.run(input)
            } catch {
                Issue.record("\(file.path): \(error)")
            }
        }
    }
}
