//! `flows.prepay_token`: 16 bytes (the 20-digit number, big-endian, so
//! memcmp order = numeric order and uuid's comparison and hash functions
//! serve it). Output is masked unless `flows.reveal_tokens` is on.

use super::fmgr::*;
use crate::settings::REVEAL_TOKENS;
use flows_core::PrepayToken;

const LEN: usize = 16;

unsafe fn arg_token(fcinfo: pgrx::pg_sys::FunctionCallInfo) -> PrepayToken {
    PrepayToken::from_be_bytes(*unsafe { arg_fixed::<LEN>(fcinfo, 0) })
        .expect("stored prepay_token is in range")
}

fn parse(text: &str) -> PrepayToken {
    PrepayToken::parse(text).unwrap_or_else(|e| raise_rule(&e))
}

fn shown(t: PrepayToken) -> String {
    if REVEAL_TOKENS.get() {
        t.digits()
    } else {
        t.masked()
    }
}

v1_functions! {
    fn prepay_token_in / pg_finfo_prepay_token_in (fcinfo) {
        return_fixed(parse(unsafe { arg_cstr(fcinfo, 0) }).to_be_bytes())
    }

    fn prepay_token_out / pg_finfo_prepay_token_out (fcinfo) {
        return_cstring(&shown(unsafe { arg_token(fcinfo) }))
    }

    fn prepay_token_recv / pg_finfo_prepay_token_recv (fcinfo) {
        let bytes = unsafe { arg_recv_bytes(fcinfo, 0) };
        return_fixed(parse(&String::from_utf8_lossy(bytes)).to_be_bytes())
    }

    fn prepay_token_send / pg_finfo_prepay_token_send (fcinfo) {
        return_bytea(shown(unsafe { arg_token(fcinfo) }).as_bytes())
    }

    // flows.prepay_token_digits(token): EXECUTE is granted to the worker role only.
    fn prepay_token_digits / pg_finfo_prepay_token_digits (fcinfo) {
        return_text(&unsafe { arg_token(fcinfo) }.digits())
    }

    fn prepay_token_masked / pg_finfo_prepay_token_masked (fcinfo) {
        return_text(&unsafe { arg_token(fcinfo) }.masked())
    }
}
