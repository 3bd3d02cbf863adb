//! Rule 4: the advance between two consecutive cumulative points, with
//! rollover (the register wrapped past its maximum) and reversal (any other
//! drop: advance 0, later advances measured from the new value). Never negative.

use crate::error::{Error, Result};
use crate::{Instant, MicroKwh, Point};

/// Per-register rollover parameters, in micro-kWh. Invariant: 0 ≤ margin ≤ max.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RegisterSpec {
    max: MicroKwh,
    margin: MicroKwh,
}

impl RegisterSpec {
    /// `max`: the register's largest value before it wraps to zero;
    /// `margin`: a drop from a value in `[max − margin, max]` is a rollover.
    pub fn new(max: MicroKwh, margin: MicroKwh) -> Result<RegisterSpec> {
        if max < 0 || margin < 0 || margin > max {
            return Err(Error::InvalidRegister { max, margin });
        }
        Ok(RegisterSpec { max, margin })
    }

    /// A register that never rolls over: every drop is a reversal.
    pub const NO_ROLLOVER: RegisterSpec = RegisterSpec {
        max: MicroKwh::MAX,
        margin: 0,
    };

    pub fn max(&self) -> MicroKwh {
        self.max
    }

    pub fn margin(&self) -> MicroKwh {
        self.margin
    }
}

/// The outcome of rule 4 for one pair of consecutive points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `new ≥ prev`: advance `new − prev`.
    Forward(MicroKwh),
    /// Wrapped past the maximum: advance `(max − prev) + new`.
    Rollover(MicroKwh),
    /// Any other drop: advance 0.
    Reversal,
}

impl Step {
    pub fn energy(self) -> MicroKwh {
        match self {
            Step::Forward(e) | Step::Rollover(e) => e,
            Step::Reversal => 0,
        }
    }
}

/// Rule 4 for cumulative values `prev → new` (both ≥ 0). A rollover needs
/// `new < prev` and `max − margin ≤ prev ≤ max`; a value above the maximum
/// that drops is a reversal (the formula would not be an advance).
#[inline]
pub fn advance(spec: RegisterSpec, prev: MicroKwh, new: MicroKwh) -> Step {
    if new >= prev {
        Step::Forward(new - prev)
    } else if prev <= spec.max && prev >= spec.max - spec.margin && new >= 0 {
        Step::Rollover((spec.max - prev) + new)
    } else {
        Step::Reversal
    }
}

/// An event found while deriving a channel, stamped at `at()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Stamped at `new.ts`.
    Rollover {
        prev: Point,
        new: Point,
        advance: MicroKwh,
    },
    /// Stamped at `new.ts`.
    Reversal { prev: Point, new: Point },
    /// Meter exchange at `at` (reported once, by the old register's channel).
    Exchange {
        at: Instant,
        old_final: Option<MicroKwh>,
        new_initial: Option<MicroKwh>,
    },
}

impl Event {
    pub fn at(&self) -> Instant {
        match self {
            Event::Rollover { new, .. } | Event::Reversal { new, .. } => new.ts,
            Event::Exchange { at, .. } => *at,
        }
    }

    /// The event (if any) of a step between two points.
    pub fn of_step(prev: Point, new: Point, step: Step) -> Option<Event> {
        match step {
            Step::Forward(_) => None,
            Step::Rollover(advance) => Some(Event::Rollover { prev, new, advance }),
            Step::Reversal => Some(Event::Reversal { prev, new }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KWH: i64 = crate::MICRO_PER_KWH;

    fn spec() -> RegisterSpec {
        // A 6-digit kWh register (wraps after 999999.999999 kWh), 1000 kWh margin.
        RegisterSpec::new(999_999 * KWH + 999_999, 1000 * KWH).unwrap()
    }

    #[test]
    fn forward_advance_is_the_difference() {
        assert_eq!(
            advance(spec(), 10 * KWH, 12 * KWH + 500_000),
            Step::Forward(2_500_000)
        );
        assert_eq!(advance(spec(), 7, 7), Step::Forward(0));
    }

    #[test]
    fn drop_near_the_maximum_is_a_rollover() {
        // 999999.5 kWh → 0.7 kWh: 0.499999 kWh up to the maximum, then 0.7 kWh.
        let step = advance(spec(), 999_999 * KWH + 500_000, 700_000);
        assert_eq!(step, Step::Rollover(499_999 + 700_000));
        // Exactly at the edge of the margin still counts.
        let edge = spec().max() - spec().margin();
        assert_eq!(advance(spec(), edge, 0), Step::Rollover(1000 * KWH));
    }

    #[test]
    fn any_other_drop_is_a_reversal_with_zero_advance() {
        assert_eq!(advance(spec(), 500 * KWH, 400 * KWH), Step::Reversal);
        let just_outside = spec().max() - spec().margin() - 1;
        assert_eq!(advance(spec(), just_outside, 0), Step::Reversal);
        // A value above the maximum that drops is not a rollover.
        assert_eq!(advance(spec(), spec().max() + 5, 0), Step::Reversal);
        assert_eq!(advance(RegisterSpec::NO_ROLLOVER, 1, 0), Step::Reversal);
        assert_eq!(Step::Reversal.energy(), 0);
    }

    #[test]
    fn invalid_register_specs_are_refused() {
        assert!(RegisterSpec::new(10, 11).is_err());
        assert!(RegisterSpec::new(-1, 0).is_err());
        assert!(RegisterSpec::new(10, -1).is_err());
        assert!(RegisterSpec::new(0, 0).is_ok());
    }

    #[test]
    fn events_carry_both_points() {
        let a = Point::new(100, 999_999 * KWH);
        let b = Point::new(200, 3);
        let step = advance(spec(), a.value, b.value);
        let e = Event::of_step(a, b, step).unwrap();
        assert_eq!(
            e,
            Event::Rollover {
                prev: a,
                new: b,
                advance: 999_999 + 3
            }
        );
        assert_eq!(e.at(), 200);
        assert_eq!(Event::of_step(a, a, Step::Forward(0)), None);
    }

    proptest! {
        #[test]
        fn advances_are_never_negative_and_never_exceed_the_register(
            max in 0i64..1_000_000_000_000,
            margin_frac in 0.0f64..=1.0,
            prev in 0i64..1_100_000_000_000,
            new in 0i64..1_100_000_000_000,
        ) {
            let margin = (max as f64 * margin_frac) as i64;
            let spec = RegisterSpec::new(max, margin).unwrap();
            let step = advance(spec, prev, new);
            prop_assert!(step.energy() >= 0);
            match step {
                Step::Forward(e) => prop_assert_eq!(e + prev, new),
                Step::Rollover(e) => {
                    prop_assert!(new < prev && prev <= max);
                    prop_assert!(e <= margin + new);
                }
                Step::Reversal => prop_assert!(new < prev),
            }
        }
    }
}
