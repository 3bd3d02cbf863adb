//! `flows.derive_hh`: one channel's half-hourly rows and events for a window,
//! from the window's context points (DOMAIN.md rules 1, 3–8). Pure over its
//! arguments: the SQL around it (sql/86_hh.sql) gathers the points, decides
//! the window and writes the result.

use crate::types::raise;
use flows_energy::advance::RegisterSpec;
use flows_energy::{derive, ChannelInput, Event, Exchange, Point, Quality, Window};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;

fn instant(t: TimestampWithTimeZone, what: &str) -> i64 {
    instant_datum(pg_sys::Datum::from(pg_sys::TimestampTz::from(t)), what)
}

/// A timestamptz datum as an instant; infinities are refused.
fn instant_datum(d: pg_sys::Datum, what: &str) -> i64 {
    let t = d.value() as i64;
    if t == i64::MIN || t == i64::MAX {
        raise(
            PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
            format!("derive_hh: {what} must be a finite timestamp"),
            None,
        );
    }
    t
}

fn timestamptz(t: i64) -> TimestampWithTimeZone {
    TimestampWithTimeZone::try_from(t).expect("an instant of flows-energy is a valid timestamptz")
}

fn points(
    at: Option<Array<TimestampWithTimeZone>>,
    micro: Option<Array<i64>>,
    what: &str,
) -> Vec<Point> {
    let (Some(at), Some(micro)) = (at, micro) else {
        return Vec::new();
    };
    if at.len() != micro.len() {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "derive_hh: {what} has {} instants but {} values",
                at.len(),
                micro.len()
            ),
            None,
        );
    }
    at.iter()
        .zip(micro.iter())
        .filter_map(|(t, v)| Some(Point::new(instant(t?, what), v?)))
        .collect()
}

fn refuse(e: flows_energy::Error) -> ! {
    use flows_energy::Error as E;
    let (code, hint) = match e {
        E::Conflict { .. } => (
            PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION,
            Some("a cumulative read is fixed once recorded; delete the wrong one first"),
        ),
        E::NegativeRead { .. } | E::InvalidRegister { .. } | E::InvalidExchange => {
            (PgSqlErrorCode::ERRCODE_CHECK_VIOLATION, None)
        }
        E::NotOnBoundary { .. } => (
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            Some("profile points sit on :00/:30 UTC boundaries"),
        ),
        E::Overflow => (PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, None),
        _ => (PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW, None),
    };
    raise(code, format!("derive_hh: {e}"), hint)
}

type Row = (
    String,
    TimestampWithTimeZone,
    Option<i64>,
    Option<String>,
    Option<bool>,
    Option<TimestampWithTimeZone>,
    Option<i64>,
    Option<i64>,
);

/// Rows (`kind` = 'hh') of the periods starting in `[window_start,
/// window_end)` and events ('rollover', 'reversal', 'exchange') stamped in
/// it. Energy and values are micro-kWh. `register_max_micro` NULL: the
/// register never rolls over. The installed/removed exchange values are the
/// register's initial/final value at the exchange, if known.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
#[pg_extern(immutable, parallel_safe)]
fn derive_hh(
    window_start: TimestampWithTimeZone,
    window_end: TimestampWithTimeZone,
    read_at: Option<Array<TimestampWithTimeZone>>,
    read_micro: Option<Array<i64>>,
    profile_at: Option<Array<TimestampWithTimeZone>>,
    profile_micro: Option<Array<i64>>,
    register_max_micro: Option<i64>,
    rollover_margin_micro: Option<i64>,
    installed_at: Option<TimestampWithTimeZone>,
    initial_micro: Option<i64>,
    removed_at: Option<TimestampWithTimeZone>,
    final_micro: Option<i64>,
) -> TableIterator<
    'static,
    (
        name!(kind, String),
        name!(at, TimestampWithTimeZone),
        name!(micro_kwh, Option<i64>),
        name!(quality, Option<String>),
        name!(partial, Option<bool>),
        name!(previous_at, Option<TimestampWithTimeZone>),
        name!(previous_micro, Option<i64>),
        name!(new_micro, Option<i64>),
    ),
