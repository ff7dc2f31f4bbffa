//! A Tool's answers read into outcomes: what the concurrency recorders make of each response
//! (status, body) they receive, with no I/O, so that the same code judges live answers
//! ([`super::wire`], [`super::amp_wire`]) and fuzzed ones (`fuzz/`, target `tool_response`).
//!
//! Nothing is guessed: a 5xx, any other answer that is neither a 200 nor a 4xx (a 201 or a
//! 204 to a turn, a redirect), or a 200 whose body does not say what the operation did, is
//! [`Ret::Indeterminate`]; a refusal is a 4xx and keeps its status and problem code (AMP: its
//! `reason`).

use std::sync::Arc;

use serde_json::Value;

use super::history::{HistoryEntry, LogEntry, LogPage, Ret, Snapshot, StateRead, Status, TurnOk};
use crate::client::InResponse;

/// The body as JSON, if it is JSON.
pub fn body_json(resp: &InResponse) -> Option<Value> {
    serde_json::from_slice(&resp.body).ok()
}

/// The body as text, cut to 300 characters (for error messages).
pub fn truncated(resp: &InResponse) -> String {
    String::from_utf8_lossy(&resp.body)
        .chars()
        .take(300)
        .collect()
}

/// A state value as kept in a history: whole (`keep_states`) or as its fingerprint only.
pub fn snapshot(state: Value, keep_states: bool) -> Snapshot {
    if keep_states {
        Snapshot::new(state)
    } else {
        Snapshot::fingerprint_only(&state)
    }
}

