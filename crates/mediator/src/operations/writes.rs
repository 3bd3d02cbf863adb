//! Write operations: settings and flags, the clock, the future tariff
//! (written, then read back and compared) and the verified top-up, whose
//! token is never sent twice without evidence that the first did not apply.

use super::args::{Token, Verify};
use super::reads::{
    now_since_2000, pick, setting_json, transaction_count, ACTIVATION_KEY, TARIFF_KEYS,
};
use super::{codes, Ctx, Failure};
use crate::classify::FailureClass;
use flows_emop::composite::tariff_result_key;
use flows_emop::enums::{BACKLIGHT_SETTING, LOAD_SWITCH_SETTING};
use flows_emop::report::reported_value;
use flows_emop::time::utc_iso_from_seconds_since_2000;
use flows_emop::write_plan::{check_prepay_enable_balance, write_plan, WritePlan};
use flows_emop::{Money, ObjectId};
use serde_json::{json, Map, Value};

/// Sets the meter clock to this machine's UTC time, taken just before the
/// write.
pub(super) async fn clock(ctx: &Ctx<'_>) -> Result<Value, Failure> {
    let now = utc_iso_from_seconds_since_2000(now_since_2000());
    let plan = write_plan("clock_time_write", &json!({ "now": now }))
        .map_err(|e| Failure::permanent(codes::BAD_ARGUMENT, e.to_string()))?;
    write_all(ctx, &plan).await?;
    Ok(json!({ "meter_time_written": now }))
}

/// Enabling needs a balance of at least 10 GBP, read just before (the
/// reference's rule and message); disabling writes at once.
pub(super) async fn prepay_enabled(ctx: &Ctx<'_>, enabled: bool) -> Result<Value, Failure> {
    let balance = if enabled {
        let balance = ctx
            .read(ObjectId::PREPAY_BALANCE)
            .await?
            .money()
            .expect("balance layout");
        check_prepay_enable_balance(balance).map_err(|e| {
            Failure::permanent(codes::BALANCE_TOO_LOW, e.to_string())
                .with_partial(json!({ "balance": balance.to_string() }))
        })?;
        Some(balance)
    } else {
        None
    };
    let args = match balance {
        Some(b) => json!({ "enabled": true, "balance": b.to_string() }),
        None => json!({ "enabled": false }),
    };
    let plan = write_plan("prepay_enabled_write", &args)
        .map_err(|e| Failure::permanent(codes::BAD_ARGUMENT, e.to_string()))?;
    let balance_json = balance.map_or(Value::Null, |b| json!(b.to_string()));
    write_all(ctx, &plan)
        .await
        .map_err(|f| f.with_partial(json!({ "balance": balance_json })))?;
    Ok(json!({ "prepay_enabled": enabled, "balance": balance_json }))
}

/// Backlight or load switch: one byte, reported back the way a read of it
/// would report it.
pub(super) async fn setting(ctx: &Ctx<'_>, object: ObjectId, byte: u8) -> Result<Value, Failure> {
    ctx.write(object, &[byte]).await?;
    let e = if object == ObjectId::BACKLIGHT {
        &BACKLIGHT_SETTING
    } else {
        &LOAD_SWITCH_SETTING
    };
    Ok(json!({ "setting": setting_json(e, byte) }))
}

pub(super) async fn daylight_savings(ctx: &Ctx<'_>, enabled: bool) -> Result<Value, Failure> {
    ctx.write(
        ObjectId::DAYLIGHT_SAVINGS_CORRECTION_FLAG,
        &[u8::from(enabled)],
    )
    .await?;
    Ok(json!({ "enabled": enabled }))
}

/// Writes the plan in order; a failure says how many writes completed.
async fn write_all(ctx: &Ctx<'_>, plan: &WritePlan) -> Result<(), Failure> {
    for (done, (id, payload)) in plan.iter().enumerate() {
        ctx.write(*id, payload).await.map_err(|e| {
            Failure::from(e).with_partial(json!({ "written": done, "of": plan.len() }))
        })?;
    }
    Ok(())
}

