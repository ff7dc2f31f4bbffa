//! Executing a request step: expand, build, sign, send, judge, capture.
//!
//! The request is assembled as plain bytes first (URL, body, headers), then
//! signed over exactly those bytes, then any header overrides of the step are
//! applied, so that a vector can break precisely one thing. `replay` resends
//! an earlier step's recorded request untouched.

use base64::Engine;
use serde_json::Value;

use super::state::Sent;
use super::{Run, StepError};
use crate::actors::signer::{JSON, SignedRequest, sign_request};
use crate::client::OutRequest;
use crate::recording::json_diff;
use crate::vector::matcher::{Actual, judge, pointer};
use crate::vector::template::{expand_str, expand_to_value, expand_value};
use crate::vector::{RequestStep, SignOptions};

/// Default bound on `repeat` counts.
pub const DEFAULT_REPEAT_MAX: u64 = 256;

/// Runs a request step (all its repetitions).
pub(crate) async fn run_request(
    run: &mut Run<'_>,
    name: &str,
    step: &RequestStep,
) -> Result<(), StepError> {
    let (count, var) = match &step.repeat {
        None => (1, None),
        Some(rep) => {
            let times = match &rep.times {
                Value::String(s) => expand_to_value(s, &mut run.state)
                    .map_err(|e| StepError::error(format!("repeat: {e}")))?,
                other => other.clone(),
            };
            let times = times
                .as_i64()
                .ok_or_else(|| StepError::error(format!("repeat: {times} is not an integer")))?;
            let count = times.saturating_add(rep.adjust).max(0) as u64;
            let max = rep.max.unwrap_or(DEFAULT_REPEAT_MAX);
            if count > max {
                return Err(StepError::not_applicable(format!(
                    "needs {count} repetitions, more than the suite's bound of {max}"
                )));
            }
            (
                count,
                Some(rep.var.clone().unwrap_or_else(|| "i".to_owned())),
            )
        }
    };
    for i in 0..count {
        if let Some(var) = &var {
            run.state.vars.insert(var.clone(), Value::from(i));
        }
        once(run, name, step).await.map_err(|e| match &var {
            Some(v) => StepError {
                status: e.status,
                reason: format!("{v}={i}: {}", e.reason),
            },
            None => e,
        })?;
    }
    Ok(())
}

async fn once(run: &mut Run<'_>, name: &str, step: &RequestStep) -> Result<(), StepError> {
    let (request, nonce) = match &step.replay {
        Some(earlier) => {
            let sent =
                run.state.sent.get(earlier).ok_or_else(|| {
                    StepError::error(format!("replay: step {earlier} sent nothing"))
                })?;
            (sent.request.clone(), sent.nonce.clone())
        }
        None => build(run, step)?,
    };
    run.state.sent.insert(
        name.to_owned(),
        Sent {
            request: request.clone(),
            nonce,
        },
    );
    let expected = serde_json::to_value(&step.expect).ok();
    let resp = run.send(request, expected).await?;
    let (json, json_error) = match run.parse_json(&resp) {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    let actual = Actual {
        status: resp.status,
        headers: &resp.headers,
        json: json.as_ref(),
        json_error: json_error.as_deref(),
    };
    let ctx = run.ctx;
    match judge(
        step.expect.outcomes(),
        &actual,
        &mut run.state,
        &ctx.schemas,
    ) {
        Ok(_) => {}
        Err(mismatch) => {
            let reason = mismatch.reasons.join("; ");
            let diff = json_diff(&mismatch.expected, &mismatch.actual);
            run.annotate(reason.clone(), diff);
            return Err(StepError::fail(reason));
        }
    }
    for (var, ptr) in &step.capture {
        let value = json
            .as_ref()
            .and_then(|j| pointer(j, ptr))
            .cloned()
            .ok_or_else(|| {
                StepError::fail(format!("capture {var}: the response has no {ptr:?}"))
            })?;
        run.state.vars.insert(var.clone(), value);
    }
    Ok(())
}

fn template_err(what: &str) -> impl Fn(crate::vector::template::TemplateError) -> StepError + '_ {
    move |e| StepError::error(format!("{what}: {e}"))
}

