//! The mediator TLS secrets as deployments store them: base64 of PEM text
//! whose newlines may have been flattened to the two characters `\n`.

use crate::error::CodecError;

/// Base64-decodes `env_value` (standard alphabet, padding optional,
/// whitespace ignored) and turns each literal backslash-n into a newline.
pub fn decode_b64_pem_secret(env_value: &str) -> Result<String, CodecError> {
    let fail = |rule: &str| CodecError::Malformed {
        what: "PEM secret".to_string(),
        rule: rule.to_string(),
    };
    let mut bits: u32 = 0;
    let mut nbits = 0u32;
    let mut out = Vec::with_capacity(env_value.len() * 3 / 4);
    let mut padding = false;
    for c in env_value.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding = true;
                continue;
            }
            c if c.is_ascii_whitespace() => continue,
            _ => return Err(fail("not base64")),
        };
        if padding {
            return Err(fail("base64 data after padding"));
        }
        bits = bits << 6 | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    if nbits >= 6 {
        return Err(fail("truncated base64"));
    }
    let text = String::from_utf8(out).map_err(|_| fail("decoded secret is not UTF-8 text"))?;
    Ok(text.replace("\\n", "\n"))
}
