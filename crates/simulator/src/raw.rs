//! `sendRawMessage` answers (PROTOCOL.md §8): profile logs 1 and 2 built from
//! the same register functions as the live reads, the event log (a generated
//! history plus injected events) and three-phase interval profiles.

use crate::meter::{Event, MeterResult, MeterState};
use flows_emop::data_field::{
    DataField, FORMAT_EVENT_LOG, FORMAT_PROFILE_LOG_1, FORMAT_PROFILE_LOG_2,
    FORMAT_THREE_PHASE_INTERVALS,
};
use flows_emop::ObjectId;

const HALF_HOUR: u32 = 1800;
const DAY: u32 = 86_400;
/// `valid_data` (bit 15 of the u16le status).
const STATUS_VALID: u16 = 0x8000;
/// `reset`: marks the first record after commissioning.
const STATUS_RESET: u16 = 0x0001;
/// A record the meter does not have yet: time 0xffffffff (far future, so a
/// day walk stops, §8.4), status 0 (not valid), values 0.
const NOT_YET: u32 = u32::MAX;
/// Events kept by the meter: 10 pages of 10.
const EVENT_PAGES: usize = 10;
const EVENTS_PER_PAGE: usize = 10;
/// A data field is at most 243 bytes; the reply message loses the format byte.
const MAX_MESSAGE: usize = 242;

const EVENT_DAILY_SNAPSHOT: u8 = 38;
const EVENT_POWER_UP: u8 = 33;
const EVENT_POWER_DOWN: u8 = 34;

impl MeterState {
    /// The reply message (data field without its format byte) to a raw
    /// data field.
    pub fn raw(&mut self, data_field: &[u8], now: f64) -> MeterResult<Vec<u8>> {
        let df = DataField::parse(data_field).map_err(|e| e.to_string())?;
        self.settle(now);
        match df.format {
            FORMAT_PROFILE_LOG_1 => self.profile_log_1(u4be_request(df.message)?, now),
            FORMAT_PROFILE_LOG_2 => self.profile_log_2(u4be_request(df.message)?, now),
            FORMAT_EVENT_LOG => {
                if df.message.len() != 4 || df.message[..3] != ObjectId::EVENT_LOG.to_bytes() {
                    return Err("event log request must be ffff49 + index".to_string());
                }
                self.event_page(df.message[3], now)
            }
            FORMAT_THREE_PHASE_INTERVALS => self.three_phase_intervals(df.message, now),
            other => Err(format!("format {other:#04x} not supported by the meter")),
        }
    }

    /// First record time for a request: the half hour holding `t`, but not
    /// before commissioning (the meter answers with the next data it has).
    fn first_slot(&self, t: u32) -> u32 {
        let commissioned = self.commissioned().max(0.0) as u32;
        let aligned = t - t % HALF_HOUR;
        aligned.max(commissioned.div_ceil(HALF_HOUR) * HALF_HOUR)
    }

    fn status(&self, slot: u32) -> u16 {
        let commissioned = self.commissioned().max(0.0) as u32;
        if slot == commissioned.div_ceil(HALF_HOUR) * HALF_HOUR {
            STATUS_VALID | STATUS_RESET
        } else {
            STATUS_VALID
        }
    }

    fn recorded(slot: u32, now: f64) -> bool {
        f64::from(slot) <= now
    }

    /// §8.1: echoed request half hour (u4be), then 4 records of 14 bytes.
    fn profile_log_1(&self, t: u32, now: f64) -> MeterResult<Vec<u8>> {
        let first = self.first_slot(t);
        let mut out = (t - t % HALF_HOUR).to_be_bytes().to_vec();
        for i in 0..4 {
            let slot = first.saturating_add(i * HALF_HOUR);
            if Self::recorded(slot, now) {
                let r = self.registers(f64::from(slot));
                out.extend_from_slice(&slot.to_le_bytes());
                out.extend_from_slice(&self.status(slot).to_le_bytes());
                out.extend_from_slice(&r.import_a.to_le_bytes());
                out.extend_from_slice(&r.import_b.to_le_bytes());
            } else {
                out.extend_from_slice(&NOT_YET.to_le_bytes());
                out.extend_from_slice(&[0; 10]);
            }
        }
        Ok(out)
    }

