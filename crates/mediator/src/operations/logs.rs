//! The logs read with `sendRawMessage`: event-log pages (newest first) and a
//! UTC day of half-hourly profile points walked as the reference downloader
//! walks it (log 1 import registers, log 2 export registers).

use super::args::{EventLogArgs, ProfileLogArgs};
use super::{codes, decimal_text, Ctx, Failure};
use flows_emop::enums::EVENT_ID;
use flows_emop::event_log::{decode_event_log, event_log_request};
use flows_emop::hardware::{is_three_phase, is_twin_element};
use flows_emop::profile_log::{
    day_request_times, decode_log_1, decode_log_2, profile_log_1_request, profile_log_2_request,
    RecordStatus,
};
use flows_emop::time::utc_iso_from_seconds_since_2000;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Event id 0 marks an empty slot; the reference sync job drops it too.
const EMPTY_EVENT_ID: u8 = 0;

pub(super) async fn event_log(ctx: &Ctx<'_>, a: &EventLogArgs) -> Result<Value, Failure> {
    let mut events = Vec::new();
    for index in a.from_index..a.from_index + a.count {
        let request = event_log_request(i64::from(index)).expect("index checked by args");
        let reply = ctx
            .raw(&request)
            .await
            .map_err(|f| f.with_partial(json!({ "events": events.clone() })))?;
        let page = decode_event_log(&reply).map_err(|e| {
            Failure::bad_payload(&e).with_partial(json!({ "events": events.clone() }))
        })?;
        let mut reached_known = false;
        for (position, event) in page.events.iter().enumerate() {
            if event.event_id == EMPTY_EVENT_ID {
                continue;
            }
            if a.after.is_some_and(|after| event.timestamp <= after) {
                reached_known = true;
                continue;
            }
            events.push(json!({
                "timestamp": utc_iso_from_seconds_since_2000(i64::from(event.timestamp)),
                "event_type": EVENT_ID
                    .name_of(event.event_id)
                    .map_or_else(|| format!("unknown_{}", event.event_id), str::to_string),
                "details": {
                    "event_id": event.event_id,
                    "event_set": event.event_set,
                    "log_index": index,
                    "position": position,
                },
            }));
        }
        // Pages run from newest to oldest: once a page reaches events
        // already known, older pages hold nothing new.
        if reached_known {
            break;
        }
    }
    Ok(json!({ "events": events }))
}

/// One half-hour point, filled from either log.
#[derive(Default)]
struct Point {
    import: Option<(u32, u32, RecordStatus)>,
    export: Option<(u32, Option<u32>, RecordStatus)>,
}

const HALF_HOUR: u32 = 1800;
const DAY: u32 = 86_400;

pub(super) async fn profile_log(ctx: &Ctx<'_>, a: &ProfileLogArgs) -> Result<Value, Failure> {
    let hw = ctx.hardware().await?;
    if is_three_phase(&hw) {
        return Err(Failure::permanent(
            codes::UNSUPPORTED_HARDWARE,
            format!(
                "profile_log: meter hardware is {hw}; three-phase meters keep interval profiles, not profile logs 1 and 2"
            ),
        ));
    }
    // Log 2's layout depends on it and the reply does not say (§8.2).
    let twin = is_twin_element(&hw);
    let day_end = a.day_start + DAY;
    let mut points: BTreeMap<u32, Point> = BTreeMap::new();

    for t in day_request_times(a.year, a.month, a.day, 1, twin) {
        let reply = ctx
            .raw(&profile_log_1_request(t))
            .await
            .map_err(|f| f.with_partial(points_json(&points, twin)))?;
        let log = decode_log_1(&reply)
            .map_err(|e| Failure::bad_payload(&e).with_partial(points_json(&points, twin)))?;
        // A meter with nothing for the time answers with its next data,
        // possibly months ahead: the rest of the day is empty.
        if log.records.first().is_some_and(|r| r.timestamp >= day_end) {
            break;
        }
        for r in &log.records {
            if in_day(r.timestamp, a.day_start, day_end) {
                let point = points.entry(r.timestamp).or_default();
                point
                    .import
                    .get_or_insert((r.import_a, r.import_b, r.status));
            }
        }
    }
    if a.export {
        for t in day_request_times(a.year, a.month, a.day, 2, twin) {
            let reply = ctx
                .raw(&profile_log_2_request(t))
                .await
                .map_err(|f| f.with_partial(points_json(&points, twin)))?;
            let log = decode_log_2(&reply, twin)
                .map_err(|e| Failure::bad_payload(&e).with_partial(points_json(&points, twin)))?;
            if log.records.first().is_some_and(|r| r.timestamp >= day_end) {
                break;
            }
            for r in &log.records {
                if in_day(r.timestamp, a.day_start, day_end) {
                    let point = points.entry(r.timestamp).or_default();
                    point.export.get_or_insert((
                        r.active_export_a,
                        r.element_b.map(|b| b.active_export_b),
                        r.status,
                    ));
                }
            }
        }
    }
    Ok(points_json(&points, twin))
}

/// Profile points are authoritative half-hour boundaries; a record off a
/// boundary or outside the day is not one of this day's points.
fn in_day(timestamp: u32, day_start: u32, day_end: u32) -> bool {
    (day_start..day_end).contains(&timestamp) && timestamp.is_multiple_of(HALF_HOUR)
}

/// Registers count Wh; points carry kWh text. Element B is null on
/// single-element meters (log 1 still carries a number there, meaningless).
fn points_json(points: &BTreeMap<u32, Point>, twin: bool) -> Value {
    let kwh = |wh: u32| json!(decimal_text(u64::from(wh), 3));
    let list: Vec<Value> = points
        .iter()
        .map(|(timestamp, p)| {
            json!({
                "timestamp": utc_iso_from_seconds_since_2000(i64::from(*timestamp)),
                "import_a": p.import.map_or(Value::Null, |(a, _, _)| kwh(a)),
                "import_b": p.import.filter(|_| twin).map_or(Value::Null, |(_, b, _)| kwh(b)),
                "export_a": p.export.map_or(Value::Null, |(a, _, _)| kwh(a)),
                "export_b": p.export.and_then(|(_, b, _)| b).map_or(Value::Null, kwh),
                "status": {
                    "import": p.import.map_or(Value::Null, |(_, _, s)| status_json(s)),
                    "export": p.export.map_or(Value::Null, |(_, _, s)| status_json(s)),
                },
            })
        })
        .collect();
    json!({ "points": list })
}

/// The named flags of a record status (the unused bits are left out).
fn status_json(s: RecordStatus) -> Value {
    json!({
        "valid_data": s.valid_data(),
        "power_fail": s.power_fail(),
        "minor_time_error": s.minor_time_error(),
        "major_time_error": s.major_time_error(),
        "comms_error": s.comms_error(),
        "reset": s.reset(),
    })
}
