//! Meter hardware: the registry strings (`C1.w`, `B1.w`, `EMA1.w`, `P1.ax`,
//! `P1.cx`, …) derived from `hardware_version` and, on three-phase meters
//! (which answer with an empty payload), from the three-phase configuration.

use crate::records::{python_strip, ThreePhaseHardware};

pub const TWIN_ELEMENT: &str = "C1.w";
pub const THREE_PHASE_AX: &str = "P1.ax";
pub const THREE_PHASE_CX: &str = "P1.cx";
pub const SINGLE_PHASE_UNKNOWN: &str = "SINGLE_PHASE_UNKNOWN";
pub const THREE_PHASE_UNKNOWN: &str = "THREE_PHASE_UNKNOWN";

/// Hardware strings single-phase meters report, and their registry names.
pub const SINGLE_PHASE_MAP: [(&str, &str); 4] = [
    ("6C", "C1.w"),
    ("6Cw", "C1.w"),
    ("6Bw", "B1.w"),
    ("3Aw", "EMA1.w"),
];

/// NULs removed, whitespace trimmed, then mapped; unknown strings are
/// `SINGLE_PHASE_UNKNOWN`.
pub fn single_phase_registry_string(hardware_version: &str) -> &'static str {
    let cleaned: String = hardware_version.chars().filter(|&c| c != '\0').collect();
    let cleaned = python_strip(&cleaned);
    SINGLE_PHASE_MAP
        .iter()
        .find(|(k, _)| *k == cleaned)
        .map(|(_, v)| *v)
        .unwrap_or(SINGLE_PHASE_UNKNOWN)
}

/// The registry string of a three-phase meter from its configuration.
pub fn three_phase_registry_string(config: ThreePhaseHardware) -> &'static str {
    if config.is_whole_current() {
        THREE_PHASE_AX
    } else {
        THREE_PHASE_CX
    }
}

/// The whole rule: an empty `hardware_version` payload means three-phase,
/// whose string needs the configuration (`None` → `THREE_PHASE_UNKNOWN`).
pub fn registry_string(
    hardware_version: &str,
    three_phase_config: Option<ThreePhaseHardware>,
) -> &'static str {
    if hardware_version.is_empty() {
        three_phase_config.map_or(THREE_PHASE_UNKNOWN, three_phase_registry_string)
    } else {
        single_phase_registry_string(hardware_version)
    }
}

/// Twin element (two registers, A and B) is exactly `C1.w`.
pub fn is_twin_element(registry: &str) -> bool {
    registry == TWIN_ELEMENT
}

pub fn is_three_phase(registry: &str) -> bool {
    matches!(
        registry,
        "P1.ax" | "P1.cx" | "AX" | "CX" | "THREE_PHASE_UNKNOWN"
    )
}
