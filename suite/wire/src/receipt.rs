//! Session receipts and offline verification of a session's receipt chain.
//!
//! Every turn appends one receipt, signed by the Tool, that names the turn, the state version it
//! produced and a digest of the resulting state, and links to its predecessor twice: by turn
//! (`previous_turn_id`) and by hash (`prev_receipt_hash`). Whoever holds the log can therefore
//! check, without trusting the Tool's storage, that no turn was dropped, reordered, edited or
//! inserted. [`verify_chain`] checks every rule of the profile (`docs/profile.md` §7) that the log
//! alone can show, and names the first receipt that breaks one. It does not know the session
//! state, so `state_digest` is checked for form only, and it tolerates members beyond the
//! profile's (they are covered by the hash and the proof); [`unknown_members`] lists them for a
//! judge that checks PRF-RCPT-1's "exactly these members".
//!
//! `receipt_hash` is the lower-hex SHA-256 of the JCS form of the receipt without `receipt_hash`
//! and `proof`; the `eddsa-jcs-2022` proof covers the receipt with `receipt_hash` but without
//! `proof`. Members the profile does not name are allowed, and are covered by both.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{self, SessionId};
use crate::jcs::{self, JcsError};
use crate::keys::Keypair;
use crate::proof::{self, ProofError};

/// The receipt `type`.
pub const RECEIPT_TYPE: &str = "SessionReceipt";
/// The `action` of the genesis receipt.
pub const GENESIS_ACTION: &str = "create";
/// Every `action` a session receipt may name (profile PRF-RCPT-2).
pub const ACTIONS: [&str; 9] = [
    "create", "join", "leave", "update", "pause", "resume", "handoff", "close", "invoke",
];
/// The members the profile names for a session receipt (PRF-RCPT-1).
pub const MEMBERS: [&str; 12] = [
    "type",
    "session_id",
    "turn_id",
    "previous_turn_id",
    "state_version",
    "actor",
    "action",
    "state_digest",
    "issued_at",
    "prev_receipt_hash",
    "receipt_hash",
    "proof",
];

