//! The sign-in rate limits: an attempt is reserved before its password is checked, in one unit of
//! work holding the sign-in lock, so the limits hold however many attempts run at once (in this
//! process or another on the same database).

use crate::server::store::repo::{Lock, Repository};
use crate::server::store::{LoginLimits, Reservation, StoreResult};

/// Reserves a sign-in attempt of `staff_id` from `addr` at `at`: attempts before `since` are
/// forgotten; over a limit (the account from this address, the address, the account from
/// anywhere) the attempt is refused with the attempts already counted and nothing is written;
/// otherwise it is counted (as a failure until settled) and its id returned.
pub async fn reserve_attempt(
    repo: &dyn Repository,
    staff_id: &str,
    addr: &str,
    at: i64,
    since: i64,
    limits: LoginLimits,
) -> StoreResult<Reservation> {
    let mut unit = repo.begin(Lock::SignIn).await?;
    unit.forget_attempts_before(since).await?;
    let counted = unit.attempts(staff_id, addr).await?;
    if counted.account.len() >= limits.account
        || counted.address.len() >= limits.address
        || counted.anywhere.len() >= limits.anywhere
    {
        // Dropped: nothing of the refused attempt is written.
        return Ok(Reservation::Refused(counted));
    }
    let id = unit.insert_attempt(staff_id, addr, at).await?;
    unit.commit().await?;
    Ok(Reservation::Reserved(id))
}