/// A refusal (a 4xx) or an unknown outcome, out of an OAP answer that is not a 200.
pub fn failure(resp: &InResponse) -> Ret {
    let body = body_json(resp);
    let code = body
        .as_ref()
        .and_then(|b| b.get("code"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    match (resp.status, code.as_str()) {
        (409, "version_conflict") => {
            match body
                .as_ref()
                .and_then(|b| b.get("current_version"))
                .and_then(Value::as_u64)
            {
                Some(current_version) => Ret::Conflict { current_version },
                None => Ret::Refused {
                    status: 409,
                    code: "version_conflict without current_version".into(),
                },
            }
        }
        (409, "duplicate_turn") => Ret::DuplicateTurn,
        (status, _) if (400..500).contains(&status) => Ret::Refused { status, code },
        (s, _) => Ret::Indeterminate {
            reason: format!("HTTP {s} {code}"),
        },
    }
}

/// The answer to a turn (`POST /oap/session/{id}/{update,join,leave,pause,resume}`).
pub fn turn(resp: &InResponse, keep_states: bool) -> Ret {
    if resp.status != 200 {
        return failure(resp);
    }
    let Some(body) = body_json(resp) else {
        return Ret::Indeterminate {
            reason: "200 with a body that is not JSON".into(),
        };
    };
    let Some(version) = body.get("state_version").and_then(Value::as_u64) else {
        return Ret::Indeterminate {
            reason: "200 without state_version".into(),
        };
    };
    Ret::Turn(TurnOk {
        version,
        status: body
            .get("status")
            .and_then(Value::as_str)
            .and_then(Status::parse),
        state: body.get("state").cloned().map(|s| snapshot(s, keep_states)),
        receipt: body
            .get("receipt")
            .and_then(|r| LogEntry::from_receipt(r).ok())
            .map(Arc::new),
    })
}

/// The answer to `GET /oap/session/{id}/state`.
pub fn state(resp: &InResponse, keep_states: bool) -> Ret {
    if resp.status != 200 {
        return failure(resp);
    }
    let body = body_json(resp);
    let version = body
        .as_ref()
        .and_then(|b| b.get("state_version"))
        .and_then(Value::as_u64);
    let state = body.as_ref().and_then(|b| b.get("state")).cloned();
    match (version, state) {
        (Some(version), Some(state)) => Ret::State(StateRead {
            version,
            status: body
                .as_ref()
                .and_then(|b| b.get("status"))
                .and_then(Value::as_str)
                .and_then(Status::parse),
            state: snapshot(state, keep_states),
        }),
        _ => Ret::Indeterminate {
            reason: "state read without state_version or state".into(),
        },
    }
}

/// The answer to one page of `GET /oap/session/{id}/log?from={from}`, and the raw receipts
/// it held.
pub fn log_page(resp: &InResponse, from: u64) -> (Ret, Vec<Value>) {
    if resp.status != 200 {
        return (failure(resp), Vec::new());
    }
    let body = body_json(resp);
    let raw: Option<Vec<Value>> = body
        .as_ref()
        .and_then(|b| b.get("receipts"))
        .and_then(Value::as_array)
        .cloned();
    let next = body.as_ref().and_then(|b| b.get("next"));
    let (Some(raw), Some(next)) = (raw, next) else {
        return (
            Ret::Indeterminate {
                reason: "log read without receipts or next".into(),
            },
            Vec::new(),
        );
    };
    let entries: Option<Vec<Arc<LogEntry>>> = raw
        .iter()
        .map(|r| LogEntry::from_receipt(r).ok().map(Arc::new))
        .collect();
    match entries {
        Some(entries) => (
            Ret::Log(LogPage {
                from,
                entries,
                complete: next.is_null(),
            }),
            raw,
        ),
        None => (
            Ret::Indeterminate {
                reason: "log page with a malformed receipt".into(),
            },
            raw,
        ),
    }
}

/// A refusal (a 4xx) or an unknown outcome, out of an AMP reply that is not a 200.
pub fn amp_failure(resp: &InResponse) -> Ret {
    if !(400..500).contains(&resp.status) {
        return Ret::Indeterminate {
            reason: format!("HTTP {}", resp.status),
        };
    }
    let reason = body_json(resp)
        .as_ref()
        .and_then(|b| b.get("reason"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    Ret::Refused {
        status: resp.status,
        code: reason,
    }
}

/// The reply to a `SESSION_MSG`: a `SESSION_ACK` with its `seq`, or a refusal.
pub fn amp_ack(resp: &InResponse) -> Ret {
    if resp.status != 200 {
        return amp_failure(resp);
    }
    let reply = body_json(resp);
    let kind = reply
        .as_ref()
        .and_then(|b| b.get("type"))
        .and_then(Value::as_str);
    let seq = reply
        .as_ref()
        .and_then(|b| b.get("seq"))
        .and_then(Value::as_u64);
    match (kind, seq) {
        (Some("SESSION_ACK"), Some(seq)) => Ret::Ack {
            seq,
            duplicate: reply
                .as_ref()
                .and_then(|b| b.get("duplicate"))
                .and_then(Value::as_bool)
                == Some(true),
        },
        _ => Ret::Indeterminate {
            reason: "200 without a SESSION_ACK and its seq".into(),
        },
    }
}

/// The reply to a `SESSION_STATE`: a `SESSION_ACK` with its `seq`, a 409 `version_conflict`
/// with its `current_seq` (as [`Ret::Conflict`]), or another refusal.
pub fn amp_state_ack(resp: &InResponse) -> Ret {
    if resp.status != 409 {
        return amp_ack(resp);
    }
    let reply = body_json(resp);
    let member = |name: &str| reply.as_ref().and_then(|b| b.get(name));
    match (
        member("reason").and_then(Value::as_str),
        member("current_seq").and_then(Value::as_u64),
    ) {
        (Some("version_conflict"), Some(current_version)) => Ret::Conflict { current_version },
        _ => amp_failure(resp),
    }
}

/// One entry of an AMP session's `history`: its `seq`, `from` and `id`.
pub fn amp_entry(v: &Value) -> Option<HistoryEntry> {
    Some(HistoryEntry {
        seq: v.get("seq")?.as_u64()?,
        from: Arc::from(v.get("from")?.as_str()?),
        id: Arc::from(v.get("id")?.as_str()?),
    })
}

/// The answer to `GET /amp/session/{id}/state`: its `history`.
pub fn amp_history(resp: &InResponse) -> Ret {
    if resp.status != 200 {
        return amp_failure(resp);
    }
    let entries: Option<Vec<HistoryEntry>> = body_json(resp)
        .as_ref()
        .and_then(|b| b.get("history"))
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(amp_entry).collect());
    match entries {
        Some(entries) => Ret::History(Arc::new(entries)),
        None => Ret::Indeterminate {
            reason: "state without a readable history (seq, from, id per entry)".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> InResponse {
        InResponse {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// Only a 4xx is a refusal: a 201, a 204 or a redirect answering a turn says nothing
    /// definite about whether it applied (found by the `tool_response` fuzz target).
    #[test]
    fn only_a_4xx_is_a_refusal() {
        let created = r#"{"session_id":"ses_01HZY3K7Q8W9X0ABCDEFGHJKMN","state_version":0}"#;
        for status in [201, 204, 302, 500, 503] {
            assert!(
                turn(&resp(status, created), true).is_indeterminate(),
                "{status}"
            );
            assert!(
                state(&resp(status, created), true).is_indeterminate(),
                "{status}"
            );
            assert!(
                log_page(&resp(status, created), 0).0.is_indeterminate(),
                "{status}"
            );
            assert!(
                amp_ack(&resp(status, created)).is_indeterminate(),
                "{status}"
            );
            assert!(
                amp_history(&resp(status, created)).is_indeterminate(),
                "{status}"
            );
        }
        assert_eq!(
            turn(&resp(403, r#"{"code":"not_a_participant"}"#), true),
            Ret::Refused {
                status: 403,
                code: "not_a_participant".into()
            }
        );
        assert_eq!(
            turn(
                &resp(409, r#"{"code":"version_conflict","current_version":4}"#),
                true
            ),
            Ret::Conflict { current_version: 4 }
        );
        assert_eq!(
            amp_state_ack(&resp(
                409,
                r#"{"type":"SESSION_ERROR","code":4001,"reason":"version_conflict","current_seq":9}"#
            )),
            Ret::Conflict { current_version: 9 }
        );
        assert_eq!(
            amp_state_ack(&resp(409, r#"{"reason":"invalid_transition"}"#)),
            Ret::Refused {
                status: 409,
                code: "invalid_transition".into()
            }
        );
        assert!(amp_state_ack(&resp(201, created)).is_indeterminate());
        assert_eq!(
            amp_ack(&resp(401, r#"{"reason":"missing_signature"}"#)),
            Ret::Refused {
                status: 401,
                code: "missing_signature".into()
            }
        );
    }
}
