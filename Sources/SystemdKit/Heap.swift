import CSystemd

/// glibc's allocator, set up for a long-running daemon whose memory use comes in bursts (a sync, children
/// pulling at once) between long idle stretches.
public enum Heap {
    /// At start: at most two malloc arenas (glibc's default, 8 per core, lets each thread's burst keep its
    /// own arena's pages), and a fixed mmap threshold of 256 KiB, so large buffers (the 256 KiB chunks of a
    /// change stream, TLS records) are mapped and unmapped on their own instead of fragmenting the heap
    /// (glibc's threshold otherwise rises after the first such free and never comes back down).
    public static func configureForDaemon() {
        _ = mallopt(M_ARENA_MAX, 2)
        _ = mallopt(M_MMAP_THRESHOLD, 256 << 10)
    }

    /// Gives the pages that freed memory leaves unused back to the system (after a sync, and when the
    /// last child's pull ends), so an idle daemon's RSS is what it holds, not what it once needed.
    public static func release() {
        _ = malloc_trim(0)
    }
}
