//! `flows.log_hh_changes()`: the statement trigger of register_interval_hh.
//! Changed rows are checked against meter_registers (flows.lock_registers)
//! and their time range per register logged for the roll-ups
//! (flows.invalidate_rollups). The ranges are gathered straight from the
//! transition tables: a refresh writes hundreds of thousands of half hours
//! in one statement, and grouping them in SQL cost more than the rest of the
//! trigger.

use crate::types::fmgr::{raise, v1_functions};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::collections::HashMap;

/// Per register (in order of first appearance): first and last timestamp.
#[derive(Default)]
struct Ranges {
    index: HashMap<[u8; 16], usize>,
    registers: Vec<[u8; 16]>,
    first: Vec<i64>,
    last: Vec<i64>,
}

impl Ranges {
    fn add(&mut self, register: [u8; 16], at: i64) {
        // Rows come grouped by register more often than not.
        let i = match self.registers.last() {
            Some(r) if *r == register => self.registers.len() - 1,
            _ => *self.index.entry(register).or_insert_with(|| {
                self.registers.push(register);
                self.first.push(at);
                self.last.push(at);
                self.registers.len() - 1
            }),
        };
        self.first[i] = self.first[i].min(at);
        self.last[i] = self.last[i].max(at);
    }

    fn arrays(&self) -> (Vec<pgrx::Uuid>, Vec<TimestampWithTimeZone>, Vec<TimestampWithTimeZone>) {
        let ts = |v: &Vec<i64>| {
            v.iter()
                .map(|t| TimestampWithTimeZone::try_from(*t).expect("a stored timestamptz"))
                .collect()
        };
        (
            self.registers.iter().map(|r| pgrx::Uuid::from_bytes(*r)).collect(),
            ts(&self.first),
            ts(&self.last),
        )
    }
}

unsafe fn attribute(tupdesc: pg_sys::TupleDesc, name: &str) -> i32 {
    unsafe {
        for i in 0..(*tupdesc).natts as usize {
            let attr = &*(*tupdesc).attrs.as_ptr().add(i);
            if !attr.attisdropped && std::ffi::CStr::from_ptr(attr.attname.data.as_ptr()).to_bytes() == name.as_bytes() {
                return i as i32 + 1;
            }
        }
    }
    raise(
        PgSqlErrorCode::ERRCODE_TRIGGERED_ACTION_EXCEPTION,
        format!("log_hh_changes: the table has no column {name}"),
        None,
    )
}

/// The registers and time ranges of a transition table.
unsafe fn ranges(store: *mut pg_sys::Tuplestorestate, tupdesc: pg_sys::TupleDesc) -> Ranges {
    let mut out = Ranges::default();
    if store.is_null() {
        return out;
    }
    unsafe {
        let register = attribute(tupdesc, "register_id");
        let at = attribute(tupdesc, "timestamp");
        let slot = pg_sys::MakeSingleTupleTableSlot(tupdesc, &pg_sys::TTSOpsMinimalTuple);
        let reader = pg_sys::tuplestore_alloc_read_pointer(store, 0);
        pg_sys::tuplestore_select_read_pointer(store, reader);
        pg_sys::tuplestore_rescan(store);
        let mut isnull = false;
        while pg_sys::tuplestore_gettupleslot(store, true, false, slot) {
            let r = pg_sys::slot_getattr(slot, register, &mut isnull);
            if isnull {
                continue; // NOT NULL refuses it before us
            }
            let bytes = *r.cast_mut_ptr::<[u8; 16]>();
            let t = pg_sys::slot_getattr(slot, at, &mut isnull);
            if isnull {
                continue;
            }
            out.add(bytes, t.value() as i64);
        }
        pg_sys::ExecDropSingleTupleTableSlot(slot);
    }
    out
}

v1_functions! {
    fn log_hh_changes / pg_finfo_log_hh_changes (fcinfo) {
        unsafe { log(fcinfo) }
    }
}

unsafe fn log(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    unsafe {
        let context = (*fcinfo).context;
        if context.is_null() || (*context).type_ != pg_sys::NodeTag::T_TriggerData {
            raise(
                PgSqlErrorCode::ERRCODE_TRIGGERED_ACTION_EXCEPTION,
                "log_hh_changes must be called as a trigger".into(),
                None,
            );
        }
        let trigger = context.cast::<pg_sys::TriggerData>();
        let relation = (*trigger).tg_relation;
        let tupdesc = (*relation).rd_att;
        let table = std::ffi::CStr::from_ptr((*(*relation).rd_rel).relname.data.as_ptr())
            .to_string_lossy()
            .into_owned();
        let changed = ranges((*trigger).tg_newtable, tupdesc);
        let previous = ranges((*trigger).tg_oldtable, tupdesc);
        for (r, check) in [(changed, true), (previous, false)] {
            if r.registers.is_empty() {
                continue;
            }
            let (ids, first, last) = r.arrays();
            if check {
                Spi::run_with_args(
                    "SELECT flows.lock_registers($1, $2)",
                    &[ids.clone().into(), table.clone().into()],
                )
                .unwrap_or_else(|e| panic!("{e}"));
            }
            Spi::run_with_args(
                "SELECT flows.invalidate_rollups($1, $2, $3)",
                &[ids.into(), first.into(), last.into()],
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
        pg_sys::Datum::from(0) // AFTER ... FOR EACH STATEMENT: the result is ignored
    }
}
