//! Meter builds the simulator knows: the registry string, what the meter
//! answers for hardware/firmware/configuration, and element count.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hardware {
    /// Twin element (day/night) single phase.
    C1w,
    B1w,
    Ema1w,
    /// Three phase, whole current.
    P1ax,
    /// Three phase, CT operated (totals in 0.1 Wh).
    P1cx,
}

impl Hardware {
    pub const ALL: [Hardware; 5] = [
        Hardware::C1w,
        Hardware::B1w,
        Hardware::Ema1w,
        Hardware::P1ax,
        Hardware::P1cx,
    ];

    /// The registry string (PROTOCOL.md §6.3).
    pub fn as_str(self) -> &'static str {
        match self {
            Hardware::C1w => "C1.w",
            Hardware::B1w => "B1.w",
            Hardware::Ema1w => "EMA1.w",
            Hardware::P1ax => "P1.ax",
            Hardware::P1cx => "P1.cx",
        }
    }

    pub fn is_twin(self) -> bool {
        self == Hardware::C1w
    }

    pub fn is_three_phase(self) -> bool {
        matches!(self, Hardware::P1ax | Hardware::P1cx)
    }

    /// The `hardware_version` payload: the text the client maps back to the
    /// registry string; three-phase meters answer with no bytes at all.
    pub fn version_payload(self) -> &'static [u8] {
        match self {
            Hardware::C1w => b"6Cw",
            Hardware::B1w => b"6Bw",
            Hardware::Ema1w => b"3Aw",
            Hardware::P1ax | Hardware::P1cx => b"",
        }
    }

    /// `three_phase_hardware_configuration`: bit 7 set = whole current (ax);
    /// disconnect switch, GSM, RTC and magnetic detection fitted.
    pub fn configuration(self) -> [u8; 4] {
        match self {
            Hardware::P1ax => [0xbc, 0, 0, 0],
            Hardware::P1cx => [0x3c, 0, 0, 0],
            _ => [0, 0, 0, 0],
        }
    }

    /// `firmware_version`: 4 ASCII digits on single phase (`0_20_3` once
    /// formatted), 2 bytes on three phase (reported as hex).
    pub fn firmware_payload(self) -> &'static [u8] {
        if self.is_three_phase() {
            &[0x2e, 0xd4]
        } else {
            b"0203"
        }
    }
}

impl fmt::Display for Hardware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Hardware {
    type Err = String;

    fn from_str(s: &str) -> Result<Hardware, String> {
        Hardware::ALL
            .into_iter()
            .find(|h| h.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown hardware {s:?}: one of C1.w, B1.w, EMA1.w, P1.ax, P1.cx")
            })
    }
}