    /// §8.2: 2 records of 34 bytes (twin element) or 3 of 22 (single).
    fn profile_log_2(&self, t: u32, now: f64) -> MeterResult<Vec<u8>> {
        let twin = self.hardware.is_twin();
        let (count, len) = if twin { (2, 34) } else { (3, 22) };
        let first = self.first_slot(t);
        let mut out = (t - t % HALF_HOUR).to_be_bytes().to_vec();
        for i in 0..count {
            let slot = first.saturating_add(i * HALF_HOUR);
            if !Self::recorded(slot, now) {
                out.extend_from_slice(&NOT_YET.to_le_bytes());
                out.extend(std::iter::repeat_n(0u8, len - 4));
                continue;
            }
            let r = self.registers(f64::from(slot));
            // Decivolts, varying a little from one half hour to the next.
            let voltage =
                u32::from(self.voltage) * 10 + self.seed.below(u64::from(slot), 61) as u32 - 30;
            out.extend_from_slice(&slot.to_le_bytes());
            out.extend_from_slice(&self.status(slot).to_le_bytes());
            for v in [
                r.export_a,
                r.import_reactive_a,
                r.export_reactive_a,
                voltage,
            ] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            if twin {
                for v in [r.export_b, r.import_reactive_b, r.export_reactive_b] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        Ok(out)
    }

    /// The newest `n` events up to the meter's clock, newest first: a daily
    /// snapshot at midnight, a power cut on some days, and injected events.
    fn events(&self, now: f64, n: usize) -> Vec<Event> {
        let upto = self.meter_now(now).max(0.0) as u32;
        let commissioned = self.commissioned().max(0.0) as u32;
        let mut events: Vec<Event> = self
            .injected_events
            .iter()
            .copied()
            .filter(|e| e.timestamp <= upto)
            .collect();
        let mut day = upto / DAY;
        let mut generated = 0;
        while generated < n && day * DAY >= commissioned {
            let start = day * DAY;
            let mut day_events = vec![Event {
                timestamp: start + 5,
                event_id: EVENT_DAILY_SNAPSHOT,
                event_set: 1,
            }];
            if self.seed.below(1000 + u64::from(day), 5) == 0 {
                let down = start + 3600 * (2 + self.seed.below(2000 + u64::from(day), 20) as u32);
                let up = down + 60 + self.seed.below(3000 + u64::from(day), 3000) as u32;
                day_events.push(Event {
                    timestamp: down,
                    event_id: EVENT_POWER_DOWN,
                    event_set: 2,
                });
                day_events.push(Event {
                    timestamp: up,
                    event_id: EVENT_POWER_UP,
                    event_set: 2,
                });
            }
            for e in day_events {
                if e.timestamp <= upto {
                    events.push(e);
                    generated += 1;
                }
            }
            if day == 0 {
                break;
            }
            day -= 1;
        }
        events.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
        events.truncate(n);
        events
    }

    /// §8.5: `ffff49` + index + 10 events of 6 bytes; page 0 is the newest.
    /// Missing events are zeros (id 0, which readers drop).
    pub fn event_page(&self, index: u8, now: f64) -> MeterResult<Vec<u8>> {
        if usize::from(index) >= EVENT_PAGES {
            return Err(format!("event log index {index} out of 0-9"));
        }
        let events = self.events(now, EVENT_PAGES * EVENTS_PER_PAGE);
        let mut out = ObjectId::EVENT_LOG.to_bytes().to_vec();
        out.push(index);
        let start = usize::from(index) * EVENTS_PER_PAGE;
        for i in start..start + EVENTS_PER_PAGE {
            match events.get(i) {
                Some(e) => {
                    out.extend_from_slice(&e.timestamp.to_le_bytes());
                    out.push(e.event_id);
                    out.push(e.event_set);
                }
                None => out.extend_from_slice(&[0; 6]),
            }
        }
        Ok(out)
    }

    /// §8.6: one block of half-hourly demand (W, or 0.1 W on cx meters) on
    /// two channels (active import and export demand), from the half hour
    /// holding the start up to and including the end, only intervals already
    /// complete, as many as fit one frame.
    fn three_phase_intervals(&self, message: &[u8], now: f64) -> MeterResult<Vec<u8>> {
        if !self.hardware.is_three_phase() {
            return Err("interval profiles are three-phase only".to_string());
        }
        if message.len() != 13 {
            return Err(format!(
                "interval request of {} bytes, expected 13",
                message.len()
            ));
        }
        let start = u32::from_be_bytes(message[1..5].try_into().expect("4 bytes"));
        let end = u32::from_be_bytes(message[5..9].try_into().expect("4 bytes"));
        let channels = [
            ObjectId::ACTIVE_IMPORT_DEMAND,
            ObjectId::ACTIVE_EXPORT_DEMAND,
        ];
        let first = self.first_slot(start);
        let mut out = vec![0x81, 0x81];
        out.extend_from_slice(&first.to_le_bytes());
        out.push((HALF_HOUR / 60) as u8);
        out.push(channels.len() as u8);
        for c in channels {
            out.extend_from_slice(&c.to_bytes());
        }
        let unit = if self.hardware == crate::hardware::Hardware::P1cx {
            10.0
        } else {
            1.0
        };
        let mut slot = first;
        let interval_len = 2 + 4 * channels.len();
        while message[0] != 0xff
            && slot <= end
            && Self::recorded(slot.saturating_add(HALF_HOUR), now)
            && out.len() + interval_len <= MAX_MESSAGE
        {
            let (e0, e1) = (
                self.demand.energy(f64::from(slot)),
                self.demand
                    .energy(f64::from(slot.saturating_add(HALF_HOUR))),
            );
            // Mean power over the half hour: Wh × 2.
            let import =
                ((e1.import_a + e1.import_b - e0.import_a - e0.import_b) * 2.0 * unit) as u32;
            let export = ((e1.export_a - e0.export_a) * 2.0 * unit) as u32;
            // Interval status: byte 1 bit 7 is valid_data.
            out.extend_from_slice(&[0x00, 0x80]);
            out.extend_from_slice(&import.to_le_bytes());
            out.extend_from_slice(&export.to_le_bytes());
            slot = slot.saturating_add(HALF_HOUR);
        }
        Ok(out)
    }
}

fn u4be_request(message: &[u8]) -> MeterResult<u32> {
    <[u8; 4]>::try_from(message)
        .map(u32::from_be_bytes)
        .map_err(|_| format!("profile log request of {} bytes, expected 4", message.len()))
}

#[cfg(test)]
mod tests {
    use crate::hardware::Hardware;
    use crate::meter::{MeterSpec, MeterState};
    use flows_emop::{event_log, profile_log, three_phase_intervals};

    fn meter(hw: Hardware) -> MeterState {
        let spec = MeterSpec {
            serial: "EML2200000002".to_string(),
            hardware: hw,
            esco: "sim".to_string(),
            name: None,
            balance: None,
            drift_seconds: None,
            csq: None,
        };
        MeterState::new(&spec, 1.0, 757_382_400.0, 850_000_000.0)
    }

    #[test]
    fn profile_log_2_single_and_twin() {
        let now = 850_000_000.0;
        for (hw, twin) in [(Hardware::C1w, true), (Hardware::Ema1w, false)] {
            let mut m = meter(hw);
            let req = profile_log::profile_log_2_request(849_992_400);
            let reply = m.raw(&req, now).unwrap();
            let decoded = profile_log::decode_log_2(&reply, twin).unwrap();
            assert!(decoded.records.iter().all(|r| r.status.valid_data()));
            assert!(decoded
                .records
                .windows(2)
                .all(|w| w[1].timestamp == w[0].timestamp + 1800));
        }
    }

    #[test]
    fn before_commissioning_and_future() {
        let now = 850_000_000.0;
        let mut m = meter(Hardware::C1w);
        let early = m
            .raw(&profile_log::profile_log_1_request(700_000_000), now)
            .unwrap();
        let early = profile_log::decode_log_1(&early).unwrap();
        assert_eq!(early.records[0].timestamp, 757_382_400);
        assert!(early.records[0].status.reset());
        let late = m
            .raw(&profile_log::profile_log_1_request(860_000_000), now)
            .unwrap();
        let late = profile_log::decode_log_1(&late).unwrap();
        assert!(late
            .records
            .iter()
            .all(|r| r.timestamp == u32::MAX && !r.status.valid_data()));
    }

    #[test]
    fn event_pages_are_newest_first() {
        let now = 850_000_000.0;
        let mut m = meter(Hardware::B1w);
        m.inject_event(now, 10, 3);
        let p0 = event_log::decode_event_log(
            &m.raw(&event_log::event_log_request(0).unwrap(), now)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(p0.read_write, 0);
        assert_eq!(p0.events[0].event_id, 10);
        let p1 = event_log::decode_event_log(
            &m.raw(&event_log::event_log_request(1).unwrap(), now)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(p1.read_write, 1);
        assert!(p0.events.last().unwrap().timestamp >= p1.events[0].timestamp);
        assert!(m.raw(&[0x05, 0xff, 0xff, 0x49, 10], now).is_err());
    }

    #[test]
    fn three_phase_block() {
        let now = 850_000_000.0;
        let mut m = meter(Hardware::P1ax);
        let start = 849_900_000 - 849_900_000 % 1800;
        let reply = m
            .raw(
                &three_phase_intervals::request(0, start, start + 4 * 3600),
                now,
            )
            .unwrap();
        let block = three_phase_intervals::decode_block(&reply).unwrap();
        assert_eq!(block.block_start_time, start);
        assert_eq!(block.intervals.len(), 9);
        assert!(block
            .intervals
            .iter()
            .all(|i| i.status.valid_data() && i.channel_data[0] > 0));
        assert!(meter(Hardware::C1w)
            .raw(&three_phase_intervals::request(0, start, start + 3600), now)
            .is_err());
    }
}
