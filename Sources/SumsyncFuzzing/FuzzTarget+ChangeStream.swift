import Foundation
import SumsyncStore

extension FuzzTarget {
    /// The input as a downloaded change stream, applied to a site at version 1 and, unless its header
    /// says it is a delta, to an empty site (``ChangeStreamSites``). Refusal is expected; a stream that was
    /// applied must leave the database whole (`PRAGMA integrity_check`) at the version its header names.
    static func changeStream(_ input: UnsafeRawBufferPointer) throws(InvariantViolation) -> Bool {
        let file = ScratchFile(input, suffix: ".changes")
        let header = input.firstIndex(of: 0x0A).flatMap {
            try? JSONDecoder().decode(ChangeFeed.Header.self, from: Data(input[..<$0]))
        }
        let outcome: Result<Bool, InvariantViolation> = ChangeStreamSites.shared.withLock { shared in
            do throws(InvariantViolation) {
                guard let sites = shared ?? (try? ChangeStreamSites()) else {
                    throw InvariantViolation(changeStream, "cannot make the site databases to apply streams to")
                }
                shared = sites
                var applied = false
                // A delta meets stored rows the same way in either; only a full snapshot differs in an empty site.
                for store in header?.full == false ? [sites.seeded] : [sites.empty, sites.seeded] {
                    guard let version = sites.apply(file.path, to: store) else { continue }
                    // Applied: the next input gets fresh databases.
                    shared = nil
                    applied = true
                    if let header {
                        try changeStream.expect(
                            version == header.to, "applied at version \(version), but its header says \(header.to)")
                    }
                    let stored = (try? store.catalogVersion()) ?? -1
                    try changeStream.expect(
                        stored == version, "applied at version \(version), but the site holds \(stored)")
                    let check = (try? store.integrityCheck()) ?? "unreadable"
                    try changeStream.expect(check == "ok", "the database is damaged after the apply: \(check)")
                    let held = (try? store.updateCount()) ?? -1
                    try changeStream.expect(held >= 0, "the update count cannot be read after the apply")
                }
                return .success(applied)
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }
}
