//! Session receipts (profile §7): the per-session hash chain, signed by the Tool.
//!
//! Each receipt names its turn, the previous turn and the previous receipt's hash, and carries
//! the SHA-256 of the JCS form of the state after the turn, so anyone holding the log can check
//! the whole history offline with `oap_wire::receipt::verify_chain`.

use serde_json::{Map, Value, json};

use crate::faults::{Fault, FaultSet};
use oap_wire::Keypair;

use super::error::EngineError;

/// The link to the previous receipt (`None` for genesis).
#[derive(Clone, Copy, Debug)]
pub struct Link<'a> {
    /// The previous receipt's `turn_id`.
    pub previous_turn_id: &'a str,
    /// The previous receipt's `receipt_hash`.
    pub prev_receipt_hash: &'a str,
}

/// What a receipt records.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// `ses_…`.
    pub session_id: &'a str,
    /// This turn's id.
    pub turn_id: &'a str,
    /// The version after the turn.
    pub state_version: u64,
    /// The actor's DID.
    pub actor: &'a str,
    /// One of `create join leave update pause resume handoff close invoke`.
    pub action: &'a str,
    /// The state after the turn.
    pub state: &'a Value,
    /// RFC 3339 issue time.
    pub issued_at: &'a str,
}

/// A freshly issued receipt and its hash.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The full receipt, proof included.
    pub receipt: Value,
    /// Its `receipt_hash`.
    pub hash: String,
}

fn internal(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(format!("{what}: {e}"))
}

/// Builds, hashes and signs one receipt. `link` is `None` for genesis, whose
/// `previous_turn_id` is `trn_` + the session's ULID.
pub fn issue(
    facts: Facts<'_>,
    link: Option<Link<'_>>,
    key: &Keypair,
    faults: &FaultSet,
) -> Result<Issued, EngineError> {
    let state_digest =
        oap_wire::jcs::sha256_jcs_hex(facts.state).map_err(|e| internal("state digest", e))?;
    let (previous_turn_id, prev_hash) = match link {
        None => {
            let ulid = facts
                .session_id
                .strip_prefix(oap_wire::ids::SESSION_PREFIX)
                .ok_or_else(|| internal("session id", facts.session_id))?;
            (format!("{}{ulid}", oap_wire::ids::TURN_PREFIX), Value::Null)
        }
        Some(link) => {
            let previous = if faults.has(Fault::WrongPreviousTurnId) {
                facts.turn_id.to_owned()
            } else {
                link.previous_turn_id.to_owned()
            };
            let hash = if faults.has(Fault::BrokenHashLink) {
                hex::encode(oap_wire::digest::sha256(link.prev_receipt_hash.as_bytes()))
            } else {
                link.prev_receipt_hash.to_owned()
            };
            (previous, Value::String(hash))
        }
    };
    let mut receipt = json!({
        "type": "SessionReceipt",
        "session_id": facts.session_id,
        "turn_id": facts.turn_id,
        "previous_turn_id": previous_turn_id,
        "state_version": facts.state_version,
        "actor": facts.actor,
        "action": facts.action,
        "state_digest": state_digest,
        "issued_at": facts.issued_at,
        "prev_receipt_hash": prev_hash,
    });
    let hash =
        oap_wire::receipt::receipt_hash(&receipt).map_err(|e| internal("receipt hash", e))?;
    if let Some(obj) = receipt.as_object_mut() {
        obj.insert("receipt_hash".into(), Value::String(hash.clone()));
    }
    let receipt = sign(receipt, key, facts.issued_at, faults)?;
    Ok(Issued { receipt, hash })
}

/// Adds the Tool's proof (unless the `unsigned-receipts` fault is on).
fn sign(doc: Value, key: &Keypair, created: &str, faults: &FaultSet) -> Result<Value, EngineError> {
    if faults.has(Fault::UnsignedReceipts) {
        return Ok(doc);
    }
    oap_wire::proof::sign_document(&doc, key, created, "assertionMethod")
        .map_err(|e| internal("receipt proof", e))
}

/// The receipt of a stateless (v1.0) invocation: no session members, signed by the Tool.
pub fn stateless(
    actor: &str,
    action: &str,
    input: &Value,
    output: &Value,
    issued_at: &str,
    key: &Keypair,
    faults: &FaultSet,
) -> Result<Value, EngineError> {
    let mut doc = Map::new();
    doc.insert("type".into(), json!("InvocationReceipt"));
    doc.insert("actor".into(), json!(actor));
    doc.insert("action".into(), json!(action));
    doc.insert(
        "input_digest".into(),
        json!(oap_wire::jcs::sha256_jcs_hex(input).map_err(|e| internal("input digest", e))?),
    );
    doc.insert(
        "output_digest".into(),
        json!(oap_wire::jcs::sha256_jcs_hex(output).map_err(|e| internal("output digest", e))?),
    );
    doc.insert("issued_at".into(), json!(issued_at));
    let mut doc = Value::Object(doc);
    let hash = oap_wire::receipt::receipt_hash(&doc).map_err(|e| internal("receipt hash", e))?;
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("receipt_hash".into(), Value::String(hash));
    }
    sign(doc, key, issued_at, faults)
}
