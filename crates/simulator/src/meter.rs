//! One simulated meter: its state (balance, registers, clock, flags, stored
//! tariff objects byte for byte, tokens, events, counters) and what it does
//! with a read or a write. Pure and synchronous: time is passed in, as
//! seconds since 2000 (the EMOP epoch).

use crate::energy::{Demand, Seed};
use crate::fault::Fault;
use crate::hardware::Hardware;
use flows_emop::time::{utc_from_seconds_since_2000, utc_iso_from_seconds_since_2000, TimeRecord};
use flows_emop::{to_hex, Money, ObjectId};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, VecDeque};

/// Written objects and token outcomes kept for GetInfo, newest last.
const WRITE_LOG_LEN: usize = 256;

/// Seconds since 2000 now, from the system clock.
pub fn now_secs() -> f64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    unix - flows_emop::time::EPOCH_2000_UNIX as f64
}

/// How a meter is declared (meters file, `--generate`, control `add`).
#[derive(Debug, Clone, PartialEq)]
pub struct MeterSpec {
    pub serial: String,
    pub hardware: Hardware,
    pub esco: String,
    pub name: Option<String>,
    pub balance: Option<Money>,
    pub drift_seconds: Option<i64>,
    pub csq: Option<u8>,
}

/// Cumulative registers as the meter reports them, Wh / varh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Registers {
    pub import_a: u32,
    pub export_a: u32,
    pub import_reactive_a: u32,
    pub export_reactive_a: u32,
    pub import_b: u32,
    pub export_b: u32,
    pub import_reactive_b: u32,
    pub export_reactive_b: u32,
}

/// The adjustable registers (`set SERIAL import_a WH` etc.).
pub const REGISTER_NAMES: [&str; 4] = ["import_a", "export_a", "import_b", "export_b"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Seconds since 2000.
    pub timestamp: u32,
    pub event_id: u8,
    pub event_set: u8,
}

/// What the meter does with a call; the error text is for the log only (the
/// caller sees INTERNAL "Meter communication failed", as from a real meter
/// whose reply the mediator cannot use).
pub type MeterResult<T> = Result<T, String>;

#[derive(Debug)]
pub struct MeterState {
    pub serial: String,
    pub hardware: Hardware,
    pub esco: String,
    pub name: Option<String>,
    pub(crate) seed: Seed,
    pub(crate) demand: Demand,
    /// Register values at commissioning, Wh.
    pub(crate) base: [u32; 4],
    /// Adjustments made with `set` (import_a, export_a, import_b, export_b).
    pub(crate) offsets: [i64; 4],
    /// Prepay balance in 1/100 000 GBP as of `settled_at`.
    pub(crate) balance_units: i64,
    /// Charges accrued since, not yet a whole unit.
    pub(crate) pending_cost: f64,
    pub(crate) settled_at: f64,
    pub(crate) drift_seconds: i64,
    pub(crate) csq: u8,
    pub(crate) net_op: u8,
    /// Mains voltage, V.
    pub(crate) voltage: u16,
    /// Stored objects: tariffs (active and future), flags, settings, time
    /// switches, exactly the bytes last written.
    pub(crate) objects: BTreeMap<u32, Vec<u8>>,
    /// A write of the future activation datetime arms the switch-over; it
    /// fires once the meter clock reaches that time.
    pub(crate) activation_armed: bool,
    /// Activation datetimes applied so far (seconds since 2000).
    pub(crate) activations: Vec<u32>,
    /// Tokens that raised the balance, in order.
    pub(crate) accepted_tokens: Vec<String>,
    /// Every token text received, with how many times.
    pub(crate) tokens_received: BTreeMap<String, u32>,
    pub(crate) transaction_count: u16,
    /// (time, value in units) of the last accepted token.
    pub(crate) last_payment: Option<(u32, i32)>,
    pub(crate) last_token: Option<String>,
    /// Events added with the control port, on top of the generated history.
    pub(crate) injected_events: Vec<Event>,
    /// Calls received per method name (including failed ones).
    pub(crate) calls: BTreeMap<String, u64>,
    pub(crate) write_log: VecDeque<Value>,
    pub(crate) fault: Option<Fault>,
}

fn u32le(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    for (i, x) in b.iter().take(4).enumerate() {
        a[i] = *x;
    }
    u32::from_le_bytes(a)
}

