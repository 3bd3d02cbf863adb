//! Half-hourly energy maths for Flows, with no pgrx: settlement periods,
//! rule-4 advances, HH derivation, and the pure aggregate states the glue wraps.
//! Instants are i64 µs since 2000-01-01T00:00:00Z (PostgreSQL's timestamptz);
//! energy is i64 micro-kWh, so every conservation check is an exact equality.
//!
//! ```
//! use flows_energy::{derive, ChannelInput, EnergyAgg, Point, RegisterSpec, Window, HOUR};
//! let spec = RegisterSpec::new(999_999_999_999, 1_000_000_000).unwrap();
//! let reads = [Point::new(0, 10_000_000), Point::new(HOUR, 12_000_000)];
//! // HH rows of one channel (here for the window [00:30, 01:00) only).
//! let d = derive(&ChannelInput::new(spec, &reads), Some(Window::new(HOUR / 2, HOUR).unwrap())).unwrap();
//! assert_eq!(d.rows.len(), 1);
//! assert_eq!(d.rows[0].energy, 1_000_000); // 1 kWh
//! // The energy_agg aggregate over the same reads.
//! let mut agg = EnergyAgg::ordered(spec);
//! for p in reads { agg.push(p.ts, p.value).unwrap(); }
//! assert_eq!(agg.finalize().unwrap().unwrap().advance, 2_000_000);
//! ```

pub mod advance;
pub mod apportion;
mod codec;
pub mod completeness;
pub mod energy_agg;
pub mod error;
pub mod group;
pub mod hh;
pub mod settlement;
pub mod tariff_cost;

pub use advance::{advance, Event, RegisterSpec, Step};
pub use completeness::{Completeness, CompletenessAgg, MissingRun};
pub use energy_agg::{EnergyAgg, EnergySummary};
pub use error::Error;
pub use group::{group_sum, GroupPeriodAgg, GroupRow};
pub use hh::{derive, derive_events, energy_between, ChannelInput, Derivation, Exchange, HhRow, Quality, Window};
pub use settlement::{Date, SettlementPeriod};
pub use tariff_cost::{Cost, Element, Money, Tariff, TariffCostAgg, TariffSchedule};

/// Microseconds since 2000-01-01T00:00:00Z, UTC (PostgreSQL's internal timestamptz).
pub type Instant = i64;
/// Energy in micro-kWh (1e-6 kWh).
pub type MicroKwh = i64;

pub const SECOND: i64 = 1_000_000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const HALF_HOUR: i64 = 30 * MINUTE;
pub const DAY: i64 = 24 * HOUR;
/// Micro-kWh in one kWh.
pub const MICRO_PER_KWH: i64 = 1_000_000;

/// Seconds from the Unix epoch to the PostgreSQL epoch (2000-01-01T00:00:00Z).
pub const PG_EPOCH_UNIX_SECONDS: i64 = 946_684_800;

/// Instant of a Unix time in whole seconds.
pub const fn from_unix_seconds(seconds: i64) -> Instant {
    (seconds - PG_EPOCH_UNIX_SECONDS) * SECOND
}

/// Unix seconds of an instant, rounded down.
pub const fn to_unix_seconds(t: Instant) -> i64 {
    t.div_euclid(SECOND) + PG_EPOCH_UNIX_SECONDS
}

/// Exact micro-kWh of a decimal kWh text such as `"12.5"` or `"-0.000001"`
/// (PostgreSQL `numeric::text`). More than 6 significant decimals, exponents or
/// junk are refused rather than rounded.
pub fn micro_kwh_from_decimal(s: &str) -> Result<MicroKwh, Error> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, raw_frac) = body.split_once('.').unwrap_or((body, ""));
    let frac = raw_frac.trim_end_matches('0');
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let empty = int.is_empty() && raw_frac.is_empty();
    if empty || !digits(int) || !digits(raw_frac) || frac.len() > 6 {
        return Err(Error::InvalidDecimal);
    }
    let mut v: i64 = 0;
    for b in int
        .bytes()
        .chain(frac.bytes())
        .chain(std::iter::repeat_n(b'0', 6 - frac.len()))
    {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or(Error::Overflow)?;
    }
    Ok(if neg { -v } else { v })
}

/// Decimal kWh text of a micro-kWh amount, e.g. `12.500000`.
pub fn micro_kwh_to_decimal(v: MicroKwh) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:06}", a / 1_000_000, a % 1_000_000)
}

/// A cumulative register value at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Point {
    pub ts: Instant,
    pub value: MicroKwh,
}

impl Point {
    pub const fn new(ts: Instant, value: MicroKwh) -> Point {
        Point { ts, value }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_conversions_round_trip_and_match_the_pg_epoch() {
        // 2000-01-01T00:00:00Z is Unix 946684800 and PostgreSQL's zero.
        assert_eq!(from_unix_seconds(946_684_800), 0);
        // 2024-01-01T00:00:00Z is Unix 1704067200: 8766 days after 2000-01-01.
        assert_eq!(from_unix_seconds(1_704_067_200), 8766 * DAY);
        assert_eq!(to_unix_seconds(8766 * DAY + 999_999), 1_704_067_200);
        assert_eq!(to_unix_seconds(-1), 946_684_799);
        for s in [-5_000_000_000i64, 0, 946_684_800, 1_900_000_000] {
            assert_eq!(to_unix_seconds(from_unix_seconds(s)), s);
        }
    }

    #[test]
    fn decimal_kwh_is_parsed_exactly_or_refused() {
        assert_eq!(micro_kwh_from_decimal("12.5"), Ok(12_500_000));
        assert_eq!(micro_kwh_from_decimal("0.000001"), Ok(1));
        assert_eq!(micro_kwh_from_decimal("-3"), Ok(-3_000_000));
        assert_eq!(micro_kwh_from_decimal("7.1200000000"), Ok(7_120_000));
        assert_eq!(micro_kwh_from_decimal(".5"), Ok(500_000));
        assert_eq!(micro_kwh_from_decimal("0"), Ok(0));
        for bad in [
            "",
            ".",
            "-",
            "1.0000001",
            "1e3",
            "1,5",
            "NaN",
            "1.2.3",
            " 1",
        ] {
            assert_eq!(
                micro_kwh_from_decimal(bad),
                Err(Error::InvalidDecimal),
                "{bad:?}"
            );
        }
        assert_eq!(
            micro_kwh_from_decimal("99999999999999"),
            Err(Error::Overflow)
        );
        assert_eq!(micro_kwh_to_decimal(12_500_000), "12.500000");
        assert_eq!(micro_kwh_to_decimal(-1), "-0.000001");
        for v in [0, 1, -1, 999_999, i64::MAX, i64::MIN + 1] {
            assert_eq!(micro_kwh_from_decimal(&micro_kwh_to_decimal(v)), Ok(v));
        }
    }
}