/// Builds and signs the request of a step.
fn build(run: &mut Run<'_>, step: &RequestStep) -> Result<(OutRequest, Option<String>), StepError> {
    let method = step.method.clone().unwrap_or_else(|| "GET".to_owned());
    let path = expand_str(step.path.as_deref().unwrap_or("/"), &mut run.state)
        .map_err(template_err("path"))?;
    // A path that expands to an absolute URL (the manifest's `state_schema`) is used as is.
    let url = if path.starts_with("http://") || path.starts_with("https://") {
        path
    } else {
        format!("{}{path}", run.ctx.target.base_url())
    };
    let body: Option<Vec<u8>> = if let Some(b) = &step.body {
        let v = expand_value(b, &mut run.state).map_err(template_err("body"))?;
        Some(serde_json::to_vec(&v).map_err(|e| StepError::error(format!("body: {e}")))?)
    } else if let Some(raw) = &step.raw_body {
        Some(
            expand_str(raw, &mut run.state)
                .map_err(template_err("raw_body"))?
                .into_bytes(),
        )
    } else if let Some(b64) = &step.raw_body_base64 {
        Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| StepError::error(format!("raw_body_base64: {e}")))?,
        )
    } else {
        None
    };
    let content_type = step
        .content_type
        .clone()
        .or_else(|| body.as_ref().map(|_| JSON.to_owned()));

    let mut headers: Vec<(String, String)> = Vec::new();
    let mut nonce_used = None;
    if step.unsigned {
        if let Some(ct) = &content_type {
            headers.push(("Content-Type".into(), ct.clone()));
        }
        if let Some(b) = &body {
            headers.push(("Content-Digest".into(), oap_wire::digest::content_digest(b)));
        }
    } else {
        let actor_t = step.actor.as_deref().unwrap_or("");
        let actor = expand_str(actor_t, &mut run.state).map_err(template_err("actor"))?;
        let mut opts = step.sign.clone().unwrap_or_default();
        let nonce = nonce_for(run, &opts)?;
        for v in [&mut opts.keyid, &mut opts.target_uri]
            .into_iter()
            .flatten()
        {
            *v = expand_str(v, &mut run.state).map_err(template_err("sign"))?;
        }
        let key_actor = match &opts.key {
            Some(k) => expand_str(k, &mut run.state).map_err(template_err("sign.key"))?,
            None => actor.clone(),
        };
        let key = run.state.actors.get(&key_actor);
        if opts.keyid.is_none() && key_actor != actor {
            opts.keyid = Some(run.state.actors.did(&actor));
        }
        let signed = sign_request(
            &SignedRequest {
                method: &method,
                url: &url,
                body: body.as_deref(),
                content_type: content_type.as_deref(),
                key: &key,
                nonce: &nonce,
                now: oap_wire::time::unix_now(),
            },
            &opts,
        )
        .map_err(|e| StepError::error(e.to_string()))?;
        headers.extend(signed);
        nonce_used = Some(nonce);
    }
    for (name, value) in &step.headers {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if let Some(v) = value {
            let v = expand_str(v, &mut run.state).map_err(template_err("headers"))?;
            headers.push((name.clone(), v));
        }
    }
    Ok((
        OutRequest {
            method,
            url,
            headers,
            body,
        },
        nonce_used,
    ))
}

fn nonce_for(run: &mut Run<'_>, opts: &SignOptions) -> Result<String, StepError> {
    if let Some(n) = &opts.nonce {
        return expand_str(n, &mut run.state).map_err(template_err("sign.nonce"));
    }
    if let Some(step) = &opts.nonce_from {
        return run
            .state
            .sent
            .get(step)
            .and_then(|s| s.nonce.clone())
            .ok_or_else(|| StepError::error(format!("nonce_from: step {step} sent no nonce")));
    }
    Ok(run.state.nonce())
}