/// Pairs (future, active) copied when a future tariff activates.
fn activation_pairs() -> Vec<(ObjectId, ObjectId)> {
    let mut pairs: Vec<(ObjectId, ObjectId)> = (1..=8)
        .flat_map(|b| (1..=8).map(move |r| (b, r)))
        .map(|(b, r)| {
            (
                ObjectId::tariff_block_rate(false, b, r).expect("1..=8"),
                ObjectId::tariff_block_rate(true, b, r).expect("1..=8"),
            )
        })
        .collect();
    pairs.extend((1..=4).map(|n| {
        (
            ObjectId::tariff_element_b_tou_rate(false, n).expect("1..=4"),
            ObjectId::tariff_element_b_tou_rate(true, n).expect("1..=4"),
        )
    }));
    pairs.extend([
        (
            ObjectId::TARIFF_FUTURE_STANDING_CHARGE,
            ObjectId::TARIFF_ACTIVE_STANDING_CHARGE,
        ),
        (
            ObjectId::TARIFF_FUTURE_THRESHOLD_MASK,
            ObjectId::TARIFF_ACTIVE_THRESHOLD_MASK,
        ),
        (
            ObjectId::TARIFF_FUTURE_THRESHOLD_VALUES,
            ObjectId::TARIFF_ACTIVE_THRESHOLD_VALUES,
        ),
        (
            ObjectId::TARIFF_FUTURE_PREPAYMENT_EMERGENCY_CREDIT,
            ObjectId::TARIFF_ACTIVE_PREPAYMENT_EMERGENCY_CREDIT,
        ),
        (
            ObjectId::TARIFF_FUTURE_PREPAYMENT_ECREDIT_AVAILABILITY,
            ObjectId::TARIFF_ACTIVE_PREPAYMENT_ECREDIT_AVAILABILITY,
        ),
        (
            ObjectId::TARIFF_FUTURE_PREPAYMENT_DEBT_RECOVERY_RATE,
            ObjectId::TARIFF_ACTIVE_PREPAYMENT_DEBT_RECOVERY_RATE,
        ),
        (ObjectId::TARIFF_FUTURE_GAS, ObjectId::TARIFF_ACTIVE_GAS),
        (
            ObjectId::TARIFF_FUTURE_TOU_FLAG,
            ObjectId::TARIFF_ACTIVE_TOU_FLAG,
        ),
        // The meter charges element A at its current price: after the
        // switch-over that is the new block 8 rate 1 (where the reference
        // client writes the unit rate), and element B at tou rate 1.
        (
            ObjectId::TARIFF_FUTURE_BLOCK_8_RATE_1,
            ObjectId::TARIFF_ACTIVE_PRICE,
        ),
        (
            ObjectId::TARIFF_FUTURE_ELEMENT_B_TOU_RATE_1,
            ObjectId::TARIFF_ACTIVE_ELEMENT_B_PRICE,
        ),
    ]);
    pairs
}

/// The payload length a writable object takes; `None` = read only or
/// unknown (the meter refuses the write).
pub fn writable_len(id: ObjectId) -> Option<usize> {
    use ObjectId as O;
    if id.is_tariff_block_or_tou_rate() {
        return Some(4);
    }
    Some(match id {
        O::TARIFF_ACTIVE_STANDING_CHARGE
        | O::TARIFF_FUTURE_STANDING_CHARGE
        | O::TARIFF_ACTIVE_PRICE
        | O::TARIFF_ACTIVE_ELEMENT_B_PRICE
        | O::TARIFF_ACTIVE_PREPAYMENT_EMERGENCY_CREDIT
        | O::TARIFF_ACTIVE_PREPAYMENT_ECREDIT_AVAILABILITY
        | O::TARIFF_ACTIVE_PREPAYMENT_DEBT_RECOVERY_RATE
        | O::TARIFF_FUTURE_PREPAYMENT_EMERGENCY_CREDIT
        | O::TARIFF_FUTURE_PREPAYMENT_ECREDIT_AVAILABILITY
        | O::TARIFF_FUTURE_PREPAYMENT_DEBT_RECOVERY_RATE
        | O::TARIFF_ACTIVE_GAS
        | O::TARIFF_FUTURE_GAS
        | O::TARIFF_FUTURE_ACTIVATION_DATETIME => 4,
        O::TARIFF_ACTIVE_THRESHOLD_VALUES | O::TARIFF_FUTURE_THRESHOLD_VALUES => 14,
        O::TARIFF_ACTIVE_THRESHOLD_MASK
        | O::TARIFF_FUTURE_THRESHOLD_MASK
        | O::TARIFF_ACTIVE_TOU_RATE
        | O::TARIFF_ACTIVE_BLOCK_RATE
        | O::TARIFF_ACTIVE_PRICE_INDEX_CURRENT
        | O::TARIFF_ACTIVE_ELEMENT_B_TOU_RATE
        | O::TARIFF_ACTIVE_ELEMENT_B_PRICE_INDEX_CURRENT
        | O::TARIFF_ACTIVE_TOU_FLAG
        | O::TARIFF_FUTURE_TOU_FLAG
        | O::DAYLIGHT_SAVINGS_CORRECTION_FLAG
        | O::PREPAY_ENABLED_FLAG
        | O::BACKLIGHT
        | O::LOAD_SWITCH => 1,
        O::TARIFF_TIME_SWITCH_ELEMENT_A_OR_SINGLE | O::TARIFF_TIME_SWITCH_ELEMENT_B => 80,
        O::TIME => 7,
        _ => return None,
    })
}

/// Whether an id belongs to the active or future tariff (shown in GetInfo).
pub fn is_tariff_object(id: ObjectId) -> bool {
    id.is_tariff_block_or_tou_rate()
        || id
            .name()
            .is_some_and(|n| n.starts_with("tariff_active") || n.starts_with("tariff_future"))
}

