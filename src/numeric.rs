//! numeric ⇄ micro-kWh without text: reading a numeric's base-10000 digits
//! and writing them, as numeric.c lays them out (PostgreSQL 15). The text
//! round trip cost more than the aggregates and derivations that use them.

use pgrx::pg_sys;

/// A numeric as micro-kWh, read straight from its base-10000 digits (the
/// text round trip cost more than the aggregate itself). `None` for NaN,
/// infinities, more than 6 decimals or out of i64 range: the caller then
/// takes the text path, which says what is wrong.
pub(crate) fn numeric_micro(d: pg_sys::Datum) -> Option<i64> {
    unsafe {
        let v = pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr());
        let len = pgrx::varlena::varsize_any_exhdr(v);
        let data = pgrx::varlena::vardata_any(v).cast::<u8>();
        let u16_at = |off: usize| u16::from_ne_bytes([*data.add(off), *data.add(off + 1)]);
        let header = u16_at(0);
        let (negative, weight, digits_at) = match header & 0xC000 {
            0xC000 => return None, // NaN or ±infinity
            0x8000 => {
                // short format: sign 0x2000, weight in 7 bits (sign 0x0040)
                let w = (header & 0x003F) as i32 | if header & 0x0040 != 0 { !0x003F } else { 0 };
                (header & 0x2000 != 0, w, 2)
            }
            sign => (
                sign == 0x4000,
                i16::from_ne_bytes(u16_at(2).to_ne_bytes()) as i32,
                4,
            ),
        };
        let ndigits = len.saturating_sub(digits_at) / 2;
        let mut micro: i128 = 0;
        for i in 0..ndigits {
            let digit = i128::from(u16_at(digits_at + 2 * i));
            // digit × 10000^(weight − i) × 10^6 = digit × 10^(4(weight − i) + 6)
            let exp = 4 * (weight - i as i32) + 6;
            let term = if exp >= 0 {
                if exp > 30 {
                    return None;
                }
                digit.checked_mul(10i128.pow(exp as u32))?
            } else {
                let div = 10i128.pow((-exp) as u32);
                if digit % div != 0 {
                    return None;
                }
                digit / div
            };
            micro = micro.checked_add(term)?;
        }
        if v.cast::<pg_sys::Datum>() != d.cast_mut_ptr::<pg_sys::Datum>() {
            pg_sys::pfree(v.cast());
        }
        i64::try_from(if negative { -micro } else { micro }).ok()
    }
}


const NUMERIC_SHORT: u16 = 0x8000;
const NUMERIC_SHORT_SIGN_MASK: u16 = 0x2000;
const NUMERIC_SHORT_DSCALE_SHIFT: u16 = 7;
const NUMERIC_SHORT_WEIGHT_SIGN_MASK: u16 = 0x0040;
const NUMERIC_SHORT_WEIGHT_MASK: u16 = 0x003F;

/// The base-10000 digits, weight and sign of `micro` / 10^6, as numeric.c's
/// make_result stores them: no leading or trailing zero digits, zero with
/// no digits and weight 0.
pub(crate) fn micro_digits(micro: i64) -> (bool, i16, Vec<i16>) {
    let negative = micro < 0;
    // Eight decimals: two whole base-10000 digits after the point.
    let mut scaled = u128::from(micro.unsigned_abs()) * 100;
    let mut groups = Vec::with_capacity(8); // least significant first
    while scaled > 0 {
        groups.push((scaled % 10_000) as i16);
        scaled /= 10_000;
    }
    if groups.is_empty() {
        return (false, 0, Vec::new());
    }
    // groups[0], groups[1] are the fractional digits; weight of the last is len − 3.
    let mut weight = groups.len() as i16 - 3;
    while groups.last() == Some(&0) {
        groups.pop();
        weight -= 1;
    }
    let trailing = groups.iter().take_while(|&&g| g == 0).count();
    groups.drain(..trailing);
    groups.reverse();
    (negative, weight, groups)
}

/// A numeric datum of `micro` micro-kWh with display scale 6 (kWh to six
/// decimals, the scale of every energy column), palloc'd in the current
/// memory context.
pub(crate) fn micro_numeric(micro: i64) -> pg_sys::Datum {
    with_scale(micro, 6)
}

/// `micro` as a value of a column declared with `typmod` (numeric(p, s), or
/// -1 for plain numeric: six decimals), rounded half away from zero to its
/// scale as numeric's input does; `None` when it has more integer digits
/// than the column allows. Rows a function returns in a table's row type
/// are not coerced on the way in, so this is the column's check.
pub(crate) fn micro_numeric_typmod(micro: i64, typmod: i32) -> Option<pg_sys::Datum> {
    if typmod < 4 {
        return Some(micro_numeric(micro));
    }
    let precision = ((typmod - 4) >> 16) & 0xFFFF;
    let scale = ((typmod - 4) & 0xFFFF).min(6);
    let unit = 10i64.pow((6 - scale) as u32);
    let rounded = (micro.unsigned_abs() + unit.unsigned_abs() / 2) / unit.unsigned_abs() * unit.unsigned_abs();
    let integer_digits = precision - scale;
    if integer_digits < 13 && rounded >= 10u64.pow((integer_digits + 6) as u32) {
        return None;
    }
    let rounded = i64::try_from(rounded).ok()?;
    Some(with_scale(if micro < 0 { -rounded } else { rounded }, scale as u16))
}

fn with_scale(micro: i64, dscale: u16) -> pg_sys::Datum {
    let (negative, weight, digits) = micro_digits(micro);
    // Always short: weight −64…63 covers |micro| < 10^258 / 10^6, and dscale ≤ 6.
    let header = NUMERIC_SHORT
        | if negative { NUMERIC_SHORT_SIGN_MASK } else { 0 }
        | (dscale << NUMERIC_SHORT_DSCALE_SHIFT)
        | if weight < 0 { NUMERIC_SHORT_WEIGHT_SIGN_MASK } else { 0 }
        | (weight as u16 & NUMERIC_SHORT_WEIGHT_MASK);
    let len = pg_sys::VARHDRSZ + 2 + 2 * digits.len();
    unsafe {
        let p = pg_sys::palloc(len).cast::<u8>();
        pgrx::varlena::set_varsize_4b(p.cast(), len as i32);
        let body = p.add(pg_sys::VARHDRSZ);
        body.cast::<u16>().write_unaligned(header);
        for (i, d) in digits.iter().enumerate() {
            body.add(2 + 2 * i).cast::<i16>().write_unaligned(*d);
        }
        pg_sys::Datum::from(p)
    }
}
