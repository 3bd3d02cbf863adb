//! Multi-read operations (tariff reads, `read`, three-phase reads, pricing
//! blocks, hardware): which object ids they read, in which order (the order
//! can depend on earlier replies), and how the replies are assembled into
//! the reference's result. The caller performs the reads; this module is a
//! state machine fed with replies, so it works from sync or async code.

use crate::error::CodecError;
use crate::failure::MediatorFailure;
use crate::hardware;
use crate::ids::ObjectId;
use crate::records::{decode, Record};
use crate::report::{registers_kwh_json, reported_value, three_phase_total};
use serde_json::{json, Map, Value};

/// What to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Read this object id and `supply` the reply.
    Read(ObjectId),
    /// The operation's result, or why it failed.
    Done(Result<Value, CodecError>),
}

/// The reply to one `readElement`: payload bytes or the mediator's failure.
pub type Reply = Result<Vec<u8>, MediatorFailure>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Operation {
    TariffsActiveRead,
    TariffsFutureRead,
    Read,
    ThreePhaseRead { hardware: Option<String> },
    ThreePhaseInstantaneousVoltage,
    TariffsPricingBlocksRead { active: bool },
    Hardware,
}

/// Active tariff reads in order, with the result key each drives (`None`:
/// read but not reported).
pub const TARIFFS_ACTIVE_READS: [(ObjectId, Option<&str>); 12] = [
    (
        ObjectId::TARIFF_ACTIVE_STANDING_CHARGE,
        Some("standing_charge"),
    ),
    (
        ObjectId::TARIFF_ACTIVE_THRESHOLD_MASK,
        Some("threshold_mask"),
    ),
    (
        ObjectId::TARIFF_ACTIVE_THRESHOLD_VALUES,
        Some("threshold_values"),
    ),
    (ObjectId::TARIFF_ACTIVE_BLOCK_8_RATE_1, None),
    (ObjectId::TARIFF_ACTIVE_PRICE, Some("unit_rate_element_a")),
    (ObjectId::TARIFF_ACTIVE_BLOCK_RATE, Some("block_rate")),
    (ObjectId::TARIFF_ACTIVE_TOU_RATE, None),
    (
        ObjectId::TARIFF_ACTIVE_ELEMENT_B_PRICE,
        Some("unit_rate_element_b"),
    ),
    (
        ObjectId::TARIFF_ACTIVE_ELEMENT_B_TOU_RATE,
        Some("element_b_tou_rate"),
    ),
    (
        ObjectId::TARIFF_ACTIVE_PREPAYMENT_EMERGENCY_CREDIT,
        Some("prepayment_emergency_credit"),
    ),
    (
        ObjectId::TARIFF_ACTIVE_PREPAYMENT_ECREDIT_AVAILABILITY,
        Some("prepayment_ecredit_availability"),
    ),
    (
        ObjectId::TARIFF_ACTIVE_PREPAYMENT_DEBT_RECOVERY_RATE,
        Some("prepayment_debt_recovery_rate"),
    ),
];

/// Keys the active tariff result always carries as `null`.
const TARIFFS_ACTIVE_NULL_KEYS: [&str; 11] = [
    "tou_rate",
    "price_current",
    "element_b_block_rate",
    "element_b_tou_rate_1",
    "element_b_tou_rate_2",
    "element_b_tou_rate_3",
    "element_b_tou_rate_4",
    "element_b_price_index_current",
    "price_index_current",
    "pricings",
    "gas",
];

/// Future tariff reads in order, with their result keys.
pub const TARIFFS_FUTURE_READS: [(ObjectId, Option<&str>); 9] = [
    (
        ObjectId::TARIFF_FUTURE_STANDING_CHARGE,
        Some("standing_charge"),
    ),
    (
        ObjectId::TARIFF_FUTURE_ACTIVATION_DATETIME,
        Some("activation_datetime"),
    ),
    (
        ObjectId::TARIFF_FUTURE_THRESHOLD_MASK,
        Some("threshold_mask"),
    ),
    (
        ObjectId::TARIFF_FUTURE_THRESHOLD_VALUES,
        Some("threshold_values"),
    ),
    (
        ObjectId::TARIFF_FUTURE_BLOCK_8_RATE_1,
        Some("unit_rate_element_a"),
    ),
    (
        ObjectId::TARIFF_FUTURE_ELEMENT_B_TOU_RATE_1,
        Some("unit_rate_element_b"),
    ),
    (
        ObjectId::TARIFF_FUTURE_PREPAYMENT_EMERGENCY_CREDIT,
        Some("prepayment_emergency_credit"),
    ),
    (
        ObjectId::TARIFF_FUTURE_PREPAYMENT_ECREDIT_AVAILABILITY,
        Some("prepayment_ecredit_availability"),
    ),
    (
        ObjectId::TARIFF_FUTURE_PREPAYMENT_DEBT_RECOVERY_RATE,
        Some("prepayment_debt_recovery_rate"),
    ),
];