/// A session receipt (`docs/profile.md` §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// Always `SessionReceipt`.
    #[serde(rename = "type")]
    pub receipt_type: String,
    /// The session (`ses_…`).
    pub session_id: String,
    /// The turn this receipt records (`trn_…`).
    pub turn_id: String,
    /// The previous receipt's `turn_id`; for the genesis receipt, `trn_` + the session's ULID.
    pub previous_turn_id: String,
    /// The state version the turn produced (0 for the genesis receipt).
    pub state_version: u64,
    /// The DID of the participant whose request made the turn.
    pub actor: String,
    /// What the turn did (`create`, `join`, `update`, …).
    pub action: String,
    /// Lower-hex SHA-256 of the JCS form of the state after the turn.
    pub state_digest: String,
    /// When the Tool issued the receipt (RFC 3339).
    pub issued_at: String,
    /// The previous receipt's `receipt_hash`; `null` for the genesis receipt.
    pub prev_receipt_hash: Option<String>,
    /// This receipt's hash (absent until sealed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_hash: Option<String>,
    /// The Tool's proof (absent until sealed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Value>,
    /// Any further members, kept and covered by the hash.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why a receipt could not be hashed, sealed or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The receipt is not a JSON object.
    #[error("receipt is not a JSON object")]
    NotAnObject,
    /// The receipt does not have the profile's shape.
    #[error("receipt shape: {0}")]
    Shape(String),
    /// Canonicalization failed.
    #[error(transparent)]
    Jcs(#[from] JcsError),
    /// Signing failed.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

impl Receipt {
    /// The receipt as a JSON object (extra members included).
    pub fn to_value(&self) -> Value {
        let mut m = self.extra.clone();
        m.insert("type".into(), self.receipt_type.clone().into());
        m.insert("session_id".into(), self.session_id.clone().into());
        m.insert("turn_id".into(), self.turn_id.clone().into());
        m.insert(
            "previous_turn_id".into(),
            self.previous_turn_id.clone().into(),
        );
        m.insert("state_version".into(), self.state_version.into());
        m.insert("actor".into(), self.actor.clone().into());
        m.insert("action".into(), self.action.clone().into());
        m.insert("state_digest".into(), self.state_digest.clone().into());
        m.insert("issued_at".into(), self.issued_at.clone().into());
        m.insert(
            "prev_receipt_hash".into(),
            self.prev_receipt_hash
                .clone()
                .map_or(Value::Null, Value::String),
        );
        if let Some(h) = &self.receipt_hash {
            m.insert("receipt_hash".into(), h.clone().into());
        }
        if let Some(p) = &self.proof {
            m.insert("proof".into(), p.clone());
        }
        Value::Object(m)
    }

    /// Reads a receipt from JSON.
    pub fn from_value(v: &Value) -> Result<Self, ReceiptError> {
        if !v.is_object() {
            return Err(ReceiptError::NotAnObject);
        }
        Self::deserialize(v).map_err(|e| ReceiptError::Shape(e.to_string()))
    }

    /// Computes `receipt_hash`, signs with the Tool's key (proof `created` = `issued_at`,
    /// purpose `assertionMethod`) and returns the sealed receipt.
    pub fn seal(&self, tool: &Keypair) -> Result<Value, ReceiptError> {
        seal(&self.to_value(), tool)
    }
}

/// Members of `receipt` that the profile does not name, sorted. [`verify_chain`] accepts them
/// (they are covered by the hash and the proof); a judge checking that a Tool emits exactly the
/// profile's members (PRF-RCPT-1) uses this.
pub fn unknown_members(receipt: &Value) -> Vec<String> {
    match receipt {
        Value::Object(m) => m
            .keys()
            .filter(|k| !MEMBERS.contains(&k.as_str()))
            .cloned()
            .collect(),
        _ => Vec::new(),
    }
}

/// The `state_digest` of a session state: lower-hex SHA-256 of its JCS form.
pub fn state_digest(state: &Value) -> Result<String, ReceiptError> {
    Ok(jcs::sha256_jcs_hex(state)?)
}

/// The `receipt_hash` of `receipt`: lower-hex SHA-256 over the JCS form of the receipt without
/// `receipt_hash` and `proof`.
pub fn receipt_hash(receipt: &Value) -> Result<String, ReceiptError> {
    let Value::Object(m) = receipt else {
        return Err(ReceiptError::NotAnObject);
    };
    let mut m = m.clone();
    m.remove("receipt_hash");
    m.remove("proof");
    Ok(jcs::sha256_jcs_hex(&Value::Object(m))?)
}

/// Sets `receipt_hash` on `receipt` (replacing any `receipt_hash` and `proof`) and adds the
/// Tool's `eddsa-jcs-2022` proof, with `created` = the receipt's `issued_at`.
pub fn seal(receipt: &Value, tool: &Keypair) -> Result<Value, ReceiptError> {
    let Value::Object(m) = receipt else {
        return Err(ReceiptError::NotAnObject);
    };
    let issued_at = m
        .get("issued_at")
        .and_then(Value::as_str)
        .ok_or_else(|| ReceiptError::Shape("issued_at missing or not a string".into()))?
        .to_owned();
    let hash = receipt_hash(receipt)?;
    let mut m = m.clone();
    m.remove("proof");
    m.insert("receipt_hash".into(), hash.into());
    Ok(proof::sign_document(
        &Value::Object(m),
        tool,
        &issued_at,
        proof::ASSERTION_METHOD,
    )?)
}

/// A broken rule of the receipt chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainRule {
    /// The log is empty: a session always has its genesis receipt.
    #[error("the log is empty")]
    Empty,
    /// The session id given to the verifier is not a `ses_` id.
    #[error("{0:?} is not a session id")]
    InvalidSessionId(String),
    /// The receipt is not a JSON object.
    #[error("not a JSON object")]
    NotAnObject,
    /// A member is missing or has the wrong JSON type or form.
    #[error("member {0:?} missing or malformed")]
    Malformed(&'static str),
    /// `type` is not `SessionReceipt`.
    #[error("type {0:?} is not SessionReceipt")]
    WrongType(String),
    /// The receipt belongs to another session.
    #[error("session_id {found:?}, expected {expected:?}")]
    SessionMismatch {
        /// The session being verified.
        expected: String,
        /// The receipt's session.
        found: String,
    },
    /// `turn_id` was already used by an earlier receipt.
    #[error("turn_id {0:?} repeats an earlier turn")]
    DuplicateTurnId(String),
    /// `state_version` is not the previous one plus one (0 for the genesis receipt).
    #[error("state_version {found}, expected {expected}")]
    StateVersion {
        /// The version the chain requires here.
        expected: u64,
        /// The receipt's version.
        found: u64,
    },
    /// `action` is not one of [`ACTIONS`].
    #[error("action {0:?} is not a session action")]
    UnknownAction(String),
    /// The genesis receipt's action is not `create`.
    #[error("genesis action {0:?} is not create")]
    GenesisAction(String),
    /// `previous_turn_id` does not link to the previous turn.
    #[error("previous_turn_id {found:?}, expected {expected:?}")]
    PreviousTurnId {
        /// The turn id the chain requires here.
        expected: String,
        /// The receipt's `previous_turn_id`.
        found: String,
    },
    /// `prev_receipt_hash` does not link to the previous receipt.
    #[error("prev_receipt_hash {found:?}, expected {expected:?}")]
    PrevReceiptHash {
        /// The hash the chain requires here (`None`: null).
        expected: Option<String>,
        /// The receipt's `prev_receipt_hash`.
        found: Option<String>,
    },
    /// `receipt_hash` is not the hash of the receipt's content.
    #[error("receipt_hash {found:?}, content hashes to {computed:?}")]
    ReceiptHash {
        /// The hash recomputed from the receipt.
        computed: String,
        /// The receipt's `receipt_hash`.
        found: String,
    },
    /// The proof does not verify.
    #[error("proof: {0}")]
    Proof(ProofError),
    /// The proof is valid but made by someone other than the Tool.
    #[error("signed by {found}, expected {expected}")]
    Signer {
        /// The Tool's DID.
        expected: String,
        /// The proof's signer.
        found: String,
    },
}

/// The first broken rule of a chain and the index of the receipt that breaks it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("receipt {index}: {rule}")]
pub struct ChainError {
    /// Position of the offending receipt in the log (0 = genesis).
    pub index: usize,
    /// The rule it breaks.
    pub rule: ChainRule,
}

/// What a verified chain establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    /// Number of receipts.
    pub len: usize,
    /// `state_version` of the last receipt.
    pub head_state_version: u64,
    /// `turn_id` of the last receipt.
    pub head_turn_id: String,
    /// `receipt_hash` of the last receipt.
    pub head_receipt_hash: String,
    /// `state_digest` of the last receipt.
    pub head_state_digest: String,
    /// The DID that signed every receipt.
    pub signer: String,
}