/// The objects of a new meter of this build: tariffs, flags and settings.
pub fn default_objects(hw: Hardware) -> BTreeMap<u32, Vec<u8>> {
    let money = |gbp_units: u32| gbp_units.to_le_bytes().to_vec();
    let rate_a = 25_000; // 0.25 GBP/kWh
    let rate_b = if hw.is_twin() { 15_000 } else { rate_a };
    let mut o = BTreeMap::new();
    for active in [true, false] {
        for b in 1..=8 {
            for r in 1..=8 {
                let id = ObjectId::tariff_block_rate(active, b, r).expect("1..=8");
                o.insert(id.value(), money(0));
            }
        }
        for n in 1..=4 {
            let id = ObjectId::tariff_element_b_tou_rate(active, n).expect("1..=4");
            o.insert(id.value(), money(0));
        }
    }
    let mut put = |id: ObjectId, bytes: Vec<u8>| {
        o.insert(id.value(), bytes);
    };
    put(ObjectId::TARIFF_ACTIVE_BLOCK_8_RATE_1, money(rate_a));
    put(ObjectId::TARIFF_ACTIVE_ELEMENT_B_TOU_RATE_1, money(rate_b));
    put(ObjectId::TARIFF_ACTIVE_STANDING_CHARGE, money(60_000));
    put(ObjectId::TARIFF_ACTIVE_PRICE, money(rate_a));
    put(ObjectId::TARIFF_ACTIVE_ELEMENT_B_PRICE, money(rate_b));
    put(ObjectId::TARIFF_ACTIVE_THRESHOLD_MASK, vec![0]);
    put(ObjectId::TARIFF_ACTIVE_THRESHOLD_VALUES, vec![0; 14]);
    put(ObjectId::TARIFF_ACTIVE_TOU_RATE, vec![0]);
    put(ObjectId::TARIFF_ACTIVE_BLOCK_RATE, vec![0]);
    put(ObjectId::TARIFF_ACTIVE_PRICE_INDEX_CURRENT, vec![0]);
    put(ObjectId::TARIFF_ACTIVE_ELEMENT_B_TOU_RATE, vec![0]);
    put(
        ObjectId::TARIFF_ACTIVE_ELEMENT_B_PRICE_INDEX_CURRENT,
        vec![0],
    );
    put(ObjectId::TARIFF_ACTIVE_TOU_FLAG, vec![0]);
    put(
        ObjectId::TARIFF_ACTIVE_PREPAYMENT_EMERGENCY_CREDIT,
        money(1_500_000),
    );
    put(
        ObjectId::TARIFF_ACTIVE_PREPAYMENT_ECREDIT_AVAILABILITY,
        money(1_000_000),
    );
    put(
        ObjectId::TARIFF_ACTIVE_PREPAYMENT_DEBT_RECOVERY_RATE,
        money(0),
    );
    put(ObjectId::TARIFF_ACTIVE_GAS, money(0));
    put(ObjectId::TARIFF_FUTURE_STANDING_CHARGE, money(0));
    put(ObjectId::TARIFF_FUTURE_ACTIVATION_DATETIME, money(0));
    put(ObjectId::TARIFF_FUTURE_THRESHOLD_MASK, vec![0]);
    put(ObjectId::TARIFF_FUTURE_THRESHOLD_VALUES, vec![0; 14]);
    put(ObjectId::TARIFF_FUTURE_TOU_FLAG, vec![0]);
    put(
        ObjectId::TARIFF_FUTURE_PREPAYMENT_EMERGENCY_CREDIT,
        money(0),
    );
    put(
        ObjectId::TARIFF_FUTURE_PREPAYMENT_ECREDIT_AVAILABILITY,
        money(0),
    );
    put(
        ObjectId::TARIFF_FUTURE_PREPAYMENT_DEBT_RECOVERY_RATE,
        money(0),
    );
    put(ObjectId::TARIFF_FUTURE_GAS, money(0));
    put(
        ObjectId::TARIFF_TIME_SWITCH_ELEMENT_A_OR_SINGLE,
        vec![0; 80],
    );
    put(ObjectId::TARIFF_TIME_SWITCH_ELEMENT_B, vec![0; 80]);
    put(ObjectId::DAYLIGHT_SAVINGS_CORRECTION_FLAG, vec![1]);
    put(
        ObjectId::DECIMAL_PLACES_DISPLAYED_IN_ENERGY_REGISTERS,
        vec![3],
    );
    put(ObjectId::PREPAY_ENABLED_FLAG, vec![1]);
    put(
        ObjectId::PREPAY_NO_DEBT_RECOVERY_WHEN_EMERGENCY_CREDIT_FLAG,
        vec![0],
    );
    put(
        ObjectId::PREPAY_NO_STANDING_CHARGE_WHEN_POWER_FAIL_FLAG,
        vec![1],
    );
    put(ObjectId::BACKLIGHT, vec![0]);
    put(ObjectId::LOAD_SWITCH, vec![0]);
    o
}