> {
    let window = Window::new(
        instant(window_start, "window_start"),
        instant(window_end, "window_end"),
    )
    .unwrap_or_else(|e| refuse(e));
    let register = match register_max_micro {
        None => RegisterSpec::NO_ROLLOVER,
        Some(max) => RegisterSpec::new(max, rollover_margin_micro.unwrap_or(max / 100))
            .unwrap_or_else(|e| refuse(e)),
    };
    let reads = points(read_at, read_micro, "reads");
    let profile = points(profile_at, profile_micro, "profile points");
    let input = ChannelInput {
        register,
        reads: &reads,
        profile: &profile,
        installed_by: installed_at.map(|t| Exchange {
            at: instant(t, "installed_at"),
            old_final: None,
            new_initial: initial_micro,
        }),
        removed_by: removed_at.map(|t| Exchange {
            at: instant(t, "removed_at"),
            old_final: final_micro,
            new_initial: None,
        }),
    };
    let d = derive(&input, Some(window)).unwrap_or_else(|e| refuse(e));
    let rows = d.rows.into_iter().map(|r| -> Row {
        let quality = match r.quality {
            Quality::Actual => "actual",
            Quality::Estimated => "estimated",
        };
        (
            "hh".into(),
            timestamptz(r.start),
            Some(r.energy),
            Some(quality.into()),
            Some(r.partial),
            None,
            None,
            None,
        )
    });
    let events = d.events.into_iter().map(|e| -> Row {
        match e {
            Event::Rollover { prev, new, advance } => (
                "rollover".into(),
                timestamptz(new.ts),
                Some(advance),
                None,
                None,
                Some(timestamptz(prev.ts)),
                Some(prev.value),
                Some(new.value),
            ),
            Event::Reversal { prev, new } => (
                "reversal".into(),
                timestamptz(new.ts),
                Some(0),
                None,
                None,
                Some(timestamptz(prev.ts)),
                Some(prev.value),
                Some(new.value),
            ),
            Event::Exchange { at, old_final, .. } => (
                "exchange".into(),
                timestamptz(at),
                None,
                None,
                None,
                None,
                old_final,
                None,
            ),
        }
    });
    TableIterator::new(rows.chain(events).collect::<Vec<_>>())
}

/// `flows.derive_register_hh` / `flows.derive_register_events`: what
/// `flows.refresh_hh()` writes for one register, both directions at once —
/// half-hourly rows with import and export side by side (as
/// `register_interval_hh` holds them), or its events — straight into a
/// tuplestore with numerics built from their digits. One call per register
/// keeps the per-row cost near that of a plain scan; the pure derivation is
/// the same as `derive_hh`'s.
mod register {
    use super::{instant_datum, refuse};
    use crate::numeric::{micro_numeric_typmod, numeric_micro};
    use crate::types::fmgr::{arg_datum, raise, v1_functions};
    use flows_energy::advance::RegisterSpec;
    use flows_energy::{derive, derive_events, ChannelInput, Event, Exchange, HhRow, Point, Quality, Window};
    use pgrx::pg_sys;
    use pgrx::PgSqlErrorCode;

    use flows_energy::HALF_HOUR;

    const SLOTS_PER_DAY: usize = 48;

    // Argument positions (see sql/91_profile_days.sql).
    const REGISTER_ID: usize = 0;
    const REGISTER_MAX: usize = 1;
    const ROLLOVER_MARGIN: usize = 2;
    const INSTALLED: usize = 3; // at, old final import/export, new initial import/export
    const REMOVED: usize = 8;
    const IMPORT: usize = 13; // window start/end, read at/kWh, profile days/kWh
    const EXPORT: usize = 19;


