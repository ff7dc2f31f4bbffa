//! The built-in checks: receipt chain, snapshots, waits, restarts.
//!
//! These are the oracles a request/response pair cannot express: the log read
//! to its end and verified offline against the Tool's DID (every hash, link
//! and proof), a session compared before and after a refused request, a TTL
//! allowed to pass, the Tool restarted between two steps. Reads are signed by
//! the step's actor like any other request and appear in the transcript.

use std::time::Duration;

use serde_json::Value;

use super::state::Snapshot;
use super::{Run, StepError};
use crate::client::OutRequest;
use crate::recording::json_diff;
use crate::vector::template::{expand_str, expand_to_value};
use crate::vector::{CheckKind, CheckStep, SignOptions};

/// Longest `sleep_until` the suite waits; beyond it the vector is not-applicable.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// Most log pages read for one chain (a Tool whose `next` never ends is failed).
pub const MAX_LOG_PAGES: usize = 1000;

/// Runs one check step.
pub(crate) async fn run_check(run: &mut Run<'_>, c: &CheckStep) -> Result<(), StepError> {
    match c.check {
        CheckKind::VerifyChain => verify_chain(run, c).await,
        CheckKind::Snapshot => {
            let snap = snapshot(run, c).await?;
            let name = c.save_as.clone().unwrap_or_default();
            run.state.snapshots.insert(name, snap);
            Ok(())
        }
        CheckKind::StateUnchangedSince => {
            let name = c.snapshot.clone().unwrap_or_default();
            let before = run
                .state
                .snapshots
                .get(&name)
                .cloned()
                .ok_or_else(|| StepError::error(format!("no snapshot {name:?}")))?;
            let now = snapshot(run, c).await?;
            if now != before {
                let (b, n) = (to_json(&before), to_json(&now));
                let diff = json_diff(&b, &n);
                let reason = format!("the session changed since snapshot {name:?}");
                run.annotate(reason.clone(), diff);
                return Err(StepError::fail(reason));
            }
            Ok(())
        }
        CheckKind::SleepUntil => {
            let until = expand_str(c.until.as_deref().unwrap_or(""), &mut run.state)
                .map_err(|e| StepError::error(format!("until: {e}")))?;
            let at = oap_wire::time::parse_rfc3339(&until)
                .map_err(|e| StepError::fail(format!("until {until:?} is not RFC 3339: {e}")))?;
            let now = time::OffsetDateTime::now_utc();
            let wait = (at - now).max(time::Duration::ZERO)
                + time::Duration::milliseconds(i64::try_from(c.ms.unwrap_or(1000)).unwrap_or(0));
            let wait = Duration::try_from(wait).unwrap_or(Duration::ZERO);
            if wait > MAX_WAIT {
                return Err(StepError::not_applicable(format!(
                    "would wait {wait:?} for {until}, more than the suite's {MAX_WAIT:?}"
                )));
            }
            tokio::time::sleep(wait).await;
            Ok(())
        }
        CheckKind::Set => {
            for (name, template) in &c.vars {
                let value = crate::vector::template::expand_value(template, &mut run.state)
                    .map_err(|e| StepError::error(format!("set {name}: {e}")))?;
                run.state.vars.insert(name.clone(), value);
            }
            Ok(())
        }
        CheckKind::Sleep => {
            tokio::time::sleep(Duration::from_millis(c.ms.unwrap_or(0))).await;
            Ok(())
        }
        CheckKind::Restart => {
            if !run.ctx.target.can_restart() {
                return Err(StepError::not_applicable(
                    "needs a restart hook (--restart-cmd)",
                ));
            }
            run.ctx
                .target
                .restart()
                .await
                .map_err(|e| StepError::error(format!("restart failed: {e}")))?;
            run.after_restart = true;
            Ok(())
        }
        CheckKind::Race => race(run, c).await,
    }
}

