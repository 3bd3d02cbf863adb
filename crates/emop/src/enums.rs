//! Enumerations carried as single bytes on the wire (record formats, flags,
//! backlight and load-switch settings, day of week, three-phase hardware
//! fields, event ids). A byte outside its enum is kept as the bare number,
//! as the reference parser does.

mod table;

pub use table::*;

use serde_json::{json, Value};

/// One wire enum: its reference name and its members.
#[derive(Debug, Clone, Copy)]
pub struct WireEnum {
    pub name: &'static str,
    pub members: &'static [(&'static str, u8)],
}

impl WireEnum {
    pub fn name_of(&self, value: u8) -> Option<&'static str> {
        self.members.iter().find(|m| m.1 == value).map(|m| m.0)
    }

    pub fn value_of(&self, name: &str) -> Option<u8> {
        self.members.iter().find(|m| m.0 == name).map(|m| m.1)
    }

    pub fn contains(&self, value: u8) -> bool {
        self.name_of(value).is_some()
    }

    /// `{"enum","name","value"}` for a member, the bare number otherwise.
    pub fn to_json(&self, value: u8) -> Value {
        match self.name_of(value) {
            Some(name) => json!({"enum": self.name, "name": name, "value": value}),
            None => json!(value),
        }
    }

    /// A member given as its byte value or its name (what callers of the
    /// write plans pass); anything else is refused with the rule.
    pub fn member_from_json(&self, field: &str, v: &Value) -> Result<u8, crate::CodecError> {
        let found = match v {
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| u8::try_from(n).ok())
                .filter(|b| self.contains(*b)),
            Value::String(s) => self.value_of(s),
            Value::Object(o) => o
                .get("name")
                .and_then(Value::as_str)
                .and_then(|s| self.value_of(s)),
            _ => None,
        };
        found.ok_or_else(|| crate::CodecError::InvalidArgument {
            field: field.to_string(),
            value: v.to_string(),
            rule: format!("must be a {} member, by byte value or name", self.name),
        })
    }

    pub fn all() -> [&'static WireEnum; 11] {
        [
            &RECORD_FORMAT,
            &READ_WRITE_FLAGS,
            &ACK_NAK_CODES,
            &BACKLIGHT_SETTING,
            &LOAD_SWITCH_SETTING,
            &DAY_OF_WEEK,
            &THREE_PHASE_METER_TYPE,
            &THREE_PHASE_MIDDLE_OUTPUT,
            &THREE_PHASE_FITTED_FLAG,
            &EVENT_ID,
            &THREE_PHASE_PROFILE_NUMBER,
        ]
    }
}