fn u16le(v: f64) -> Vec<u8> {
    (v.round().clamp(0.0, 65_535.0) as u16)
        .to_le_bytes()
        .to_vec()
}

fn u32le_of(v: f64) -> Vec<u8> {
    (v.floor().clamp(0.0, u32::MAX as f64) as u32)
        .to_le_bytes()
        .to_vec()
}

impl MeterState {
    /// A new meter. `scale` and `commissioned` come from the command line;
    /// everything else not in `spec` is drawn from the serial.
    pub fn new(spec: &MeterSpec, scale: f64, commissioned: f64, now: f64) -> MeterState {
        let seed = Seed::of(&spec.serial);
        let hw = spec.hardware;
        let demand = Demand::generate(seed, hw.is_twin(), hw.is_three_phase(), scale, commissioned);
        let default_balance = (seed.range(20, 20.0, 80.0) * 100.0).floor() as i64 * 1000;
        MeterState {
            serial: spec.serial.clone(),
            hardware: hw,
            esco: spec.esco.clone(),
            name: spec.name.clone(),
            seed,
            demand,
            base: [
                seed.range(21, 1_000.0, 50_000.0) as u32,
                0,
                if hw.is_twin() {
                    seed.range(22, 1_000.0, 30_000.0) as u32
                } else {
                    0
                },
                0,
            ],
            offsets: [0; 4],
            balance_units: spec.balance.map_or(default_balance, Money::units),
            pending_cost: 0.0,
            settled_at: now,
            drift_seconds: spec.drift_seconds.unwrap_or(0),
            csq: spec
                .csq
                .unwrap_or_else(|| 12 + seed.below(23, 17) as u8)
                .min(31),
            net_op: seed.below(24, 4) as u8,
            voltage: 236 + seed.below(25, 12) as u16,
            objects: default_objects(hw),
            activation_armed: false,
            activations: Vec::new(),
            accepted_tokens: Vec::new(),
            tokens_received: BTreeMap::new(),
            transaction_count: 0,
            last_payment: None,
            last_token: None,
            injected_events: Vec::new(),
            calls: BTreeMap::new(),
            write_log: VecDeque::new(),
            fault: None,
        }
    }

    /// The meter's own clock, seconds since 2000.
    pub fn meter_now(&self, now: f64) -> f64 {
        now + self.drift_seconds as f64
    }

    pub fn commissioned(&self) -> f64 {
        self.demand.commissioned
    }

    pub fn object(&self, id: ObjectId) -> Option<&[u8]> {
        self.objects.get(&id.value()).map(Vec::as_slice)
    }

    fn amount(&self, id: ObjectId) -> u32 {
        self.object(id).map_or(0, u32le)
    }

    fn flag(&self, id: ObjectId) -> bool {
        self.object(id) == Some(&[1])
    }

    /// Registers at real time `t` (history or now), with the `set`
    /// adjustments applied throughout, so history stays consistent with now.
    pub fn registers(&self, t: f64) -> Registers {
        let e = self.demand.energy(t);
        let reg = |i: usize, wh: f64| -> u32 {
            (i64::from(self.base[i]) + self.offsets[i] + wh.floor() as i64)
                .clamp(0, i64::from(u32::MAX)) as u32
        };
        let reactive =
            |wh: f64, share: f64| (wh * share).floor().clamp(0.0, u32::MAX as f64) as u32;
        Registers {
            import_a: reg(0, e.import_a),
            export_a: reg(1, e.export_a),
            import_reactive_a: reactive(e.import_a, 0.3),
            export_reactive_a: reactive(e.import_a + e.export_a, 0.05),
            import_b: reg(2, e.import_b),
            export_b: reg(3, e.export_b),
            import_reactive_b: reactive(e.import_b, 0.3),
            export_reactive_b: reactive(e.import_b, 0.05),
        }
    }

    /// Brings the balance up to `now`: charges for energy used and standing
    /// charge at the active tariff, switching tariffs on the way if an
    /// armed future tariff's activation time has passed on the meter clock.
    pub fn settle(&mut self, now: f64) {
        if self.activation_armed {
            let act = self.amount(ObjectId::TARIFF_FUTURE_ACTIVATION_DATETIME);
            let at = f64::from(act) - self.drift_seconds as f64;
            if at <= now {
                self.drain_to(at);
                self.activate(act);
            }
        }
        self.drain_to(now);
    }

    fn drain_to(&mut self, t: f64) {
        if t <= self.settled_at {
            return;
        }
        let (e0, e1) = (self.demand.energy(self.settled_at), self.demand.energy(t));
        let rate_a = f64::from(self.amount(ObjectId::TARIFF_ACTIVE_PRICE));
        let rate_b = f64::from(self.amount(ObjectId::TARIFF_ACTIVE_ELEMENT_B_PRICE));
        let standing = f64::from(self.amount(ObjectId::TARIFF_ACTIVE_STANDING_CHARGE));
        // Rates are units per kWh, energy is Wh; the standing charge is per
        // day and scales with consumption so a frozen meter keeps its balance.
        self.pending_cost += (e1.import_a - e0.import_a) * rate_a / 1000.0
            + (e1.import_b - e0.import_b) * rate_b / 1000.0
            + standing * (t - self.settled_at) / 86_400.0 * self.demand.scale;
        let whole = self.pending_cost.floor();
        self.balance_units -= whole as i64;
        self.pending_cost -= whole;
        self.settled_at = t;
    }