/// A concurrency scenario: race, check, judge (see [`crate::concurrency::scenario`]). The
/// evidence of a failure is the reason: every broken rule with its requirement and minimal
/// sub-history, and the seeds that replay the plan.
async fn race(run: &mut Run<'_>, c: &CheckStep) -> Result<(), StepError> {
    use crate::concurrency::scenario::{ScenarioOutcome, replay_hint, run_scenario, scenario_seed};
    let Some(scenario) = &c.scenario else {
        return Err(StepError::error("a race step needs a scenario"));
    };
    let seed = scenario_seed(run.ctx.seed, run.vector_id);
    let hint = replay_hint(seed, run.ctx.seed, run.vector_id);
    let outcome = run_scenario(
        run.ctx.client.clone(),
        run.ctx.target.base_url(),
        &run.ctx.manifest,
        run.binding,
        scenario,
        seed,
    )
    .await;
    if let ScenarioOutcome::Pass(s)
    | ScenarioOutcome::Violations(s)
    | ScenarioOutcome::NoContention(s) = &outcome
    {
        let mut summary = s.to_json();
        if let Some(m) = summary.as_object_mut() {
            m.insert("vector".into(), Value::from(run.vector_id));
            m.insert("binding".into(), Value::from(run.binding.as_str()));
            m.insert("run_seed".into(), Value::from(run.ctx.seed));
        }
        run.concurrency = Some(summary);
    }
    match outcome {
        ScenarioOutcome::Pass(_) => Ok(()),
        ScenarioOutcome::Violations(s) => {
            let rules: Vec<String> = s
                .counts
                .keys()
                .map(|r| format!("{r} ({})", r.requirement()))
                .collect();
            Err(StepError::fail(format!(
                "the race broke {}; {hint}\n{s}",
                rules.join(", ")
            )))
        }
        ScenarioOutcome::NoContention(s) => Err(StepError::error(format!(
            "turns (messages) overlapped only {} times, fewer than the scenario's {}, in {} races: \
             a pass would prove nothing; {hint}\n{s}",
            s.overlap.turn_pairs,
            scenario.min_turn_pairs,
            crate::concurrency::scenario::ATTEMPTS
        ))),
        ScenarioOutcome::Setup(e) => {
            Err(StepError::fail(format!("setting up the race: {e}; {hint}")))
        }
        ScenarioOutcome::Invalid(e) => Err(StepError::error(format!("scenario: {e}"))),
    }
}

fn to_json(s: &Snapshot) -> Value {
    serde_json::to_value(s).unwrap_or(Value::Null)
}

/// A signed GET as `actor`; the body must be a JSON object with status 200.
async fn get_json(run: &mut Run<'_>, actor: &str, path: &str) -> Result<Value, StepError> {
    let url = format!("{}{path}", run.ctx.target.base_url());
    let key = run.state.actors.get(actor);
    let nonce = run.state.nonce();
    let headers = crate::actors::sign_request(
        &crate::actors::SignedRequest {
            method: "GET",
            url: &url,
            body: None,
            content_type: None,
            key: &key,
            nonce: &nonce,
            now: oap_wire::time::unix_now(),
        },
        &SignOptions::default(),
    )
    .map_err(|e| StepError::error(e.to_string()))?;
    let req = OutRequest {
        method: "GET".into(),
        url,
        headers,
        body: None,
    };
    let resp = run.send(req, None).await?;
    if resp.status != 200 {
        let reason = format!("GET {path}: expected 200, got {}", resp.status);
        run.annotate(reason.clone(), None);
        return Err(StepError::fail(reason));
    }
    match run.parse_json(&resp) {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => fail_last(run, format!("GET {path}: body is not a JSON object")),
        Err(e) => fail_last(run, format!("GET {path}: {e}")),
    }
}

fn fail_last<T>(run: &mut Run<'_>, reason: String) -> Result<T, StepError> {
    run.annotate(reason.clone(), None);
    Err(StepError::fail(reason))
}

fn session_and_actor(run: &mut Run<'_>, c: &CheckStep) -> Result<(String, String), StepError> {
    let sid = expand_str(
        c.session.as_deref().unwrap_or("${session_id}"),
        &mut run.state,
    )
    .map_err(|e| StepError::error(format!("session: {e}")))?;
    let actor = expand_str(c.actor.as_deref().unwrap_or(""), &mut run.state)
        .map_err(|e| StepError::error(format!("actor: {e}")))?;
    Ok((sid, actor))
}