/// Verifies a session's complete receipt log, from the genesis receipt on: the genesis rules,
/// contiguous `state_version`s, the `previous_turn_id` and `prev_receipt_hash` links, unique turn
/// ids, actions from [`ACTIONS`], each `receipt_hash` recomputed, each proof verified (purpose `assertionMethod`) and made by
/// `tool_did` (or, when `None`, by the signer of the genesis receipt).
pub fn verify_chain(
    receipts: &[Value],
    session_id: &str,
    tool_did: Option<&str>,
) -> Result<ChainSummary, ChainError> {
    let at = |index: usize| move |rule: ChainRule| ChainError { index, rule };
    let session: SessionId = session_id
        .parse()
        .map_err(|_| at(0)(ChainRule::InvalidSessionId(session_id.to_owned())))?;
    if receipts.is_empty() {
        return Err(at(0)(ChainRule::Empty));
    }
    let mut expected_signer = tool_did.map(str::to_owned);
    let mut prev: Option<Link> = None;
    let mut seen_turns: HashSet<String> = HashSet::with_capacity(receipts.len());
    for (index, receipt) in receipts.iter().enumerate() {
        let link =
            check_receipt(receipt, &session, prev.as_ref(), &seen_turns).map_err(at(index))?;
        let signer = proof::verify_document_for(receipt, proof::ASSERTION_METHOD)
            .map_err(|e| at(index)(ChainRule::Proof(e)))?;
        match &expected_signer {
            Some(expected) if *expected != signer => {
                return Err(at(index)(ChainRule::Signer {
                    expected: expected.clone(),
                    found: signer,
                }));
            }
            Some(_) => {}
            None => expected_signer = Some(signer),
        }
        seen_turns.insert(link.turn_id.clone());
        prev = Some(link);
    }
    match (prev, expected_signer) {
        (Some(head), Some(signer)) => Ok(ChainSummary {
            len: receipts.len(),
            head_state_version: head.state_version,
            head_turn_id: head.turn_id,
            head_receipt_hash: head.receipt_hash,
            head_state_digest: head.state_digest,
            signer,
        }),
        _ => Err(at(0)(ChainRule::Empty)),
    }
}

