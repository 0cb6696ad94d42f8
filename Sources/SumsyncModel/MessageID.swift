import Logging

/// The fixed `MESSAGE_ID`s of sumsync's journal entries (made once with `systemd-id128 new`; never change
/// one: admins filter and alert on them, and `systemd/sumsync.catalog` explains each). See docs/journal.md.
public enum MessageID: String, Sendable, CaseIterable {
    case syncStarted = "45b05029566c48519182c91b41725db2"
    case syncProgress = "66bc7d0e101445aaa18e9fbc3b69eb22"
    case syncCompleted = "8eb96b7d751e4960944a22e84edd16a0"
    case syncNoOp = "f6ec4f383162497cb5b8d8631fdf5b6a"
    case syncFailed = "77ef2ce3ef9648f29c402d80655bbdba"
    case syncPartial = "5e0d7c2a91b34f6c8a4e1f0b2d9c6a17"
    case syncRequestSent = "cffb86e31ecb49adbd64ccf2919816fc"
    case syncRequestReceived = "eb644936933c4d29bf0a1224e2bb8037"
    case childLinkDegraded = "2960f91bf2bc4ce19c0c3fceffc9b12c"
    case childLinkRestored = "47d159766fb64a5dbdd0450e7c0728ad"
    case staleChild = "dae3e78f23a24cc7b0de4e339bcc6c19"
    case requestRefused = "2688a3d763c34188aacce7795c81b459"
    case configReloaded = "2d8164fe68d24a8fb3257c5a0535dc51"
    case configRejected = "6c4c3c4aa51e4a858322c6240e5bcafc"
    case catchUpRun = "810f77a15a8844d3845c55856d19436d"
    case importCompleted = "2991000fcb2e4597a47016bb23314fa2"
    case importFailed = "a3da725204e74638bcdc8db20c1ab6e0"
    case newCategory = "0f25baf880684b8da9687b5f3329443b"
    case daemonReady = "2cc3e06def0247b39281bab684eede02"
    case daemonStopping = "6a67d72fae0e48f48a787e6a49bf8e0e"
    case changeStreamRefused = "c1f3a9e2b7d54e0c8a6f2d4b9e7a1c35"
    case certificateMismatch = "c3aaa7b1bbdf4c6dabf9aa5d78f605b4"
    case tlsHandshakeRefused = "a4147e0ee58d4a529d7c5ffd05938370"
    case insecureLink = "824392b1c3b443fc9cfc9d37dee9ff81"
    case certificateExpiring = "c9a0d4a0b22946b6a0b517e6a9f37761"
    case tlsReloadFailed = "641003b9f39240079a6cf3a10f9289eb"
    case catalogRefused = "96982ce7d10b434fac9f321cbf62f8f3"
    case catalogCheckFailed = "a396069e28bc46729e79a6180d8edc74"

    /// The metadata entry that makes the journal handler set `MESSAGE_ID`.
    public var metadata: Logger.Metadata { ["message.id": .string(rawValue)] }
}

extension Logger.Metadata {
    /// Adds a message id to metadata: `["sync.id": "…"].with(.syncStarted)`.
    public func with(_ id: MessageID) -> Logger.Metadata {
        merging(id.metadata) { _, new in new }
    }
}