    fn activate(&mut self, at: u32) {
        for (future, active) in activation_pairs() {
            if let Some(bytes) = self.objects.get(&future.value()).cloned() {
                self.objects.insert(active.value(), bytes);
            }
        }
        self.activation_armed = false;
        self.activations.push(at);
    }

    pub fn balance(&mut self, now: f64) -> Money {
        self.settle(now);
        Money::from_units(self.balance_units)
    }

    pub fn set_balance(&mut self, now: f64, balance: Money) {
        self.settle(now);
        self.balance_units = balance.units();
        self.pending_cost = 0.0;
    }

    /// Sets a register to `wh` now; its history shifts with it.
    pub fn set_register(&mut self, now: f64, name: &str, wh: u32) -> Result<(), String> {
        let i = REGISTER_NAMES
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| format!("unknown register {name:?}: {}", REGISTER_NAMES.join(", ")))?;
        let r = self.registers(now);
        let current = [r.import_a, r.export_a, r.import_b, r.export_b][i];
        self.offsets[i] += i64::from(wh) - i64::from(current);
        Ok(())
    }

    pub fn set_drift(&mut self, seconds: i64) {
        self.drift_seconds = seconds;
    }

    pub fn set_csq(&mut self, csq: u8) {
        self.csq = csq.min(31);
    }

    pub fn set_voltage(&mut self, volts: u16) {
        self.voltage = volts;
    }

    pub fn inject_event(&mut self, now: f64, event_id: u8, event_set: u8) {
        self.injected_events.push(Event {
            timestamp: self.meter_now(now).max(0.0) as u32,
            event_id,
            event_set,
        });
    }

    /// Calls received so far of one method (`readElement`, `GetInfo`, …).
    pub fn calls_of(&self, method: &str) -> u64 {
        self.calls.get(method).copied().unwrap_or(0)
    }

    pub fn count_call(&mut self, method: &str) {
        *self.calls.entry(method.to_string()).or_insert(0) += 1;
    }

    /// The payload a `readElement` of `id` returns.
    pub fn read(&mut self, id: ObjectId, now: f64) -> MeterResult<Vec<u8>> {
        use ObjectId as O;
        self.settle(now);
        let hw = self.hardware;
        let (pa, pb) = self.demand.power(now);
        let export_w = self.demand.export_power(now);
        let r = self.registers(now);
        // CT-operated three-phase meters count in 0.1 Wh.
        let total = |wh: u32| -> Vec<u8> {
            let scaled = if hw == Hardware::P1cx {
                u64::from(wh) * 10
            } else {
                u64::from(wh)
            };
            (scaled.min(u64::from(u32::MAX)) as u32)
                .to_le_bytes()
                .to_vec()
        };
        let reading = |a: [u32; 4]| a.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
        // Small wobble, stable within a minute, so repeated reads look live.
        let wobble = |k: u64| self.seed.below(k ^ (now / 60.0) as u64, 5) as f64 - 2.0;
        Ok(match id {
            O::SERIAL | O::THREE_PHASE_SERIAL => self.serial.as_bytes().to_vec(),
            O::HARDWARE_VERSION => hw.version_payload().to_vec(),
            O::THREE_PHASE_HARDWARE_CONFIGURATION => hw.configuration().to_vec(),
            O::FIRMWARE_VERSION => hw.firmware_payload().to_vec(),
            O::TIME => {
                let dt = utc_from_seconds_since_2000(self.meter_now(now).floor() as i64);
                TimeRecord::from_fields("time", &dt)
                    .map_err(|e| e.to_string())?
                    .to_bytes()
                    .to_vec()
            }
            O::CSQ_NET_OP => vec![self.net_op << 5 | self.csq],
            O::INSTANTANEOUS_VOLTAGE | O::AVERAGE_VOLTAGE => {
                u16le(f64::from(self.voltage) + wobble(30))
            }
            O::THREE_PHASE_INSTANTANEOUS_VOLTAGE_L1 => {
                u16le(f64::from(self.voltage) * 10.0 + wobble(31) * 3.0)
            }
            O::THREE_PHASE_INSTANTANEOUS_VOLTAGE_L2 => {
                u16le(f64::from(self.voltage) * 10.0 + wobble(32) * 3.0)
            }
            O::THREE_PHASE_INSTANTANEOUS_VOLTAGE_L3 => {
                u16le(f64::from(self.voltage) * 10.0 + wobble(33) * 3.0)
            }
            O::INSTANTANEOUS_ACTIVE_POWER => u16le(pa + pb),
            O::ELEMENT_A_INSTANTANEOUS_ACTIVE_POWER_IMPORT => u16le(pa),
            O::ELEMENT_B_INSTANTANEOUS_ACTIVE_POWER_IMPORT => u16le(pb),
            O::INSTANTANEOUS_REACTIVE_POWER => u16le((pa + pb) * 0.3),
            // Milliamps.
            O::INSTANTANEOUS_CURRENT | O::AVERAGE_CURRENT => {
                u16le((pa + pb) / f64::from(self.voltage.max(1)) * 1000.0)
            }
            O::INSTANTANEOUS_POWER_FACTOR => u16le(950.0),
            // Centihertz.
            O::INSTANTANEOUS_FREQUENCY | O::AVERAGE_FREQUENCY => u16le(5000.0 + wobble(34)),
            O::READ_ELEMENT_A => reading([
                r.import_a,
                r.export_a,
                r.import_reactive_a,
                r.export_reactive_a,
            ]),
            O::READ_ELEMENT_B => reading([
                r.import_b,
                r.export_b,
                r.import_reactive_b,
                r.export_reactive_b,
            ]),
            O::THREE_PHASE_TOTAL_ACTIVE_IMPORT => total(r.import_a),
            O::THREE_PHASE_TOTAL_ACTIVE_EXPORT => total(r.export_a),
            O::THREE_PHASE_TOTAL_REACTIVE_IMPORT => total(r.import_reactive_a),
            O::THREE_PHASE_TOTAL_REACTIVE_EXPORT => total(r.export_reactive_a),
            O::THREE_PHASE_TOTAL_APPARENT_IMPORT => {
                total((f64::from(r.import_a).hypot(f64::from(r.import_reactive_a))) as u32)
            }
            O::THREE_PHASE_TOTAL_APPARENT_EXPORT => {
                total((f64::from(r.export_a).hypot(f64::from(r.export_reactive_a))) as u32)
            }
            O::ACTIVE_IMPORT_DEMAND => u32le_of(pa + pb),
            O::ACTIVE_EXPORT_DEMAND => u32le_of(export_w),
            O::PREPAY_BALANCE => (self
                .balance_units
                .clamp(i64::from(i32::MIN), i64::from(i32::MAX))
                as i32)
                .to_le_bytes()
                .to_vec(),
            O::PREPAY_TOKEN_SEND => {
                let mut t = self.last_token.clone().unwrap_or_default().into_bytes();
                t.resize(20, b'0');
                t
            }
            O::MONETARY_INFO_TRANSACTION_COUNT => self.transaction_count.to_le_bytes().to_vec(),
            O::MONETARY_INFO_TRANSACTION_DETAILS => {
                let (time, value) = self.last_payment.unwrap_or((0, 0));
                let mut p = vec![0; 8];
                p.extend_from_slice(&time.to_le_bytes());
                p.extend_from_slice(&value.to_le_bytes());
                p
            }
            O::EVENT_LOG => self.event_page(0, now)?,
            id => match self.objects.get(&id.value()) {
                Some(bytes) => bytes.clone(),
                // Named objects the simulation does not model (demand
                // registers, 3p read triggers): a plausible empty value.
                None if id.name().is_some() => vec![0; 4],
                None => return Err(format!("object {id} not known to the meter")),
            },
        })
    }

    /// Applies a `writeElement`; returns what the meter did, for the log.
    pub fn write(&mut self, id: ObjectId, payload: &[u8], now: f64) -> MeterResult<String> {
        self.settle(now);
        let outcome = match id {
            ObjectId::PREPAY_TOKEN_SEND => self.receive_token(payload, now)?,
            _ => {
                let len = writable_len(id)
                    .ok_or_else(|| format!("object {} is read only or unknown", id.describe()))?;
                if payload.len() != len {
                    return Err(format!(
                        "{} takes {len} bytes, got {}",
                        id.describe(),
                        payload.len()
                    ));
                }
                if id == ObjectId::TIME {
                    let record =
                        TimeRecord::from_bytes(payload.try_into().expect("length checked"));
                    let at = record
                        .to_utc()
                        .ok_or_else(|| {
                            format!("clock record {} is not a date-time", to_hex(payload))
                        })?
                        .micros_since_2000()
                        / 1_000_000;
                    self.drift_seconds = at - now.floor() as i64;
                    format!("clock set, drift {} s", self.drift_seconds)
                } else {
                    self.objects.insert(id.value(), payload.to_vec());
                    if id == ObjectId::TARIFF_FUTURE_ACTIVATION_DATETIME {
                        self.activation_armed = true;
                    }
                    "stored".to_string()
                }
            }
        };
        self.write_log.push_back(json!({
            "at": utc_iso_from_seconds_since_2000(now.floor() as i64),
            "object_id": id.hex(),
            "name": id.name(),
            "payload_hex": to_hex(payload),
            "outcome": outcome,
        }));
        while self.write_log.len() > WRITE_LOG_LEN {
            self.write_log.pop_front();
        }
        // A just-written activation time may already have passed.
        self.settle(now);
        Ok(outcome)
    }

    /// A token is 20 digits; one never seen before adds its last four digits
    /// in pence to the balance and counts a transaction. A repeat, or
    /// anything that is not 20 digits, is received but ignored, as a meter
    /// ignores a token it has already used.
    fn receive_token(&mut self, payload: &[u8], now: f64) -> MeterResult<String> {
        if payload.is_empty() {
            return Err("empty token".to_string());
        }
        let text = match std::str::from_utf8(payload) {
            Ok(s) if s.is_ascii() => s.to_string(),
            _ => format!("hex:{}", to_hex(payload)),
        };
        *self.tokens_received.entry(text.clone()).or_insert(0) += 1;
        self.last_token = Some(text.clone());
        if text.len() != 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Ok("token ignored (not 20 digits)".to_string());
        }
        if self.accepted_tokens.contains(&text) {
            return Ok("token ignored (already used)".to_string());
        }
        let units = token_value(&text).units();
        self.balance_units += units;
        self.transaction_count = self.transaction_count.wrapping_add(1);
        self.last_payment = Some((self.meter_now(now).max(0.0) as u32, units as i32));
        self.accepted_tokens.push(text);
        Ok(format!("token accepted, +{}", Money::from_units(units)))
    }

    /// The GetInfo / control `state` document.
    pub fn info_json(&mut self, now: f64) -> Value {
        self.settle(now);
        let r = self.registers(now);
        let kwh = |wh: u32| flows_emop::records::Registers::kwh_text(wh);
        let tariff: Map<String, Value> = self
            .objects
            .iter()
            .filter_map(|(&raw, bytes)| {
                let id = ObjectId::from_u32(raw)?;
                is_tariff_object(id).then(|| (id.hex(), json!(to_hex(bytes))))
            })
            .collect();
        let money = |id: ObjectId| Money::from_units(i64::from(self.amount(id))).to_string();
        let calls: Map<String, Value> = self
            .calls
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let received: Map<String, Value> = self
            .tokens_received
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        json!({
            "registry": self.registry_json(),
            "shadow": {
                "serial": self.serial,
                "hardware": self.hardware.as_str(),
                "firmware": flows_emop::report::firmware_text(self.hardware.firmware_payload()).unwrap_or_default(),
                "balance": Money::from_units(self.balance_units).to_string(),
                "balance_units": self.balance_units,
                "emergency_credit": money(ObjectId::TARIFF_ACTIVE_PREPAYMENT_EMERGENCY_CREDIT),
                "registers": {
                    "import_a_wh": r.import_a, "export_a_wh": r.export_a,
                    "import_b_wh": r.import_b, "export_b_wh": r.export_b,
                    "import_reactive_a": r.import_reactive_a, "export_reactive_a": r.export_reactive_a,
                    "import_reactive_b": r.import_reactive_b, "export_reactive_b": r.export_reactive_b,
                    "import_a": kwh(r.import_a), "export_a": kwh(r.export_a),
                    "import_b": kwh(r.import_b), "export_b": kwh(r.export_b),
                },
                "csq": self.csq,
                "voltage": self.voltage,
                "clock": {
                    "drift_seconds": self.drift_seconds,
                    "meter_time": utc_iso_from_seconds_since_2000(self.meter_now(now).floor() as i64),
                },
                "flags": {
                    "prepay_enabled": self.flag(ObjectId::PREPAY_ENABLED_FLAG),
                    "daylight_savings": self.flag(ObjectId::DAYLIGHT_SAVINGS_CORRECTION_FLAG),
                    "backlight": self.object(ObjectId::BACKLIGHT).and_then(|b| b.first()),
                    "load_switch": self.object(ObjectId::LOAD_SWITCH).and_then(|b| b.first()),
                },
                "tariffs": {
                    "active": {
                        "standing_charge": money(ObjectId::TARIFF_ACTIVE_STANDING_CHARGE),
                        "unit_rate_element_a": money(ObjectId::TARIFF_ACTIVE_PRICE),
                        "unit_rate_element_b": money(ObjectId::TARIFF_ACTIVE_ELEMENT_B_PRICE),
                    },
                    "future": {
                        "standing_charge": money(ObjectId::TARIFF_FUTURE_STANDING_CHARGE),
                        "unit_rate_element_a": money(ObjectId::TARIFF_FUTURE_BLOCK_8_RATE_1),
                        "unit_rate_element_b": money(ObjectId::TARIFF_FUTURE_ELEMENT_B_TOU_RATE_1),
                        "activation_datetime": utc_iso_from_seconds_since_2000(
                            i64::from(self.amount(ObjectId::TARIFF_FUTURE_ACTIVATION_DATETIME))),
                        "armed": self.activation_armed,
                    },
                    "activations": self.activations.iter()
                        .map(|a| utc_iso_from_seconds_since_2000(i64::from(*a))).collect::<Vec<_>>(),
                },
                "tariff_objects": tariff,
                "tokens": {
                    "accepted": self.accepted_tokens,
                    "accepted_count": self.accepted_tokens.len(),
                    "received": received,
                    "received_count": self.tokens_received.values().sum::<u32>(),
                    "last": self.last_token,
                },
                "transaction_count": self.transaction_count,
                "calls": calls,
                "fault": self.fault.map(|f| f.to_string()),
                "events_injected": self.injected_events.len(),
                "write_log": self.write_log,
            },
        })
    }

    /// The registry row of this meter (GetInfo `registry`, GetMeters items).
    pub fn registry_json(&self) -> Value {
        json!({
            "serial": self.serial,
            "name": self.name,
            "hardware": self.hardware.as_str(),
            "esco": self.esco,
            "mode": "active",
            "ip_address": "127.0.0.1",
        })
    }
}

