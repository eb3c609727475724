//! How the process uses the C allocator on the window PCs (Linux with glibc; elsewhere these do
//! nothing). glibc gives each thread that allocates while another holds the lock an arena of its
//! own, up to eight per core, and keeps what is freed in each: the terminal's threads (the
//! runtime's workers, the blocking pool that decodes and indexes the catalogue, one per SQLite
//! connection, the log writer) left several arenas each holding megabytes freed after loading.

/// At most two arenas (unless `MALLOC_ARENA_MAX` says otherwise): the terminal's threads mostly
/// wait, so contention for the allocator costs little, and freed memory is found again instead
/// of sitting in an arena no thread uses any more. Call first thing, before threads start.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; called before other threads exist.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Gives memory freed after a burst of work (loading or updating the catalogue: the stored
/// file's bytes, the decoded pages, the builder's tables) back to the system, instead of keeping
/// it in the allocator's free lists for a burst that may never come.
pub fn release_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the system; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
