//! Simulated consumption: every register of a meter is a closed-form function
//! of time (seconds since 2000), so the live registers, the profile-log
//! history and the balance drain always agree, and no per-tick work is needed.

use std::f64::consts::{PI, TAU};

const DAY: f64 = 86_400.0;
const OMEGA: f64 = TAU / DAY;
/// Daily swing of demand around its mean (0.6 → between 40 % and 160 %); below
/// 1 so demand is never zero and registers strictly increase.
const SWING: f64 = 0.6;
/// Solar export peaks at 13:00 UTC.
const SOLAR_PEAK: f64 = 13.0 * 3600.0;

/// Deterministic draws from a serial, so a meter behaves the same in every
/// run (and across restarts without a state file).
#[derive(Debug, Clone, Copy)]
pub struct Seed(u64);

impl Seed {
    pub fn of(text: &str) -> Seed {
        // FNV-1a: stable across Rust versions, unlike the std hasher.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Seed(h)
    }

    /// The k-th draw, uniform in 0..2^64 (splitmix64 of seed + k).
    pub fn draw(self, k: u64) -> u64 {
        let mut z = self.0.wrapping_add(k.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The k-th draw as a number in [lo, hi).
    pub fn range(self, k: u64, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.draw(k) >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(self, k: u64, n: u64) -> u64 {
        self.draw(k) % n.max(1)
    }
}

/// One meter's demand: mean powers (W) and the time of day of their peaks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Demand {
    /// Element A import mean, W.
    pub import_a_w: f64,
    /// Seconds after midnight UTC when element A demand peaks.
    pub peak_a: f64,
    /// Element B import mean, W (0 unless twin element).
    pub import_b_w: f64,
    pub peak_b: f64,
    /// Peak solar export of element A, W (0 for meters without generation).
    pub solar_w: f64,
    /// Multiplies every power (`--consumption-scale`); 0 freezes the meter.
    pub scale: f64,
    /// Start of the meter's history (seconds since 2000): registers count
    /// from here and profile logs hold nothing earlier.
    pub commissioned: f64,
}

/// Cumulative energy of every register, in Wh (varh for reactive), before
/// the per-register offsets and base values are added.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Energy {
    pub import_a: f64,
    pub export_a: f64,
    pub import_b: f64,
    pub export_b: f64,
}

impl Demand {
    pub fn generate(
        seed: Seed,
        twin: bool,
        three_phase: bool,
        scale: f64,
        commissioned: f64,
    ) -> Demand {
        let (lo, hi) = if three_phase {
            (2_000.0, 8_000.0)
        } else {
            (150.0, 900.0)
        };
        Demand {
            import_a_w: seed.range(1, lo, hi),
            peak_a: seed.range(2, 17.0, 20.0) * 3600.0,
            import_b_w: if twin {
                seed.range(3, 100.0, 600.0)
            } else {
                0.0
            },
            peak_b: seed.range(4, 1.0, 5.0) * 3600.0,
            // One meter in three has solar panels.
            solar_w: if seed.below(5, 3) == 0 {
                seed.range(6, 800.0, 3_500.0)
            } else {
                0.0
            },
            scale,
            commissioned,
        }
    }

    /// Energy since commissioning (Wh) of a demand swinging daily around
    /// `mean` W: ∫ mean·(1 + SWING·cos(ω(s − peak))) ds, in closed form.
    fn swinging(&self, mean: f64, peak: f64, t: f64) -> f64 {
        let c = self.commissioned;
        if t <= c {
            return 0.0;
        }
        let joules = mean
            * ((t - c) + SWING / OMEGA * ((OMEGA * (t - peak)).sin() - (OMEGA * (c - peak)).sin()));
        self.scale * joules / 3600.0
    }

    /// Solar export since commissioning (Wh): ∫ peak·max(0, cos(ω(s − 13:00))).
    fn solar(&self, t: f64) -> f64 {
        if self.solar_w == 0.0 || t <= self.commissioned {
            return 0.0;
        }
        // Antiderivative of max(0, cos x): 2 per full period plus the
        // partial positive lobe.
        fn lobes(x: f64) -> f64 {
            let k = ((x + PI / 2.0) / TAU).floor();
            let y = x - TAU * k;
            2.0 * k + if y < PI / 2.0 { y.sin() + 1.0 } else { 2.0 }
        }
        let x = |s: f64| OMEGA * (s - SOLAR_PEAK);
        let joules = self.solar_w / OMEGA * (lobes(x(t)) - lobes(x(self.commissioned)));
        self.scale * joules / 3600.0
    }

    pub fn energy(&self, t: f64) -> Energy {
        Energy {
            import_a: self.swinging(self.import_a_w, self.peak_a, t),
            export_a: self.solar(t),
            import_b: self.swinging(self.import_b_w, self.peak_b, t),
            export_b: 0.0,
        }
    }

    /// Instantaneous import power of elements A and B, W.
    pub fn power(&self, t: f64) -> (f64, f64) {
        let p = |mean: f64, peak: f64| {
            if t <= self.commissioned {
                0.0
            } else {
                self.scale * mean * (1.0 + SWING * (OMEGA * (t - peak)).cos())
            }
        };
        (
            p(self.import_a_w, self.peak_a),
            p(self.import_b_w, self.peak_b),
        )
    }

    /// Instantaneous export power of element A, W.
    pub fn export_power(&self, t: f64) -> f64 {
        if t <= self.commissioned {
            return 0.0;
        }
        self.scale * self.solar_w * (OMEGA * (t - SOLAR_PEAK)).cos().max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand() -> Demand {
        let mut d = Demand::generate(Seed::of("EML2200000001"), true, false, 1.0, 0.0);
        d.solar_w = 1000.0;
        d
    }

    #[test]
    fn registers_increase_and_match_mean_power() {
        let d = demand();
        let mut prev = d.energy(0.0);
        for i in 1..2000 {
            let e = d.energy(f64::from(i) * 97.0);
            assert!(e.import_a >= prev.import_a && e.import_b >= prev.import_b);
            assert!(e.export_a >= prev.export_a);
            prev = e;
        }
        // Over whole days the swing integrates to nothing.
        let ten_days = d.energy(10.0 * DAY).import_a;
        assert!((ten_days - d.import_a_w * 240.0).abs() < 1e-3);
        // Solar: peak × 86400/π J a day.
        let solar_day = d.energy(DAY).export_a;
        assert!((solar_day - 1000.0 * DAY / PI / 3600.0).abs() < 1e-6);
    }

    #[test]
    fn zero_scale_freezes() {
        let mut d = demand();
        d.scale = 0.0;
        assert_eq!(d.energy(1e6).import_a, 0.0);
        assert_eq!(d.power(1e6), (0.0, 0.0));
    }
}
