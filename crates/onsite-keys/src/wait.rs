//! Growing waits after wrong PINs.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Wrong tries allowed before any wait.
pub const FREE_TRIES: u32 = 3;
/// The first wait, after the fourth wrong try.
pub const FIRST_WAIT: Duration = Duration::from_secs(30);
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// The wait before the next try after `wrong_tries` wrong tries in a row: none for one to
/// three, then 30 s after the fourth, doubling with each wrong try, at most one hour.
pub fn wait_after(wrong_tries: u32) -> Duration {
    if wrong_tries <= FREE_TRIES {
        return Duration::ZERO;
    }
    let doublings = wrong_tries - FREE_TRIES - 1;
    // 30 s * 2^7 = 3840 s is past the cap already: no overflow past that.
    if doublings >= 7 {
        return MAX_WAIT;
    }
    (FIRST_WAIT * (1u32 << doublings)).min(MAX_WAIT)
}

/// What is left of the wait at `now`, the last wrong try having been at `last_wrong_at`.
/// A clock that went backwards counts as no time passed.
pub fn wait_left(
    wrong_tries: u32,
    last_wrong_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Duration {
    let full = wait_after(wrong_tries);
    if full.is_zero() {
        return full;
    }
    let Some(last) = last_wrong_at else {
        // Wrong tries with no time recorded: a hand-edited file; wait it all.
        return full;
    };
    let passed = (now - last).to_std().unwrap_or(Duration::ZERO);
    full.saturating_sub(passed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn schedule_table() {
        let table = [
            (0, 0),
            (1, 0),
            (2, 0),
            (3, 0),
            (4, 30),
            (5, 60),
            (6, 120),
            (7, 240),
            (8, 480),
            (9, 960),
            (10, 1920),
            (11, 3600),
            (12, 3600),
            (40, 3600),
            (u32::MAX, 3600),
        ];
        for (tries, secs) in table {
            assert_eq!(
                wait_after(tries),
                Duration::from_secs(secs),
                "tries {tries}"
            );
        }
    }

    #[test]
    fn wait_left_counts_from_the_last_wrong_try() {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        let s = chrono::Duration::seconds;
        assert_eq!(wait_left(4, Some(t0), t0), Duration::from_secs(30));
        assert_eq!(wait_left(4, Some(t0), t0 + s(10)), Duration::from_secs(20));
        assert_eq!(wait_left(4, Some(t0), t0 + s(30)), Duration::ZERO);
        assert_eq!(wait_left(4, Some(t0), t0 + s(3000)), Duration::ZERO);
        assert_eq!(wait_left(3, Some(t0), t0), Duration::ZERO);
        // The clock went back an hour: no time passed, the whole wait is left.
        assert_eq!(
            wait_left(5, Some(t0), t0 - s(3600)),
            Duration::from_secs(60)
        );
        assert_eq!(wait_left(5, None, t0), Duration::from_secs(60));
    }
}
