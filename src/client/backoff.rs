//! The one retry policy of the terminal: the sync rounds and the live queue feed both wait this
//! long after failures in a row.

use std::time::Duration;

/// The longest wait: a township link that comes back is used within half a minute.
pub const MAX_DELAY: Duration = Duration::from_secs(30);

/// Delay before retrying after `failures` failed attempts in a row (1 or more): 1 s doubling to
/// [`MAX_DELAY`], with ±25 % jitter so that a center's terminals do not all knock at once when
/// the network returns.
pub fn retry_delay(failures: u32) -> Duration {
    let base = 2u64.saturating_pow(failures.saturating_sub(1)).min(MAX_DELAY.as_secs()) as f64;
    Duration::from_secs_f64(base * (0.75 + fastrand::f64() * 0.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_with_jitter() {
        for (failures, base) in [(0, 1.0), (1, 1.0), (2, 2.0), (3, 4.0), (6, 30.0), (40, 30.0), (u32::MAX, 30.0)] {
            for _ in 0..50 {
                let d = retry_delay(failures).as_secs_f64();
                assert!(d >= base * 0.75 && d <= base * 1.25, "failures {failures}: {d}");
            }
        }
    }
}
