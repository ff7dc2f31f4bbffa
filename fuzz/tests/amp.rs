//! The AMP oracle (`oap_fuzz::amp::profile_verdict`) tells well-formed messages from each kind
//! of malformed one by itself, so the `oap_ref_amp_message` target can catch a parser that
//! accepts or refuses the wrong bodies.

use oap_fuzz::amp::profile_verdict;
use oap_fuzz::oracle::fixtures;
use serde_json::{Value, json};

fn message(kind: &str, extra: Value) -> Value {
    let mut v = json!({
        "type": kind,
        "id": "m-1",
        "from": fixtures::key(1).did,
        "session_id": fixtures::SESSIONS[0],
        "amp_version": "1.0",
    });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

#[test]
fn well_formed_messages_must_be_accepted() {
    let invitee = fixtures::key(2).did;
    for v in [
        message(
            "SESSION_INIT",
            json!({"purpose": "p", "ttl": 60, "capabilities_required": ["echo"], "participants": [invitee]}),
        ),
        message("SESSION_ACCEPT", json!({})),
        message("SESSION_REJECT", json!({"reason": "busy"})),
        message("SESSION_MSG", json!({"body": null})),
        message(
            "SESSION_STATE",
            json!({"patch": {"current_step": 1, "total_steps": null, "shared_data": {}}, "expected_seq": 2}),
        ),
        message("SESSION_SUSPEND", json!({})),
        message("SESSION_RESUME", json!({})),
        message("SESSION_CLOSE", json!({"reason": "done"})),
    ] {
        assert_eq!(profile_verdict(&v), Vec::<&str>::new(), "{v}");
    }
}

#[test]
fn each_kind_of_malformed_message_is_refused() {
    let me = fixtures::key(1).did;
    let cases = [
        (json!([]), "malformed_message"),
        (
            message("SESSION_MSG", json!({"body": 1, "amp_version": "2.0"})),
            "unsupported_version",
        ),
        (message("SESSION_ACK", json!({})), "malformed_message"),
        (message("SESSION_MSG", json!({})), "malformed_message"),
        (
            message("SESSION_MSG", json!({"body": 1, "x": 1})),
            "malformed_message",
        ),
        (
            message("SESSION_ACCEPT", json!({"id": "a b"})),
            "malformed_message",
        ),
        (
            message("SESSION_ACCEPT", json!({"from": "did:web:x"})),
            "invalid_identifier",
        ),
        (
            message("SESSION_ACCEPT", json!({"session_id": "ses_x"})),
            "invalid_identifier",
        ),
        (
            message("SESSION_INIT", json!({"purpose": "", "ttl": 60})),
            "malformed_message",
        ),
        (
            message("SESSION_INIT", json!({"purpose": "p", "ttl": 1.5})),
            "malformed_message",
        ),
        (
            message(
                "SESSION_INIT",
                json!({"purpose": "p", "ttl": 60, "participants": [me]}),
            ),
            "malformed_message",
        ),
        (
            message(
                "SESSION_INIT",
                json!({"purpose": "p", "ttl": 60, "participants": ["did:key:x"]}),
            ),
            "invalid_identifier",
        ),
        (message("SESSION_REJECT", json!({})), "malformed_message"),
        (
            message(
                "SESSION_STATE",
                json!({"patch": {"purpose": "x"}, "expected_seq": 1}),
            ),
            "malformed_message",
        ),
        (
            message("SESSION_STATE", json!({"patch": {}, "expected_seq": 0})),
            "malformed_message",
        ),
    ];
    for (v, reason) in cases {
        assert_eq!(profile_verdict(&v), vec![reason], "{v}");
    }
}