const TARIFFS_FUTURE_NULL_KEYS: [&str; 5] = [
    "pricings",
    "element_b_tou_rate_1",
    "element_b_tou_rate_2",
    "element_b_tou_rate_3",
    "element_b_tou_rate_4",
];

/// Three-phase totals in read order, with their result keys.
pub const THREE_PHASE_TOTALS: [(ObjectId, &str); 6] = [
    (ObjectId::THREE_PHASE_TOTAL_ACTIVE_IMPORT, "active_import"),
    (ObjectId::THREE_PHASE_TOTAL_ACTIVE_EXPORT, "active_export"),
    (
        ObjectId::THREE_PHASE_TOTAL_REACTIVE_IMPORT,
        "reactive_import",
    ),
    (
        ObjectId::THREE_PHASE_TOTAL_REACTIVE_EXPORT,
        "reactive_export",
    ),
    (
        ObjectId::THREE_PHASE_TOTAL_APPARENT_IMPORT,
        "apparent_import",
    ),
    (
        ObjectId::THREE_PHASE_TOTAL_APPARENT_EXPORT,
        "apparent_export",
    ),
];

pub const THREE_PHASE_VOLTAGES: [ObjectId; 3] = [
    ObjectId::THREE_PHASE_INSTANTANEOUS_VOLTAGE_L1,
    ObjectId::THREE_PHASE_INSTANTANEOUS_VOLTAGE_L2,
    ObjectId::THREE_PHASE_INSTANTANEOUS_VOLTAGE_L3,
];

/// The result key a tariff object id drives in `tariffs_active_read` /
/// `tariffs_future_read`: `None` if the operation does not read the id,
/// `Some(None)` if it reads but does not report it.
pub fn tariff_result_key(operation: &str, id: ObjectId) -> Option<Option<&'static str>> {
    let table: &[(ObjectId, Option<&'static str>)] = match operation {
        "tariffs_active_read" => &TARIFFS_ACTIVE_READS,
        "tariffs_future_read" => &TARIFFS_FUTURE_READS,
        _ => return None,
    };
    table.iter().find(|(i, _)| *i == id).map(|(_, k)| *k)
}

/// One composite read in progress.
#[derive(Debug, Clone)]
pub struct CompositeRead {
    operation: Operation,
    replies: Vec<(ObjectId, Reply)>,
}

impl CompositeRead {
    pub const OPERATIONS: [&'static str; 7] = [
        "tariffs_active_read",
        "tariffs_future_read",
        "read",
        "three_phase_read",
        "three_phase_instantaneous_voltage",
        "tariffs_pricing_blocks_read",
        "hardware",
    ];

    /// `args`: `three_phase_read` takes an optional `hardware` registry
    /// string (read first when absent); `tariffs_pricing_blocks_read` takes
    /// `active` (true: active blocks, false: future). Others take none.
    pub fn new(operation: &str, args: &Value) -> Result<CompositeRead, CodecError> {
        let arg = |key: &str| args.get(key).filter(|v| !v.is_null());
        let operation = match operation {
            "tariffs_active_read" => Operation::TariffsActiveRead,
            "tariffs_future_read" => Operation::TariffsFutureRead,
            "read" => Operation::Read,
            "three_phase_read" => Operation::ThreePhaseRead {
                hardware: match arg("hardware") {
                    None => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(other) => {
                        return Err(CodecError::InvalidArgument {
                            field: "hardware".to_string(),
                            value: other.to_string(),
                            rule: "must be a hardware registry string such as P1.ax".to_string(),
                        })
                    }
                },
            },
            "three_phase_instantaneous_voltage" => Operation::ThreePhaseInstantaneousVoltage,
            "tariffs_pricing_blocks_read" | "_tariffs_pricing_blocks_read" => {
                Operation::TariffsPricingBlocksRead {
                    active: match arg("active") {
                        Some(Value::Bool(b)) => *b,
                        other => {
                            return Err(CodecError::InvalidArgument {
                                field: "active".to_string(),
                                value: other.map_or("nothing".to_string(), Value::to_string),
                                rule: "must be true (active blocks) or false (future blocks)"
                                    .to_string(),
                            })
                        }
                    },
                }
            }
            "hardware" => Operation::Hardware,
            other => return Err(CodecError::UnknownOperation(other.to_string())),
        };
        Ok(CompositeRead {
            operation,
            replies: Vec::new(),
        })
    }

