//! When a retryable failure is tried again: capped exponential backoff with
//! full jitter in [50%, 100%] of the step, so a burst of failures (a mediator
//! restart) does not come back as a synchronized burst.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(15 * 60),
        }
    }
}

impl Backoff {
    /// Delay before attempt `attempts + 1`, given `attempts` made so far
    /// (≥ 1) and a uniform random `unit` in [0, 1).
    pub fn delay(&self, attempts: u32, unit: f64) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let step = self.base.saturating_mul(1u32 << exp.min(20)).min(self.cap);
        step.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
    }
}

/// A cheap non-cryptographic random unit from the clock and a counter; good
/// enough to spread retries, needs no dependency.
pub fn jitter_unit(salt: u64) -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_jitter_and_caps() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 0.0), Duration::from_millis(2500));
        assert_eq!(
            b.delay(1, 0.999_999),
            Duration::from_secs(5).mul_f64(0.5 + 0.5 * 0.999_999)
        );
        assert_eq!(b.delay(2, 0.0), Duration::from_secs(5));
        assert_eq!(b.delay(3, 0.0), Duration::from_secs(10));
        assert_eq!(b.delay(40, 0.0), Duration::from_secs(450));
        assert!(b.delay(40, 0.99) <= b.cap);
    }

    #[test]
    fn jitter_is_a_unit() {
        for s in 0..1000 {
            let u = jitter_unit(s);
            assert!((0.0..1.0).contains(&u));
        }
    }
}