/// What the next receipt must link to.
struct Link {
    turn_id: String,
    state_version: u64,
    receipt_hash: String,
    state_digest: String,
}

fn check_receipt(
    receipt: &Value,
    session: &SessionId,
    prev: Option<&Link>,
    seen_turns: &HashSet<String>,
) -> Result<Link, ChainRule> {
    let Value::Object(m) = receipt else {
        return Err(ChainRule::NotAnObject);
    };
    let string = |name: &'static str| -> Result<&str, ChainRule> {
        m.get(name)
            .and_then(Value::as_str)
            .ok_or(ChainRule::Malformed(name))
    };
    let kind = string("type")?;
    if kind != RECEIPT_TYPE {
        return Err(ChainRule::WrongType(kind.to_owned()));
    }
    let sid = string("session_id")?;
    if sid != session.as_str() {
        return Err(ChainRule::SessionMismatch {
            expected: session.as_str().to_owned(),
            found: sid.to_owned(),
        });
    }
    let turn_id = string("turn_id")?;
    if !ids::is_valid_turn_id(turn_id) {
        return Err(ChainRule::Malformed("turn_id"));
    }
    let version = m
        .get("state_version")
        .and_then(Value::as_u64)
        .ok_or(ChainRule::Malformed("state_version"))?;
    let actor = string("actor")?;
    if !actor.starts_with("did:") {
        return Err(ChainRule::Malformed("actor"));
    }
    let action = string("action")?;
    if !ACTIONS.contains(&action) {
        return Err(ChainRule::UnknownAction(action.to_owned()));
    }
    let digest = string("state_digest")?;
    if digest.len() != 64
        || !digest
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ChainRule::Malformed("state_digest"));
    }
    if crate::time::parse_rfc3339(string("issued_at")?).is_err() {
        return Err(ChainRule::Malformed("issued_at"));
    }
    let previous_turn_id = string("previous_turn_id")?;
    let prev_hash = match m.get("prev_receipt_hash") {
        Some(Value::Null) => None,
        Some(Value::String(h)) => Some(h.clone()),
        _ => return Err(ChainRule::Malformed("prev_receipt_hash")),
    };
    let found_hash = string("receipt_hash")?;

    let (expected_version, expected_prev_turn, expected_prev_hash) = match prev {
        None => (0, session.genesis_turn_id().to_string(), None),
        Some(p) => (
            p.state_version.saturating_add(1),
            p.turn_id.clone(),
            Some(p.receipt_hash.clone()),
        ),
    };
    if version != expected_version {
        return Err(ChainRule::StateVersion {
            expected: expected_version,
            found: version,
        });
    }
    if prev.is_none() && action != GENESIS_ACTION {
        return Err(ChainRule::GenesisAction(action.to_owned()));
    }
    if previous_turn_id != expected_prev_turn {
        return Err(ChainRule::PreviousTurnId {
            expected: expected_prev_turn,
            found: previous_turn_id.to_owned(),
        });
    }
    if prev_hash != expected_prev_hash {
        return Err(ChainRule::PrevReceiptHash {
            expected: expected_prev_hash,
            found: prev_hash,
        });
    }
    if seen_turns.contains(turn_id) {
        return Err(ChainRule::DuplicateTurnId(turn_id.to_owned()));
    }
    let computed = receipt_hash(receipt).map_err(|_| ChainRule::Malformed("receipt_hash"))?;
    if computed != found_hash {
        return Err(ChainRule::ReceiptHash {
            computed,
            found: found_hash.to_owned(),
        });
    }
    Ok(Link {
        turn_id: turn_id.to_owned(),
        state_version: version,
        receipt_hash: computed,
        state_digest: digest.to_owned(),
    })
}