    unsafe fn is_null(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> bool {
        unsafe { pgrx::fcinfo::pg_arg_is_null(fcinfo, n) }
    }

    unsafe fn opt_instant(fcinfo: pg_sys::FunctionCallInfo, n: usize, what: &str) -> Option<i64> {
        if unsafe { is_null(fcinfo, n) } {
            return None;
        }
        Some(instant_datum(unsafe { arg_datum(fcinfo, n) }, what))
    }

    fn micro(d: pg_sys::Datum, what: &str) -> i64 {
        numeric_micro(d).unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("derive_register_hh: {what} must be a finite kWh value with at most 6 decimals"),
                None,
            )
        })
    }

    unsafe fn opt_micro(fcinfo: pg_sys::FunctionCallInfo, n: usize, what: &str) -> Option<i64> {
        if unsafe { is_null(fcinfo, n) } {
            return None;
        }
        Some(micro(unsafe { arg_datum(fcinfo, n) }, what))
    }

    /// A 1-D or 2-D array argument's elements in storage order; NULL → empty.
    unsafe fn elements(
        fcinfo: pg_sys::FunctionCallInfo,
        n: usize,
        elem_type: pg_sys::Oid,
    ) -> Vec<Option<pg_sys::Datum>> {
        if unsafe { is_null(fcinfo, n) } {
            return Vec::new();
        }
        unsafe {
            let array = pg_sys::pg_detoast_datum(arg_datum(fcinfo, n).cast_mut_ptr()).cast::<pg_sys::ArrayType>();
            let (len, byval, align) = if elem_type == pg_sys::NUMERICOID {
                (-1, false, b'i' as std::ffi::c_char)
            } else {
                (8, true, b'd' as std::ffi::c_char)
            };
            let mut datums: *mut pg_sys::Datum = std::ptr::null_mut();
            let mut nulls: *mut bool = std::ptr::null_mut();
            let mut count = 0;
            pg_sys::deconstruct_array(array, elem_type, len, byval, align, &mut datums, &mut nulls, &mut count);
            (0..count as usize)
                .map(|i| (!*nulls.add(i)).then(|| *datums.add(i)))
                .collect()
        }
    }

    struct Channel {
        window: Window,
        reads: Vec<Point>,
        profile: Vec<Point>,
    }

    unsafe fn channel(fcinfo: pg_sys::FunctionCallInfo, at: usize, name: &str) -> Option<Channel> {
        let (Some(start), Some(end)) = (unsafe { opt_instant(fcinfo, at, "window_start") }, unsafe {
            opt_instant(fcinfo, at + 1, "window_end")
        }) else {
            return None;
        };
        let window = Window::new(start, end).unwrap_or_else(|e| refuse(e));
        let read_at = unsafe { elements(fcinfo, at + 2, pg_sys::TIMESTAMPTZOID) };
        let read_kwh = unsafe { elements(fcinfo, at + 3, pg_sys::NUMERICOID) };
        let days = unsafe { elements(fcinfo, at + 4, pg_sys::TIMESTAMPTZOID) };
        let day_kwh = unsafe { elements(fcinfo, at + 5, pg_sys::NUMERICOID) };
        if read_at.len() != read_kwh.len() || day_kwh.len() != days.len() * SLOTS_PER_DAY {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!(
                    "derive_register_hh: {name}: {} read instants for {} values, {} profile days for {} values (48 a day)",
                    read_at.len(),
                    read_kwh.len(),
                    days.len(),
                    day_kwh.len()
                ),
                None,
            );
        }
        let reads = read_at
            .iter()
            .zip(&read_kwh)
            .filter_map(|(t, v)| Some(Point::new(instant_datum((*t)?, "read at"), micro((*v)?, "read_kwh"))))
            .collect();
        let mut profile = Vec::with_capacity(day_kwh.len());
        for (day, slots) in days.iter().zip(day_kwh.chunks(SLOTS_PER_DAY)) {
            let Some(day) = day else { continue };
            let day = instant_datum(*day, "profile day");
            for (i, v) in slots.iter().enumerate() {
                if let Some(v) = v {
                    profile.push(Point::new(day + i as i64 * HALF_HOUR, micro(*v, "profile read_kwh")));
                }
            }
        }
        Some(Channel { window, reads, profile })
    }

    unsafe fn exchange(fcinfo: pg_sys::FunctionCallInfo, at: usize, import: bool) -> Option<Exchange> {
        let when = unsafe { opt_instant(fcinfo, at, "exchanged_at") }?;
        let pick = if import { 0 } else { 1 };
        Some(Exchange {
            at: when,
            old_final: unsafe { opt_micro(fcinfo, at + 1 + pick, "old final value") },
            new_initial: unsafe { opt_micro(fcinfo, at + 3 + pick, "new initial value") },
        })
    }

    /// The datum of an enum label of the result column `column`.
    unsafe fn label(tupdesc: pg_sys::TupleDesc, column: usize, name: &str) -> pg_sys::Datum {
        unsafe {
            let typid = (*(*tupdesc).attrs.as_ptr().add(column)).atttypid;
            let cname = std::ffi::CString::new(name).expect("enum labels have no NUL");
            let (mut input, mut ioparam) = (pg_sys::Oid::INVALID, pg_sys::Oid::INVALID);
            pg_sys::getTypeInputInfo(typid, &mut input, &mut ioparam);
            pg_sys::OidInputFunctionCall(input, cname.as_ptr().cast_mut(), ioparam, -1)
        }
    }

    v1_functions! {
        fn derive_register_hh / pg_finfo_derive_register_hh (fcinfo) {
            unsafe {
                let (rows, _) = derive_register(fcinfo, true);
                emit_half_hours(fcinfo, &rows)
            }
        }

        fn derive_register_events / pg_finfo_derive_register_events (fcinfo) {
            unsafe {
                let (_, events) = derive_register(fcinfo, false);
                emit_events(fcinfo, &events)
            }
        }
    }

    /// Both channels' rows (import first) and events of the register.
    type Derived = ([Vec<HhRow>; 2], [Vec<Event>; 2]);

    /// With `half_hours` false, only the events (no apportioning).
    unsafe fn derive_register(fcinfo: pg_sys::FunctionCallInfo, half_hours: bool) -> Derived {
        unsafe {
            if is_null(fcinfo, REGISTER_ID) {
                raise(
                    PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                    "derive_register_hh: register_id must not be NULL".into(),
                    None,
                );
            }
            let register = match opt_micro(fcinfo, REGISTER_MAX, "register_max_kwh") {
                None => RegisterSpec::NO_ROLLOVER,
                Some(max) => RegisterSpec::new(
                    max,
                    opt_micro(fcinfo, ROLLOVER_MARGIN, "rollover_margin_kwh").unwrap_or(max / 100),
                )
                .unwrap_or_else(|e| refuse(e)),
            };
            let mut derived: Derived = Default::default();
            for (slot, (at, import)) in [(IMPORT, true), (EXPORT, false)].into_iter().enumerate() {
                let Some(c) = channel(fcinfo, at, if import { "import" } else { "export" }) else {
                    continue;
                };
                let input = ChannelInput {
                    register,
                    reads: &c.reads,
                    profile: &c.profile,
                    installed_by: exchange(fcinfo, INSTALLED, import),
                    removed_by: exchange(fcinfo, REMOVED, import),
                };
                if half_hours {
                    derived.0[slot] = derive(&input, Some(c.window)).unwrap_or_else(|e| refuse(e)).rows;
                } else {
                    derived.1[slot] = derive_events(&input, Some(c.window)).unwrap_or_else(|e| refuse(e));
                }
            }
            derived
        }
    }

    /// The result set of a materialize-mode call: a tuplestore for rows of
    /// the declared result type, whose columns are found by name (so they
    /// follow the table the function returns rows of).
    struct Output {
        store: *mut pg_sys::Tuplestorestate,
        tupdesc: pg_sys::TupleDesc,
        columns: Vec<String>,
        typmods: Vec<i32>,
        row_context: pg_sys::MemoryContext,
        caller: pg_sys::MemoryContext,
    }

    impl Output {
        unsafe fn new(fcinfo: pg_sys::FunctionCallInfo, name: &str) -> Output {
            unsafe {
                let rsinfo = (*fcinfo).resultinfo.cast::<pg_sys::ReturnSetInfo>();
                if rsinfo.is_null()
                    || (*rsinfo).type_ != pg_sys::NodeTag::T_ReturnSetInfo
                    || (*rsinfo).allowedModes & pg_sys::SetFunctionReturnMode::SFRM_Materialize as i32 == 0
                {
                    raise(
                        PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                        format!("{name} must be called where a set is accepted (FROM)"),
                        None,
                    );
                }
                let per_query = (*(*rsinfo).econtext).ecxt_per_query_memory;
                let old = pg_sys::MemoryContextSwitchTo(per_query);
                let mut tupdesc: pg_sys::TupleDesc = std::ptr::null_mut();
                if pg_sys::get_call_result_type(fcinfo, std::ptr::null_mut(), &mut tupdesc)
                    != pg_sys::TypeFuncClass::TYPEFUNC_COMPOSITE
                {
                    raise(
                        PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                        format!("{name} must return rows"),
                        None,
                    );
                }
                let tupdesc = pg_sys::CreateTupleDescCopy(tupdesc);
                let store = pg_sys::tuplestore_begin_heap(true, false, pg_sys::work_mem);
                (*rsinfo).returnMode = pg_sys::SetFunctionReturnMode::SFRM_Materialize;
                (*rsinfo).setResult = store;
                (*rsinfo).setDesc = tupdesc;
                pg_sys::MemoryContextSwitchTo(old);
                let columns = (0..(*tupdesc).natts as usize)
                    .map(|i| {
                        let attr = &*(*tupdesc).attrs.as_ptr().add(i);
                        if attr.attisdropped {
                            String::new()
                        } else {
                            std::ffi::CStr::from_ptr(attr.attname.data.as_ptr()).to_string_lossy().into_owned()
                        }
                    })
                    .collect();
                let typmods = (0..(*tupdesc).natts as usize)
                    .map(|i| (*(*tupdesc).attrs.as_ptr().add(i)).atttypmod)
                    .collect();
                let row_context = pg_sys::AllocSetContextCreateExtended(
                    pg_sys::CurrentMemoryContext,
                    c"derive_register_hh row".as_ptr(),
                    pg_sys::ALLOCSET_SMALL_MINSIZE as usize,
                    pg_sys::ALLOCSET_SMALL_INITSIZE as usize,
                    pg_sys::ALLOCSET_SMALL_MAXSIZE as usize,
                );
                let caller = pg_sys::MemoryContextSwitchTo(row_context);
                Output { store, tupdesc, columns, typmods, row_context, caller }
            }
        }

        /// `micro` in the type of column `column` (its scale and precision:
        /// these rows reach the table without a coercion).
        fn numeric(&self, column: usize, micro: i64, at: i64) -> pg_sys::Datum {
            micro_numeric_typmod(micro, self.typmods[column]).unwrap_or_else(|| {
                let at = super::timestamptz(at);
                raise(
                    PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                    format!(
                        "derive_register_hh: {} of {} kWh at {at} is out of the column's range",
                        self.columns[column],
                        flows_energy::micro_kwh_to_decimal(micro)
                    ),
                    Some("a register read far off its neighbours; check the reads around that time"),
                )
            })
        }

        fn column(&self, name: &str) -> Option<usize> {
            self.columns.iter().position(|c| c == name)
        }

        /// The datum of an enum label of the column `column`.
        unsafe fn label(&self, column: usize, name: &str) -> pg_sys::Datum {
            unsafe { label(self.tupdesc, column, name) }
        }

        unsafe fn put(&self, values: &mut [pg_sys::Datum], nulls: &mut [bool]) {
            unsafe {
                pg_sys::tuplestore_putvalues(self.store, self.tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
                pg_sys::MemoryContextReset(self.row_context);
            }
        }

        unsafe fn finish(self, fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
            unsafe {
                pg_sys::MemoryContextSwitchTo(self.caller);
                pg_sys::MemoryContextDelete(self.row_context);
                pgrx::fcinfo::pg_return_null(fcinfo)
            }
        }
    }

    fn required(out: &Output, name: &str) -> usize {
        out.column(name).unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("derive_register_hh: the result has no column {name}"),
                None,
            )
        })
    }

    /// Rows of register_interval_hh: import and export of a period side by side.
    unsafe fn emit_half_hours(fcinfo: pg_sys::FunctionCallInfo, rows: &[Vec<HhRow>; 2]) -> pg_sys::Datum {
        unsafe {
            let out = Output::new(fcinfo, "derive_register_hh");
            let register_column = required(&out, "register_id");
            let at_column = required(&out, "timestamp");
            let channel_columns = [
                [required(&out, "import_kwh"), required(&out, "import_quality"), required(&out, "import_partial")],
                [required(&out, "export_kwh"), required(&out, "export_quality"), required(&out, "export_partial")],
            ];
            let qualities = [
                [out.label(channel_columns[0][1], "actual"), out.label(channel_columns[0][1], "estimated")],
                [out.label(channel_columns[1][1], "actual"), out.label(channel_columns[1][1], "estimated")],
            ];
            let n = out.columns.len();
            let mut values = vec![pg_sys::Datum::from(0); n];
            let mut nulls = vec![true; n];
            values[register_column] = arg_datum(fcinfo, REGISTER_ID);
            nulls[register_column] = false;
            nulls[at_column] = false;

            let mut next = [0usize; 2];
            loop {
                let start = (0..2).filter_map(|c| rows[c].get(next[c]).map(|r| r.start)).min();
                let Some(start) = start else { break };
                values[at_column] = pg_sys::Datum::from(start);
                for c in 0..2 {
                    let [kwh, quality, partial] = channel_columns[c];
                    match rows[c].get(next[c]) {
                        Some(r) if r.start == start => {
                            values[kwh] = out.numeric(kwh, r.energy, start);
                            values[quality] = qualities[c][usize::from(r.quality != Quality::Actual)];
                            values[partial] = pg_sys::Datum::from(r.partial);
                            for col in [kwh, quality, partial] {
                                nulls[col] = false;
                            }
                            next[c] += 1;
                        }
                        _ => {
                            for col in [kwh, quality, partial] {
                                nulls[col] = true;
                            }
                        }
                    }
                }
                out.put(&mut values, &mut nulls);
            }
            out.finish(fcinfo)
        }
    }

    /// Rows of register_events (recorded_at: now(), as the table's default).
    unsafe fn emit_events(fcinfo: pg_sys::FunctionCallInfo, events: &[Vec<Event>; 2]) -> pg_sys::Datum {
        unsafe {
            let out = Output::new(fcinfo, "derive_register_events");
            let register_column = required(&out, "register_id");
            let direction_column = required(&out, "direction");
            let at_column = required(&out, "timestamp");
            let kind_column = required(&out, "kind");
            let value_columns = [
                required(&out, "previous_at"),
                required(&out, "previous_kwh"),
                required(&out, "new_kwh"),
                required(&out, "advance_kwh"),
            ];
            let directions = [out.label(direction_column, "import"), out.label(direction_column, "export")];
            let n = out.columns.len();
            let mut values = vec![pg_sys::Datum::from(0); n];
            let mut nulls = vec![true; n];
            values[register_column] = arg_datum(fcinfo, REGISTER_ID);
            for col in [register_column, direction_column, at_column, kind_column] {
                nulls[col] = false;
            }
            if let Some(col) = out.column("recorded_at") {
                values[col] = pg_sys::Datum::from(pg_sys::GetCurrentTransactionStartTimestamp());
                nulls[col] = false;
            }
            for (c, direction) in directions.iter().enumerate() {
                for ev in &events[c] {
                    let (kind, at, previous_at, previous, new, advance) = match *ev {
                        Event::Rollover { prev, new, advance } => {
                            ("rollover", new.ts, Some(prev.ts), Some(prev.value), Some(new.value), Some(advance))
                        }
                        Event::Reversal { prev, new } => {
                            ("reversal", new.ts, Some(prev.ts), Some(prev.value), Some(new.value), Some(0))
                        }
                        Event::Exchange { at, old_final, new_initial } => {
                            ("exchange", at, None, old_final, new_initial, None)
                        }
                    };
                    values[direction_column] = *direction;
                    values[at_column] = pg_sys::Datum::from(at);
                    values[kind_column] = out.label(kind_column, kind);
                    let [_, previous_column, new_column, advance_column] = value_columns;
                    let datums = [
                        previous_at.map(pg_sys::Datum::from),
                        previous.map(|v| out.numeric(previous_column, v, at)),
                        new.map(|v| out.numeric(new_column, v, at)),
                        advance.map(|v| out.numeric(advance_column, v, at)),
                    ];
                    for (col, v) in value_columns.into_iter().zip(datums) {
                        values[col] = v.unwrap_or(pg_sys::Datum::from(0));
                        nulls[col] = v.is_none();
                    }
                    out.put(&mut values, &mut nulls);
                }
            }
            out.finish(fcinfo)
        }
    }
}

/// `flows.on_half_hour(timestamptz)`: the instant is a :00/:30 UTC boundary
/// (rule 1). The CHECK of every half-hourly row: date_bin() costs several
/// times more, per row of every refresh.
mod grid {
    use crate::types::fmgr::{arg_datum, v1_functions};
    use flows_energy::HALF_HOUR;
    use pgrx::pg_sys;

    v1_functions! {
        fn on_half_hour / pg_finfo_on_half_hour (fcinfo) {
            // The epoch of timestamptz (2000-01-01 00:00 UTC) is on the grid; ±infinity is not.
            let t = unsafe { arg_datum(fcinfo, 0) }.value() as i64;
            pg_sys::Datum::from(t != i64::MIN && t != i64::MAX && t % HALF_HOUR == 0)
        }
    }
}
