//! When to try again after a failed sync: exponential backoff with jitter, never sooner
//! than the server's `Retry-After`. Pure: the jitter is an argument, so that the schedule
//! is tested exactly; [`random_jitter`] supplies a real one.

use std::time::Duration;

/// The schedule's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure (before jitter).
    pub base: Duration,
    /// The longest delay the exponential part reaches.
    pub max: Duration,
    /// The longest `Retry-After` honoured; a larger (or hostile) value is cut to this.
    pub max_retry_after: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(10 * 60),
            max_retry_after: Duration::from_secs(60 * 60),
        }
    }
}

impl Backoff {
    /// The delay before the next attempt after `failures` consecutive failures (1 = the
    /// first), with `jitter` in `[0, 1)`: half of the exponential delay is fixed and half
    /// is spread by the jitter ("equal jitter"), so that many devices coming back at once
    /// do not retry in step. A `retry_after` from the server is a floor.
    pub fn delay(&self, failures: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let shift = failures.saturating_sub(1).min(30);
        let exp = self
            .base
            .checked_mul(1u32 << shift)
            .unwrap_or(self.max)
            .min(self.max);
        let half = exp / 2;
        let delay = half + half.mul_f64(jitter);
        match retry_after {
            Some(r) => delay.max(r.min(self.max_retry_after)),
            None => delay,
        }
    }
}

/// A uniformly random jitter in `[0, 1)` from the operating system.
pub fn random_jitter() -> f64 {
    match getrandom::u64() {
        Ok(n) => (n >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn schedule_table() {
        let b = Backoff::default();
        // (failures, retry_after, jitter, expected)
        let cases: &[(u32, Option<Duration>, f64, Duration)] = &[
            (1, None, 0.0, s(1)),
            (1, None, 0.999_999, Duration::from_millis(1999)),
            (2, None, 0.0, s(2)),
            (3, None, 1.0, s(8)),
            (5, None, 0.5, s(24)),
            (10, None, 0.0, s(300)), // capped: 2 s · 2^9 > 10 min
            (10, None, 1.0, s(600)),
            (u32::MAX, None, 1.0, s(600)),
            (0, None, 0.0, s(1)), // zero failures is treated as the first
            (1, Some(s(30)), 0.2, s(30)),
            (10, Some(s(30)), 1.0, s(600)), // backoff longer than Retry-After
            (1, Some(s(86_400)), 0.0, s(3600)), // hostile Retry-After is capped
            (1, None, f64::NAN, s(1)),
            (1, None, -3.0, s(1)),
            (1, None, 7.0, s(2)),
        ];
        for (failures, retry_after, jitter, want) in cases {
            let got = b.delay(*failures, *retry_after, *jitter);
            assert!(
                got.abs_diff(*want) < Duration::from_millis(2),
                "failures {failures}, retry_after {retry_after:?}, jitter {jitter}: {got:?} != {want:?}"
            );
        }
    }

    #[test]
    fn delays_never_shrink_as_failures_grow_and_stay_within_bounds() {
        let b = Backoff::default();
        for jitter in [0.0, 0.3, 0.99] {
            let mut last = Duration::ZERO;
            for failures in 1..40 {
                let d = b.delay(failures, None, jitter);
                assert!(d >= last, "{failures}: {d:?} < {last:?}");
                assert!(d <= b.max);
                last = d;
            }
        }
    }

    #[test]
    fn random_jitter_is_in_range() {
        for _ in 0..1000 {
            let j = random_jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }
}
