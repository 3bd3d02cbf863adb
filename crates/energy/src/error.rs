//! The one error type of the crate. Every variant is a refusal of bad input
//! (never a panic); `code()` gives a stable name the glue maps to a SQLSTATE.

use std::fmt;

use crate::{Instant, MicroKwh};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Two reads (or two profile points) at the same instant with different
    /// values (rule 3). `first` ≤ `second`.
    Conflict {
        at: Instant,
        first: MicroKwh,
        second: MicroKwh,
    },
    /// A cumulative value below zero: registers count up from zero.
    NegativeRead { at: Instant, value: MicroKwh },
    /// A profile point or HH row start not on a :00/:30 UTC boundary.
    NotOnBoundary { at: Instant },
    /// Register maximum / rollover margin not `0 ≤ margin ≤ max`.
    InvalidRegister { max: MicroKwh, margin: MicroKwh },
    /// Partial states or summaries built for different registers / tariffs.
    Mismatch(&'static str),
    /// An ordered (O(1)) energy_agg state got a read strictly inside the
    /// time range it has already summarised; its neighbours are gone.
    OutOfOrder {
        at: Instant,
        first: Instant,
        last: Instant,
    },
    /// Combining or rolling up summaries whose time ranges interleave.
    Overlap,
    /// Exchange instants inconsistent (installed after removed).
    InvalidExchange,
    /// Instant or date outside the supported range (years 1..=9999).
    OutOfRange,
    /// Settlement period outside 1..=periods_in_day(date).
    InvalidPeriod { period: u32, periods_in_day: u32 },
    /// Calendar date that does not exist.
    InvalidDate { year: i32, month: u32, day: u32 },
    /// A range whose end precedes its start.
    InvalidRange,
    /// No tariff in force at an instant that needs one.
    NoTariff { at: Instant },
    /// Tariff list invalid (negative amount, duplicate activation).
    InvalidTariff(&'static str),
    /// A row outside the date range asked of finalize.
    RowOutsideRange { at: Instant },
    /// An exact sum left the i64 range.
    Overflow,
    /// A row priced with a tariff (active from `from`) although a later one
    /// (active from `next`, at or before the row) had replaced it.
    TariffSuperseded {
        at: Instant,
        from: Instant,
        next: Instant,
    },
    /// Two different tariffs given as active from the same instant.
    TariffConflict { from: Instant },
    /// A completeness summary that would expand to more periods than `max`.
    TooManyPeriods { max: u64 },
    /// A decimal kWh text that is not a number with at most 6 decimals.
    InvalidDecimal,
    /// Serialized state of a version this build does not know.
    UnknownVersion { found: u8 },
    /// Serialized state cut short.
    Truncated,
    /// Serialized state that decodes to an impossible state.
    Corrupt(&'static str),
}

impl Error {
    /// Stable machine name of the variant (for SQLSTATE mapping and logs).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Conflict { .. } => "conflict",
            Error::NegativeRead { .. } => "negative_read",
            Error::NotOnBoundary { .. } => "not_on_boundary",
            Error::InvalidRegister { .. } => "invalid_register",
            Error::Mismatch(_) => "mismatch",
            Error::OutOfOrder { .. } => "out_of_order",
            Error::Overlap => "overlap",
            Error::InvalidExchange => "invalid_exchange",
            Error::OutOfRange => "out_of_range",
            Error::InvalidPeriod { .. } => "invalid_period",
            Error::InvalidDate { .. } => "invalid_date",
            Error::InvalidRange => "invalid_range",
            Error::NoTariff { .. } => "no_tariff",
            Error::InvalidTariff(_) => "invalid_tariff",
            Error::RowOutsideRange { .. } => "row_outside_range",
            Error::Overflow => "overflow",
            Error::TariffSuperseded { .. } => "tariff_superseded",
            Error::TariffConflict { .. } => "tariff_conflict",
            Error::TooManyPeriods { .. } => "too_many_periods",
            Error::InvalidDecimal => "invalid_decimal",
            Error::UnknownVersion { .. } => "unknown_version",
            Error::Truncated => "truncated",
            Error::Corrupt(_) => "corrupt",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Conflict { at, first, second } => write!(
                f,
                "conflicting values {first} and {second} micro-kWh at instant {at}"
            ),
            Error::NegativeRead { at, value } => {
                write!(f, "negative cumulative value {value} micro-kWh at instant {at}")
            }
            Error::NotOnBoundary { at } => {
                write!(f, "instant {at} is not on a half-hour boundary")
            }
            Error::InvalidRegister { max, margin } => write!(
                f,
                "invalid register: need 0 <= margin <= max (max {max}, margin {margin})"
            ),
            Error::Mismatch(what) => write!(f, "cannot combine states of different {what}"),
            Error::OutOfOrder { at, first, last } => write!(
                f,
                "read at {at} falls inside the already summarised range [{first}, {last}] of an ordered state"
            ),
            Error::Overlap => write!(f, "summaries cover interleaving time ranges"),
            Error::InvalidExchange => write!(f, "register installed after it was removed"),
            Error::OutOfRange => write!(f, "instant or date outside years 1..=9999"),
            Error::InvalidPeriod {
                period,
                periods_in_day,
            } => write!(
                f,
                "settlement period {period} outside 1..={periods_in_day}"
            ),
            Error::InvalidDate { year, month, day } => {
                write!(f, "no such date {year:04}-{month:02}-{day:02}")
            }
            Error::InvalidRange => write!(f, "range end precedes its start"),
            Error::NoTariff { at } => write!(f, "no tariff in force at instant {at}"),
            Error::InvalidTariff(why) => write!(f, "invalid tariff: {why}"),
            Error::RowOutsideRange { at } => {
                write!(f, "row at instant {at} is outside the requested range")
            }
            Error::Overflow => write!(f, "sum out of the 64-bit range"),
            Error::TariffSuperseded { at, from, next } => write!(
                f,
                "row at instant {at} is priced with the tariff active from {from}, but the one active from {next} replaced it"
            ),
            Error::TariffConflict { from } => {
                write!(f, "two different tariffs are active from instant {from}")
            }
            Error::TooManyPeriods { max } => {
                write!(f, "a completeness summary holds at most {max} periods")
            }
            Error::InvalidDecimal => {
                write!(f, "not a kWh amount with at most 6 decimal places")
            }
            Error::UnknownVersion { found } => {
                write!(f, "unknown serialization version {found}")
            }
            Error::Truncated => write!(f, "serialized state is truncated"),
            Error::Corrupt(why) => write!(f, "serialized state is corrupt: {why}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
