//! One attempt of one command, as a plain future over flows-mediator: no
//! Postgres here (it runs between the worker's transactions). A token push
//! is split in two so the balance and transaction count before the send are
//! saved (a checkpoint) before the token can reach the meter.

use crate::queue::backoff::{jitter_unit, Backoff};
use crate::queue::{Claimed, Completion};
use flows_mediator::classify::FailureClass;
use flows_mediator::client::Mediator;
use flows_mediator::operations::{execute, Command, Outcome};
use serde_json::{json, Value};

pub enum Step {
    Done(Completion),
    /// Save `progress` on the command, then run `next` (same lease).
    Checkpoint {
        next: Claimed,
        progress: Value,
    },
}

const TOKEN_OP: &str = "prepay_send_token";

pub async fn attempt(mediator: Mediator, c: Claimed, backoff: Backoff) -> Step {
    if c.operation == TOKEN_OP && c.progress.get("balance_before").is_none() {
        return before_token(&mediator, c, backoff).await;
    }
    let mut args = c.args.clone();
    if c.operation == TOKEN_OP {
        args["verify"] = json!({
            "balance_before": c.progress["balance_before"],
            "transaction_count_before": c.progress["transaction_count_before"],
        });
        if let Some(map) = args.as_object_mut() {
            map.remove("topup_id");
        }
    }
    let outcome = execute(&mediator, &command(&c, &c.operation, args)).await;
    Step::Done(completion(&c, outcome, backoff))
}

/// Phase one of a token push: what the meter says before anything is sent.
async fn before_token(mediator: &Mediator, c: Claimed, backoff: Backoff) -> Step {
    let mut progress = json!({});
    for (op, key, field) in [
        ("prepay_balance", "balance_before", "balance"),
        (
            "transaction_count",
            "transaction_count_before",
            "transaction_count",
        ),
    ] {
        match execute(mediator, &command(&c, op, json!({}))).await {
            Outcome::Succeeded(v) => progress[key] = v[field].clone(),
            failed => {
                // Nothing was sent yet: whatever the class, the token is safe.
                let mut done = completion(&c, failed, backoff);
                if let Completion::Failed { class, partial, .. } = &mut done {
                    if *class == "unknown_outcome" {
                        *class = "retryable";
                    }
                    *partial = json!({"sent": false});
                }
                return Step::Done(done);
            }
        }
    }
    let mut next = c;
    next.progress = progress.clone();
    Step::Checkpoint { next, progress }
}

fn command(c: &Claimed, operation: &str, args: Value) -> Command {
    Command {
        serial: c.serial.clone(),
        operation: operation.to_string(),
        args,
        hardware: c.hardware.clone(),
    }
}

fn completion(c: &Claimed, outcome: Outcome, backoff: Backoff) -> Completion {
    match outcome {
        Outcome::Succeeded(result) => Completion::Succeeded { id: c.id, result },
        Outcome::Failed {
            class,
            code,
            message,
            partial,
        } => {
            let (class, retry) = match class {
                FailureClass::Retryable => ("retryable", true),
                FailureClass::UnknownOutcome => ("unknown_outcome", true),
                FailureClass::Permanent => ("permanent", false),
            };
            let retry_at_unix_ms = retry.then(|| {
                let delay = backoff.delay(c.attempts, jitter_unit(c.id as u64));
                now_unix_ms() + delay.as_millis() as i64
            });
            Completion::Failed {
                id: c.id,
                class,
                code,
                message,
                partial,
                retry_at_unix_ms,
            }
        }
    }
}

fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
