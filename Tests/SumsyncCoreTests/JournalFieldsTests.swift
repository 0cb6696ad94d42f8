import Logging
import SystemdKit
import Testing

@Suite("journal field mapping")
struct JournalFieldsTests {
    @Test(arguments: [
        ("site.code", "SUMSYNC_SITE_CODE"), ("sync.id", "SUMSYNC_SYNC_ID"),
        ("catalog.version", "SUMSYNC_CATALOG_VERSION"),
        ("hierarchy.key-file", "SUMSYNC_HIERARCHY_KEY_FILE"), ("message.id", "MESSAGE_ID"),
        ("peer.uid", "SUMSYNC_PEER_UID"),
        ("Weird Key!", "SUMSYNC_WEIRD_KEY_"),
    ])
    func fieldNames(key: String, field: String) {
        #expect(JournalFields.fieldName(forMetadataKey: key) == field)
    }

    @Test func priorities() {
        #expect(JournalFields.priority(for: .error) == 3)
        #expect(JournalFields.priority(for: .warning) == 4)
        #expect(JournalFields.priority(for: .notice) == 5)
        #expect(JournalFields.priority(for: .info) == 6)
        #expect(JournalFields.priority(for: .debug) == 7)
        #expect(JournalFields.priority(for: .critical) == 2)
    }

    @Test func autoTargetWithoutJournalStream() {
        #expect(LogTarget.auto.resolved(environment: [:]) == .console)
        #expect(LogTarget.auto.resolved(environment: ["JOURNAL_STREAM": "1:2"]) == .console)
        #expect(LogTarget.journal.resolved(environment: [:]) == .journal)
    }
}