    /// The full ordered list of reads when it does not depend on replies
    /// (`read`, `hardware` and a `three_phase_read` without hardware do).
    pub fn fixed_reads(&self) -> Option<Vec<ObjectId>> {
        match &self.operation {
            Operation::TariffsActiveRead => {
                Some(TARIFFS_ACTIVE_READS.iter().map(|r| r.0).collect())
            }
            Operation::TariffsFutureRead => {
                Some(TARIFFS_FUTURE_READS.iter().map(|r| r.0).collect())
            }
            Operation::ThreePhaseRead { hardware: Some(_) } => {
                Some(THREE_PHASE_TOTALS.iter().map(|r| r.0).collect())
            }
            Operation::ThreePhaseInstantaneousVoltage => Some(THREE_PHASE_VOLTAGES.to_vec()),
            Operation::TariffsPricingBlocksRead { active } => Some(pricing_block_ids(*active)),
            Operation::Read
            | Operation::Hardware
            | Operation::ThreePhaseRead { hardware: None } => None,
        }
    }

    /// The next read, or the result once every needed reply is in.
    pub fn step(&self) -> Step {
        let mut replay = Replay {
            replies: &self.replies,
            next: 0,
        };
        match self.operation.run(&mut replay) {
            Ok(v) => Step::Done(Ok(v)),
            Err(Halt::Need(id)) => Step::Read(id),
            Err(Halt::Fail(e)) => Step::Done(Err(e)),
        }
    }

    /// Hands in the reply to the read `step` asked for.
    pub fn supply(&mut self, id: ObjectId, reply: Reply) -> Result<(), CodecError> {
        match self.step() {
            Step::Read(expected) if expected == id => {
                self.replies.push((id, reply));
                Ok(())
            }
            Step::Read(expected) => Err(CodecError::Sequence(format!(
                "expected the reply for {}, got one for {}",
                expected.describe(),
                id.describe()
            ))),
            Step::Done(_) => Err(CodecError::Sequence(format!(
                "no read pending, got a reply for {}",
                id.describe()
            ))),
        }
    }

    /// Drives the operation to the end with a read function.
    pub fn run(mut self, mut read: impl FnMut(ObjectId) -> Reply) -> Result<Value, CodecError> {
        loop {
            match self.step() {
                Step::Read(id) => {
                    let reply = read(id);
                    self.replies.push((id, reply));
                }
                Step::Done(result) => return result,
            }
        }
    }

    /// The reads made so far, in order.
    pub fn reads(&self) -> impl Iterator<Item = ObjectId> + '_ {
        self.replies.iter().map(|(id, _)| *id)
    }
}

pub fn pricing_block_ids(active: bool) -> Vec<ObjectId> {
    (1..=8)
        .flat_map(|block| {
            (1..=8)
                .map(move |rate| ObjectId::tariff_block_rate(active, block, rate).expect("1..=8"))
        })
        .collect()
}

/// Why the replayed logic stopped: it needs a reply not yet supplied, or
/// the operation failed.
enum Halt {
    Need(ObjectId),
    Fail(CodecError),
}

impl From<CodecError> for Halt {
    fn from(e: CodecError) -> Halt {
        Halt::Fail(e)
    }
}

/// The replies so far, consumed in order by the operation's logic, which is
/// re-run from the start at every step (at most 64 reads, so cheap).
struct Replay<'a> {
    replies: &'a [(ObjectId, Reply)],
    next: usize,
}

impl<'a> Replay<'a> {
    fn attempt(&mut self, id: ObjectId) -> Result<&'a Reply, Halt> {
        match self.replies.get(self.next) {
            None => Err(Halt::Need(id)),
            Some((got, reply)) if *got == id => {
                self.next += 1;
                Ok(reply)
            }
            Some((got, _)) => Err(Halt::Fail(CodecError::Sequence(format!(
                "reply {} is for {}, expected {}",
                self.next,
                got.describe(),
                id.describe()
            )))),
        }
    }

    /// A read whose failure fails the operation.
    fn read(&mut self, id: ObjectId) -> Result<Record, Halt> {
        match self.attempt(id)? {
            Ok(payload) => Ok(decode(id, payload)?),
            Err(failure) => Err(Halt::Fail(CodecError::ReadFailed {
                object: id,
                failure: failure.clone(),
            })),
        }
    }

    /// A read whose failure (mediator or decoding) only blanks its value.
    fn try_read(&mut self, id: ObjectId) -> Result<Option<Record>, Halt> {
        Ok(match self.attempt(id)? {
            Ok(payload) => decode(id, payload).ok(),
            Err(_) => None,
        })
    }
}

