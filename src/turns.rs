//! Work that needs many megabytes for a moment takes turns within the process, so that the
//! moments do not add up: the standalone terminal's own server checking the clerk's password at
//! start (Argon2's 7 MiB) and the terminal decoding its catalogue's index (the peak of the
//! start) ran side by side, and the process's peak memory was both together.

use tokio::sync::{Semaphore, SemaphorePermit};

static TURN: Semaphore = Semaphore::const_new(1);

/// Waits for the turn; the work is done while the permit is held.
pub async fn memory_heavy() -> Option<SemaphorePermit<'static>> {
    TURN.acquire().await.ok()
}
