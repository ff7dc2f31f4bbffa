//! Fixed, deterministic signed material the mutation targets start from: keys from fixed
//! seeds, credentials of the three kinds of `docs/profile.md` §6, and receipt chains of four
//! receipts (§7). Built once per process; a recorded case names a fixture by its index.

use std::sync::OnceLock;

use oap_wire::Keypair;
use oap_wire::proof::{self, ASSERTION_METHOD};
use oap_wire::receipt::{self, Receipt};
use serde_json::{Value, json};

/// Session ids the fixtures belong to.
pub const SESSIONS: [&str; 2] = [
    "ses_01HZY3K7Q8W9X0ABCDEFGHJKMN",
    "ses_7ZZZZZZZZZZZZZZZZZZZZZZZZZ",
];

/// The W3C `eddsa-jcs-2022` example of a signed document.
const W3C_SIGNED: &str =
    include_str!("../../../external-vectors/vc-di-eddsa-jcs-2022/signedJCS.json");

/// The key pair with a seed of 32 copies of `seed`.
pub fn key(seed: u8) -> Keypair {
    Keypair::from_seed([seed; 32])
}

/// One of four signing keys (seeds 1 to 4), chosen by `seed` modulo 4; built once.
pub fn signer(seed: u8) -> &'static Keypair {
    static SIGNERS: OnceLock<Vec<Keypair>> = OnceLock::new();
    let all = SIGNERS.get_or_init(|| (1..=4).map(key).collect());
    &all[usize::from(seed % 4)]
}

/// A fixture credential and the DID that signed it.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The signed document.
    pub doc: Value,
    /// Its signer.
    pub signer: String,
}

fn credential(kind: &str, issuer: u8, subject: u8, session: &str, i: usize) -> Credential {
    let issuer_key = key(issuer);
    let mut doc = json!({
        "type": kind,
        "issuer": issuer_key.did,
        "session_id": session,
        "subject": key(subject).did,
        "nonce": format!("nonce-{i}-{kind}"),
        "issued_at": "2025-01-01T00:00:00Z",
    });
    if kind != "SessionRevocation" {
        doc["expires_at"] = json!("2025-01-01T01:00:00Z");
    }
    if kind == "SessionAdmission" {
        doc["scope"] = json!({ "ccc": "internal", "clearance": "confidential" });
    }
    sign(doc, &issuer_key)
}

fn sign(doc: Value, key: &Keypair) -> Credential {
    let doc = proof::sign_document(&doc, key, "2025-01-01T00:00:00Z", ASSERTION_METHOD)
        .unwrap_or_else(|e| panic!("fixture does not sign: {e}"));
    Credential {
        doc,
        signer: key.did.clone(),
    }
}

/// Signed credentials: an admission, a revocation and a handoff for each of three issuers, and
/// one document with numbers, arrays and non-ASCII text.
pub fn credentials() -> &'static [Credential] {
    static CREDENTIALS: OnceLock<Vec<Credential>> = OnceLock::new();
    CREDENTIALS.get_or_init(|| {
        let mut out = Vec::new();
        for issuer in 1..=3u8 {
            for kind in ["SessionAdmission", "SessionRevocation", "SessionHandoff"] {
                let session = SESSIONS[usize::from(issuer) % 2];
                out.push(credential(kind, issuer, issuer % 3 + 1, session, out.len()));
            }
        }
        let note = json!({
            "type": "Note",
            "n": [0, -1, 1.5, 9007199254740991_u64, 1e300],
            "nested": { "a": [true, false, null], "b": { "c": "" } },
            "text": "caf\u{e9} \u{1f600} \u{2028}",
        });
        out.push(sign(note, &key(4)));
        out
    })
}

/// Every signed document the fixtures know: the credentials and the W3C example.
pub fn known_documents() -> &'static [Value] {
    static KNOWN: OnceLock<Vec<Value>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut out: Vec<Value> = credentials().iter().map(|c| c.doc.clone()).collect();
        let w3c = serde_json::from_str(W3C_SIGNED)
            .unwrap_or_else(|e| panic!("W3C example is not JSON: {e}"));
        out.push(w3c);
        out
    })
}

/// A fixture receipt chain.
#[derive(Debug, Clone)]
pub struct Chain {
    /// The session.
    pub session_id: String,
    /// The Tool's DID (the signer of every receipt).
    pub tool_did: String,
    /// The sealed receipts, genesis first.
    pub receipts: Vec<Value>,
}

fn chain(session_id: &str, tool_seed: u8) -> Chain {
    let tool = key(tool_seed);
    let session: oap_wire::ids::SessionId = session_id
        .parse()
        .unwrap_or_else(|e| panic!("fixture session id: {e}"));
    let mut receipts: Vec<Value> = Vec::new();
    let mut previous_turn_id = session.genesis_turn_id().to_string();
    let actions = [("create", 1), ("join", 2), ("update", 2), ("close", 1)];
    for (version, (action, actor)) in actions.into_iter().enumerate() {
        let turn_id = format!("trn_01HZY3K7Q8W9X0ABCDEFGH{tool_seed:02}{version:02}");
        let state = json!({ "title": "fixture", "step": version });
        let r = Receipt {
            receipt_type: receipt::RECEIPT_TYPE.into(),
            session_id: session_id.into(),
            turn_id: turn_id.clone(),
            previous_turn_id: previous_turn_id.clone(),
            state_version: version as u64,
            actor: key(actor).did,
            action: action.into(),
            state_digest: receipt::state_digest(&state)
                .unwrap_or_else(|e| panic!("fixture state: {e}")),
            issued_at: format!("2025-01-01T00:00:0{version}Z"),
            prev_receipt_hash: receipts
                .last()
                .and_then(|r| r.get("receipt_hash"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            receipt_hash: None,
            proof: None,
            extra: serde_json::Map::new(),
        };
        receipts.push(
            r.seal(&tool)
                .unwrap_or_else(|e| panic!("fixture seal: {e}")),
        );
        previous_turn_id = turn_id;
    }
    Chain {
        session_id: session_id.into(),
        tool_did: tool.did,
        receipts,
    }
}

/// Two valid chains of four receipts (`create`, `join`, `update`, `close`), by two Tools.
pub fn chains() -> &'static [Chain] {
    static CHAINS: OnceLock<Vec<Chain>> = OnceLock::new();
    CHAINS.get_or_init(|| vec![chain(SESSIONS[0], 10), chain(SESSIONS[1], 11)])
}