impl Operation {
    fn run(&self, r: &mut Replay) -> Result<Value, Halt> {
        match self {
            Operation::TariffsActiveRead => {
                tariffs(r, &TARIFFS_ACTIVE_READS, &TARIFFS_ACTIVE_NULL_KEYS)
            }
            Operation::TariffsFutureRead => {
                tariffs(r, &TARIFFS_FUTURE_READS, &TARIFFS_FUTURE_NULL_KEYS)
            }
            Operation::Read => {
                let hw = hardware_string(r)?;
                if hardware::is_three_phase(hw) {
                    return three_phase_totals(r, Some(hw));
                }
                let a = element(r, ObjectId::READ_ELEMENT_A)?;
                let b = if hardware::is_twin_element(hw) {
                    element(r, ObjectId::READ_ELEMENT_B)?
                } else {
                    Value::Null
                };
                Ok(json!([a, b]))
            }
            Operation::ThreePhaseRead { hardware } => match hardware {
                Some(hw) => three_phase_totals(r, Some(hw)),
                None => {
                    let hw = hardware_string(r)?;
                    three_phase_totals(r, Some(hw))
                }
            },
            Operation::ThreePhaseInstantaneousVoltage => {
                let mut volts = Vec::new();
                for id in THREE_PHASE_VOLTAGES {
                    let rec = r.read(id)?;
                    volts.push(reported_value(id, &rec, None)?);
                }
                Ok(Value::Array(volts))
            }
            Operation::TariffsPricingBlocksRead { active } => {
                let mut blocks = Vec::new();
                for block in 1..=8 {
                    let mut rates = Vec::new();
                    for rate in 1..=8 {
                        let id = ObjectId::tariff_block_rate(*active, block, rate).expect("1..=8");
                        let rec = r.read(id)?;
                        rates.push(reported_value(id, &rec, None)?);
                    }
                    blocks.push(Value::Array(rates));
                }
                Ok(Value::Array(blocks))
            }
            Operation::Hardware => Ok(json!(hardware_string(r)?)),
        }
    }
}

fn tariffs(
    r: &mut Replay,
    reads: &[(ObjectId, Option<&str>)],
    null_keys: &[&str],
) -> Result<Value, Halt> {
    let mut result = Map::new();
    for (id, key) in reads {
        let rec = r.read(*id)?;
        let value = reported_value(*id, &rec, None)?;
        if let Some(key) = key {
            result.insert(key.to_string(), value);
        }
    }
    for key in null_keys {
        result.insert(key.to_string(), Value::Null);
    }
    Ok(Value::Object(result))
}

/// `hardware()`: `hardware_version`, and on a blank answer the three-phase
/// configuration.
fn hardware_string(r: &mut Replay) -> Result<&'static str, Halt> {
    let text = match r.read(ObjectId::HARDWARE_VERSION)? {
        Record::Hardware(text) => text,
        other => unreachable!("hardware_version decodes as Hardware, got {other:?}"),
    };
    let config = if text.is_empty() {
        r.read(ObjectId::THREE_PHASE_HARDWARE_CONFIGURATION)?
            .three_phase_hardware()
    } else {
        None
    };
    Ok(hardware::registry_string(&text, config))
}

fn element(r: &mut Replay, id: ObjectId) -> Result<Value, Halt> {
    let rec = r.read(id)?;
    Ok(registers_kwh_json(
        &rec.registers().expect("reading layout"),
    ))
}

/// The six totals; a failed read blanks only its own key.
fn three_phase_totals(r: &mut Replay, hw: Option<&str>) -> Result<Value, Halt> {
    let mut result = Map::new();
    for (id, key) in THREE_PHASE_TOTALS {
        let value = match r.try_read(id)? {
            Some(rec) => json!(three_phase_total(rec.u32_value().expect("u4le layout"), hw)),
            None => Value::Null,
        };
        result.insert(key.to_string(), value);
    }
    Ok(Value::Object(result))
}