/// The 11 writes of contract §7.3, then the 9 reads of §7.2, compared with
/// what the written bytes mean. The writes set absolute values, so after
/// any failure the whole command may be run again.
pub(super) async fn future_tariff(ctx: &Ctx<'_>, plan: &WritePlan) -> Result<Value, Failure> {
    write_all(ctx, plan).await?;
    let written = plan.len();
    let read_back = ctx
        .composite("tariffs_future_read")
        .await
        .map_err(|f| f.with_partial(json!({ "written": written, "verified": false })))?;

    // What the meter must now report, derived from the bytes written (so
    // amounts truncated by the encoding are expected truncated).
    let mut expected = Map::new();
    for (id, payload) in plan {
        if let Some(Some(key)) = tariff_result_key("tariffs_future_read", *id) {
            let value = flows_emop::decode(*id, payload)
                .and_then(|record| reported_value(*id, &record, None))
                .expect("a planned payload decodes as its own object");
            expected.insert(key.to_string(), value);
        }
    }
    let differs: Vec<&String> = expected
        .iter()
        .filter(|(key, value)| read_back.get(key.as_str()) != Some(value))
        .map(|(key, _)| key)
        .collect();
    if differs.is_empty() {
        return Ok(json!({
            "written": written,
            "read_back": pick(&read_back, &TARIFF_KEYS, Some(ACTIVATION_KEY)),
            "verified": true,
        }));
    }
    let keys: Vec<&str> = expected.keys().map(String::as_str).collect();
    Err(Failure::permanent(
        codes::READ_BACK_DIFFERS,
        format!(
            "future tariff read back differs from what was written: {}",
            differs
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .with_partial(json!({
        "written": written,
        "verified": false,
        "expected": Value::Object(expected.clone()),
        "read_back": pick(&read_back, &keys, None),
        "differs": differs,
    })))
}

/// Balance and transaction count, read together around a token.
#[derive(Debug, Clone, Copy)]
struct Credit {
    balance: Money,
    count: u16,
}

async fn credit(ctx: &Ctx<'_>) -> Result<Credit, Failure> {
    let balance = ctx
        .read(ObjectId::PREPAY_BALANCE)
        .await?
        .money()
        .expect("balance layout");
    let count = transaction_count(ctx).await?;
    Ok(Credit { balance, count })
}

/// A top-up shows as a higher balance or a higher transaction count. The
/// count is a u16 that may wrap; a step forward of less than half its range
/// counts as a rise.
fn rose(before: Credit, after: Credit) -> bool {
    let steps = after.count.wrapping_sub(before.count);
    after.balance > before.balance || (1..0x8000).contains(&steps)
}

fn before_json(before: Credit) -> Value {
    json!({
        "balance_before": before.balance.to_string(),
        "transaction_count_before": before.count,
    })
}

/// The verified top-up: read balance and count; with `verify`, first check
/// whether an earlier send (outcome unknown) took effect (balance or count
/// rose: the balance may have been spent since) and if so stop without
/// sending; write the token; read again; succeed only if the balance rose
/// (DOMAIN.md: a top-up is completed only if the balance rose).
pub(super) async fn token(
    ctx: &Ctx<'_>,
    token: &Token,
    verify: Option<&Verify>,
) -> Result<Value, Failure> {
    let not_sent = json!({ "sent": false });
    let now = credit(ctx)
        .await
        .map_err(|f| f.with_partial(not_sent.clone()))?;
    if let Some(v) = verify {
        let earlier = Credit {
            balance: v.balance_before,
            count: v.transaction_count_before,
        };
        if rose(earlier, now) {
            return Ok(json!({
                "balance_before": earlier.balance.to_string(),
                "balance_after": now.balance.to_string(),
                "transaction_count_before": earlier.count,
                "transaction_count_after": now.count,
                "applied": true,
                "applied_earlier": true,
            }));
        }
    }
    let before = now;
    if let Err(e) = ctx
        .write(ObjectId::PREPAY_TOKEN_SEND, token.as_bytes())
        .await
    {
        // Only an unknown outcome may have reached the meter; busy,
        // unavailable and refused calls did not.
        let sent = e.class == FailureClass::UnknownOutcome;
        return Err(Failure::from(e)
            .with_partial(before_json(before))
            .with_partial(json!({ "sent": sent })));
    }
    let after = match credit(ctx).await {
        Ok(after) => after,
        Err(f) => {
            // The mediator took the token; whether the meter applied it is
            // what the next attempt's "verify" must establish.
            return Err(Failure {
                class: FailureClass::UnknownOutcome,
                message: format!(
                    "token sent, but balance and transaction count could not be read after it: {}",
                    f.message
                ),
                ..f
            }
            .with_partial(before_json(before))
            .with_partial(json!({ "sent": true })));
        }
    };
    let numbers = json!({
        "balance_before": before.balance.to_string(),
        "balance_after": after.balance.to_string(),
        "transaction_count_before": before.count,
        "transaction_count_after": after.count,
    });
    if after.balance <= before.balance {
        return Err(Failure::permanent(
            codes::TOKEN_NOT_APPLIED,
            format!(
                "balance did not rise after token (balance {} -> {}, transaction count {} -> {})",
                before.balance, after.balance, before.count, after.count
            ),
        )
        .with_partial(numbers)
        .with_partial(json!({ "sent": true, "applied": false })));
    }
    let mut result = numbers;
    result["applied"] = json!(true);
    result["applied_earlier"] = json!(false);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(units: i64, count: u16) -> Credit {
        Credit {
            balance: Money::from_units(units),
            count,
        }
    }

    #[test]
    fn what_counts_as_a_rise() {
        assert!(rose(c(100, 5), c(200, 5)));
        assert!(rose(c(100, 5), c(50, 6)));
        assert!(rose(c(100, 65535), c(50, 0)));
        assert!(!rose(c(100, 5), c(100, 5)));
        assert!(!rose(c(100, 5), c(90, 5)));
        assert!(!rose(c(100, 5), c(90, 4)));
    }
}