/// What a first-time token is worth: its last four digits, in pence
/// (`…0000` is worth nothing, for testing a top-up that does not raise the
/// balance).
pub fn token_value(token: &str) -> Money {
    let digits = &token[token.len().saturating_sub(4)..];
    let pence: i64 = digits.parse().unwrap_or(0);
    Money::from_units(pence * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flows_emop::decode;

    fn meter(hw: Hardware) -> MeterState {
        let spec = MeterSpec {
            serial: "EML2200000001".to_string(),
            hardware: hw,
            esco: "sim".to_string(),
            name: None,
            balance: Some(Money::from_gbp(5)),
            drift_seconds: None,
            csq: Some(20),
        };
        MeterState::new(&spec, 1.0, 757_382_400.0, 850_000_000.0)
    }

    #[test]
    fn token_once() {
        let mut m = meter(Hardware::C1w);
        m.demand.scale = 0.0;
        let t = 850_000_000.0;
        let token = b"12345678901234560250";
        assert!(m
            .write(ObjectId::PREPAY_TOKEN_SEND, token, t)
            .unwrap()
            .starts_with("token accepted"));
        assert_eq!(m.balance(t), Money::from_units(750_000));
        assert!(m
            .write(ObjectId::PREPAY_TOKEN_SEND, token, t)
            .unwrap()
            .contains("already used"));
        assert_eq!(m.balance(t), Money::from_units(750_000));
        assert_eq!(m.transaction_count, 1);
        assert_eq!(m.tokens_received["12345678901234560250"], 2);
    }

    #[test]
    fn balance_drains_with_use() {
        let mut m = meter(Hardware::C1w);
        let t = 850_000_000.0;
        let before = m.balance(t);
        let after = m.balance(t + 3600.0);
        assert!(after < before, "{after} !< {before}");
    }

    #[test]
    fn writes_are_checked() {
        let mut m = meter(Hardware::B1w);
        let t = 850_000_000.0;
        assert!(m.write(ObjectId::PREPAY_BALANCE, &[0; 4], t).is_err());
        assert!(m
            .write(ObjectId::TARIFF_FUTURE_STANDING_CHARGE, &[0; 3], t)
            .is_err());
        assert!(m
            .write(ObjectId::from_u32(0x123456).unwrap(), &[0], t)
            .is_err());
        m.write(ObjectId::BACKLIGHT, &[0x77], t).unwrap();
        assert_eq!(m.read(ObjectId::BACKLIGHT, t).unwrap(), vec![0x77]);
        assert!(m.read(ObjectId::from_u32(0x123456).unwrap(), t).is_err());
    }

    #[test]
    fn clock_write_sets_drift() {
        let mut m = meter(Hardware::C1w);
        let t = 850_000_000.0;
        let dt = utc_from_seconds_since_2000(850_000_100);
        let rec = TimeRecord::from_fields("t", &dt).unwrap().to_bytes();
        m.write(ObjectId::TIME, &rec, t).unwrap();
        assert_eq!(m.drift_seconds, 100);
        assert_eq!(m.read(ObjectId::TIME, t).unwrap(), rec.to_vec());
    }

    #[test]
    fn reads_decode() {
        let mut m = meter(Hardware::P1cx);
        let t = 850_000_000.0;
        for (name, id) in ObjectId::all_named() {
            let payload = m.read(id, t).unwrap_or_else(|e| panic!("{name}: {e}"));
            decode(id, &payload).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert!(m.read(ObjectId::HARDWARE_VERSION, t).unwrap().is_empty());
    }

    #[test]
    fn future_tariff_activates() {
        let mut m = meter(Hardware::C1w);
        let t = 850_000_000.0;
        m.write(
            ObjectId::TARIFF_FUTURE_BLOCK_8_RATE_1,
            &30_000u32.to_le_bytes(),
            t,
        )
        .unwrap();
        m.write(
            ObjectId::TARIFF_FUTURE_ACTIVATION_DATETIME,
            &850_000_600u32.to_le_bytes(),
            t,
        )
        .unwrap();
        assert_eq!(m.amount(ObjectId::TARIFF_ACTIVE_PRICE), 25_000);
        m.settle(t + 601.0);
        assert_eq!(m.amount(ObjectId::TARIFF_ACTIVE_PRICE), 30_000);
        assert_eq!(m.amount(ObjectId::TARIFF_ACTIVE_BLOCK_8_RATE_1), 30_000);
        assert_eq!(m.activations, vec![850_000_600]);
    }
}