/// Reads the whole log of a session, following `next`.
async fn read_log(
    run: &mut Run<'_>,
    actor: &str,
    sid: &str,
    page: Option<u64>,
) -> Result<Vec<Value>, StepError> {
    let mut receipts = Vec::new();
    let mut from: u64 = 0;
    for _ in 0..MAX_LOG_PAGES {
        let path = match page {
            Some(limit) => format!("/oap/session/{sid}/log?from={from}&limit={limit}"),
            None if from == 0 => format!("/oap/session/{sid}/log"),
            None => format!("/oap/session/{sid}/log?from={from}"),
        };
        let body = get_json(run, actor, &path).await?;
        let Some(items) = body.get("receipts").and_then(Value::as_array) else {
            return fail_last(run, "log: no `receipts` array".into());
        };
        receipts.extend(items.iter().cloned());
        match body.get("next") {
            None | Some(Value::Null) => return Ok(receipts),
            Some(next) => match next.as_u64() {
                Some(n) if n > from && !items.is_empty() => from = n,
                _ => {
                    return fail_last(
                        run,
                        format!("log: `next` {next} does not advance past {from}"),
                    );
                }
            },
        }
    }
    fail_last(run, format!("log: more than {MAX_LOG_PAGES} pages"))
}

async fn verify_chain(run: &mut Run<'_>, c: &CheckStep) -> Result<(), StepError> {
    let (sid, actor) = session_and_actor(run, c)?;
    let receipts = read_log(run, &actor, &sid, c.page).await?;
    let tool_did = run
        .state
        .manifest()
        .get("tool_did")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let summary = match oap_wire::receipt::verify_chain(&receipts, &sid, tool_did.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail_last(run, format!("receipt chain: {e}")),
    };
    if let Some(len) = &c.length {
        let want = match len {
            Value::String(s) => expand_to_value(s, &mut run.state)
                .map_err(|e| StepError::error(format!("length: {e}")))?,
            other => other.clone(),
        };
        if want.as_u64() != Some(summary.len as u64) {
            return fail_last(
                run,
                format!("log: expected {want} receipts, got {}", summary.len),
            );
        }
    }
    if let Some(actions) = &c.actions {
        let got: Vec<&str> = receipts
            .iter()
            .map(|r| r.get("action").and_then(Value::as_str).unwrap_or("?"))
            .collect();
        if got != actions.iter().map(String::as_str).collect::<Vec<_>>() {
            let diff = json_diff(&serde_json::json!(actions), &serde_json::json!(got));
            run.annotate("log: actions differ".to_string(), diff);
            return Err(StepError::fail(format!(
                "log: expected actions {actions:?}, got {got:?}"
            )));
        }
    }
    let state = get_json(run, &actor, &format!("/oap/session/{sid}/state")).await?;
    if state.get("state_version").and_then(Value::as_u64) != Some(summary.head_state_version) {
        return fail_last(
            run,
            format!(
                "state_version {} does not match the last receipt's {}",
                state.get("state_version").cloned().unwrap_or(Value::Null),
                summary.head_state_version
            ),
        );
    }
    let digest = state
        .get("state")
        .map(oap_wire::jcs::sha256_jcs_hex)
        .and_then(Result::ok);
    if digest.as_deref() != Some(summary.head_state_digest.as_str()) {
        return fail_last(
            run,
            format!(
                "SHA-256(JCS(state)) {} does not match the last receipt's state_digest {}",
                digest.unwrap_or_else(|| "(no state)".into()),
                summary.head_state_digest
            ),
        );
    }
    Ok(())
}

async fn snapshot(run: &mut Run<'_>, c: &CheckStep) -> Result<Snapshot, StepError> {
    let (sid, actor) = session_and_actor(run, c)?;
    let state = get_json(run, &actor, &format!("/oap/session/{sid}/state")).await?;
    let receipts = read_log(run, &actor, &sid, None).await?;
    let field = |name: &str| state.get(name).cloned().unwrap_or(Value::Null);
    let state_digest = state
        .get("state")
        .map(oap_wire::jcs::sha256_jcs_hex)
        .and_then(Result::ok)
        .unwrap_or_default();
    Ok(Snapshot {
        state_version: field("state_version"),
        status: field("status"),
        state_digest,
        convener: field("convener"),
        participants: field("participants"),
        log_length: receipts.len(),
        head_receipt_hash: receipts
            .last()
            .and_then(|r| r.get("receipt_hash"))
            .cloned()
            .unwrap_or(Value::Null),
    })
}
