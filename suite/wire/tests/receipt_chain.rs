//! The receipt chain: a five-receipt log signed by a generated Tool key verifies, and each broken
//! rule is reported at the index of the receipt that breaks it.
#![allow(clippy::unwrap_used)]

use oap_wire::ids::{SessionId, TurnId};
use oap_wire::keys::Keypair;
use oap_wire::proof::ProofError;
use oap_wire::receipt::{self, ChainError, ChainRule, Receipt};
use serde_json::{Value, json};

const ACTIONS: [&str; 5] = ["create", "join", "update", "update", "close"];

struct Log {
    tool: Keypair,
    session: SessionId,
    receipts: Vec<Value>,
}

fn build() -> Log {
    let tool = Keypair::generate();
    let convener = Keypair::generate();
    let session = SessionId::new();
    let mut receipts: Vec<Value> = Vec::new();
    let mut previous_turn = session.genesis_turn_id().to_string();
    let mut prev_hash: Option<String> = None;
    let mut state = json!({});
    for (version, action) in ACTIONS.iter().enumerate() {
        state["step"] = json!(version);
        let turn = TurnId::new().to_string();
        let r = Receipt {
            receipt_type: receipt::RECEIPT_TYPE.into(),
            session_id: session.to_string(),
            turn_id: turn.clone(),
            previous_turn_id: previous_turn.clone(),
            state_version: version as u64,
            actor: convener.did.clone(),
            action: (*action).into(),
            state_digest: receipt::state_digest(&state).unwrap(),
            issued_at: format!("2025-01-01T00:00:0{version}Z"),
            prev_receipt_hash: prev_hash.clone(),
            receipt_hash: None,
            proof: None,
            extra: Default::default(),
        };
        let sealed = r.seal(&tool).unwrap();
        prev_hash = Some(sealed["receipt_hash"].as_str().unwrap().to_owned());
        previous_turn = turn;
        receipts.push(sealed);
    }
    Log {
        tool,
        session,
        receipts,
    }
}

impl Log {
    fn verify(&self) -> Result<receipt::ChainSummary, ChainError> {
        receipt::verify_chain(&self.receipts, self.session.as_str(), Some(&self.tool.did))
    }

    /// Edits receipt `i` and re-seals it with the Tool's key, so that only the edited rule breaks.
    fn edit_resealed(&mut self, i: usize, f: impl FnOnce(&mut Value)) {
        f(&mut self.receipts[i]);
        self.receipts[i] = receipt::seal(&self.receipts[i], &self.tool).unwrap();
    }
}

fn rule_at(r: Result<receipt::ChainSummary, ChainError>) -> (usize, ChainRule) {
    let e = r.unwrap_err();
    (e.index, e.rule)
}

#[test]
fn valid_chain() {
    let log = build();
    let summary = log.verify().unwrap();
    assert_eq!(summary.len, 5);
    assert_eq!(summary.head_state_version, 4);
    assert_eq!(summary.signer, log.tool.did);
    assert_eq!(summary.head_turn_id, log.receipts[4]["turn_id"]);
    assert_eq!(summary.head_receipt_hash, log.receipts[4]["receipt_hash"]);
    // Without a Tool DID the genesis signer is required throughout.
    assert_eq!(
        receipt::verify_chain(&log.receipts, log.session.as_str(), None)
            .unwrap()
            .signer,
        log.tool.did
    );
    // Each receipt's hash is the one recomputed from its content.
    for r in &log.receipts {
        assert_eq!(receipt::receipt_hash(r).unwrap(), r["receipt_hash"]);
        let back = Receipt::from_value(r).unwrap();
        assert_eq!(back.to_value(), *r);
    }
    // Members the profile does not name are allowed, and covered by the hash and the proof:
    // adding one to receipt 2 changes its hash, so the later receipts are re-linked.
    let mut log = log;
    log.edit_resealed(2, |r| r["note"] = json!("extra"));
    for i in 3..5 {
        let prev = log.receipts[i - 1]["receipt_hash"].clone();
        log.edit_resealed(i, |r| r["prev_receipt_hash"] = prev);
    }
    assert!(log.verify().is_ok());
    assert_eq!(
        receipt::unknown_members(&log.receipts[2]),
        vec!["note".to_owned()]
    );
    assert!(receipt::unknown_members(&log.receipts[1]).is_empty());
    log.receipts[2]["note"] = json!("edited");
    assert!(matches!(
        rule_at(log.verify()),
        (2, ChainRule::ReceiptHash { .. })
    ));
}

#[test]
fn wrong_version() {
    let mut log = build();
    log.edit_resealed(2, |r| r["state_version"] = json!(3));
    assert_eq!(
        rule_at(log.verify()),
        (
            2,
            ChainRule::StateVersion {
                expected: 2,
                found: 3
            }
        )
    );
    let mut log = build();
    log.receipts.remove(2);
    assert_eq!(
        rule_at(log.verify()),
        (
            2,
            ChainRule::StateVersion {
                expected: 2,
                found: 3
            }
        )
    );
    let mut log = build();
    log.receipts.swap(1, 2);
    assert_eq!(
        rule_at(log.verify()),
        (
            1,
            ChainRule::StateVersion {
                expected: 1,
                found: 2
            }
        )
    );
}

#[test]
fn wrong_previous_turn_id() {
    let mut log = build();
    let stray = TurnId::new().to_string();
    let expected = log.receipts[2]["turn_id"].as_str().unwrap().to_owned();
    log.edit_resealed(3, |r| r["previous_turn_id"] = json!(stray.clone()));
    assert_eq!(
        rule_at(log.verify()),
        (
            3,
            ChainRule::PreviousTurnId {
                expected,
                found: stray
            }
        )
    );
    // Genesis: trn_ + the session's own ULID.
    let mut log = build();
    let stray = TurnId::new().to_string();
    log.edit_resealed(0, |r| r["previous_turn_id"] = json!(stray));
    assert!(matches!(
        rule_at(log.verify()),
        (0, ChainRule::PreviousTurnId { .. })
    ));
}

#[test]
fn wrong_prev_hash() {
    let mut log = build();
    let bogus = "0".repeat(64);
    log.edit_resealed(4, |r| r["prev_receipt_hash"] = json!(bogus.clone()));
    let expected = log.receipts[3]["receipt_hash"].as_str().map(str::to_owned);
    assert_eq!(
        rule_at(log.verify()),
        (
            4,
            ChainRule::PrevReceiptHash {
                expected,
                found: Some(bogus)
            }
        )
    );
    let mut log = build();
    log.edit_resealed(0, |r| r["prev_receipt_hash"] = json!("ab".repeat(32)));
    assert!(matches!(
        rule_at(log.verify()),
        (0, ChainRule::PrevReceiptHash { expected: None, .. })
    ));
    let mut log = build();
    log.edit_resealed(1, |r| r["prev_receipt_hash"] = Value::Null);
    assert!(matches!(
        rule_at(log.verify()),
        (1, ChainRule::PrevReceiptHash { found: None, .. })
    ));
}

#[test]
fn edited_field() {
    // Edited after sealing: the hash no longer matches.
    for (i, field, value) in [
        (1, "action", json!("leave")),
        (2, "actor", json!(Keypair::generate().did)),
        (3, "state_digest", json!("f".repeat(64))),
        (4, "issued_at", json!("2030-01-01T00:00:00Z")),
    ] {
        let mut log = build();
        log.receipts[i][field] = value;
        assert!(
            matches!(rule_at(log.verify()), (idx, ChainRule::ReceiptHash { .. }) if idx == i),
            "{field}"
        );
    }
    // Edited with the hash recomputed but the proof left alone: the proof fails.
    let mut log = build();
    log.receipts[2]["action"] = json!("leave");
    let h = receipt::receipt_hash(&log.receipts[2]).unwrap();
    log.receipts[2]["receipt_hash"] = json!(h);
    assert!(matches!(
        rule_at(log.verify()),
        (2, ChainRule::Proof(ProofError::Signature(_)))
    ));
}

#[test]
fn bad_proof() {
    let mut log = build();
    let pv = log.receipts[2]["proof"]["proofValue"].as_str().unwrap();
    let mut sig = oap_wire::proof::decode_proof_value(pv).unwrap();
    sig[5] ^= 1;
    log.receipts[2]["proof"]["proofValue"] = json!(oap_wire::proof::encode_proof_value(&sig));
    assert!(matches!(
        rule_at(log.verify()),
        (2, ChainRule::Proof(ProofError::Signature(_)))
    ));
    let mut log = build();
    log.receipts[1].as_object_mut().unwrap().remove("proof");
    assert_eq!(
        rule_at(log.verify()),
        (1, ChainRule::Proof(ProofError::MissingProof))
    );
    let mut log = build();
    log.receipts[3]["proof"]["proofPurpose"] = json!("authentication");
    assert!(matches!(rule_at(log.verify()), (3, ChainRule::Proof(_))));
}

#[test]
fn wrong_signer() {
    let mut log = build();
    let intruder = Keypair::generate();
    log.receipts[3] = receipt::seal(&log.receipts[3], &intruder).unwrap();
    assert_eq!(
        rule_at(log.verify()),
        (
            3,
            ChainRule::Signer {
                expected: log.tool.did.clone(),
                found: intruder.did.clone()
            }
        )
    );
    // Also when no Tool DID is given: the genesis signer is expected.
    assert!(matches!(
        rule_at(receipt::verify_chain(
            &log.receipts,
            log.session.as_str(),
            None
        )),
        (3, ChainRule::Signer { .. })
    ));
    // The whole log signed by someone other than the stated Tool.
    let log = build();
    let other = Keypair::generate();
    assert!(matches!(
        rule_at(receipt::verify_chain(
            &log.receipts,
            log.session.as_str(),
            Some(&other.did)
        )),
        (0, ChainRule::Signer { .. })
    ));
}

#[test]
fn other_rules() {
    let log = build();
    assert_eq!(
        rule_at(receipt::verify_chain(&[], log.session.as_str(), None)),
        (0, ChainRule::Empty)
    );
    assert!(matches!(
        rule_at(receipt::verify_chain(&log.receipts, "ses_nope", None)),
        (0, ChainRule::InvalidSessionId(_))
    ));
    let other = SessionId::new();
    assert!(matches!(
        rule_at(receipt::verify_chain(&log.receipts, other.as_str(), None)),
        (0, ChainRule::SessionMismatch { .. })
    ));
    let mut log = build();
    log.edit_resealed(0, |r| r["action"] = json!("join"));
    assert_eq!(
        rule_at(log.verify()),
        (0, ChainRule::GenesisAction("join".into()))
    );
    let mut log = build();
    let reused = log.receipts[1]["turn_id"].clone();
    log.edit_resealed(2, |r| r["turn_id"] = reused.clone());
    log.edit_resealed(3, |r| r["previous_turn_id"] = reused.clone());
    assert!(matches!(
        rule_at(log.verify()),
        (2, ChainRule::DuplicateTurnId(_))
    ));
    let mut log = build();
    log.edit_resealed(3, |r| r["action"] = json!("dance"));
    assert_eq!(
        rule_at(log.verify()),
        (3, ChainRule::UnknownAction("dance".into()))
    );
    let mut log = build();
    log.edit_resealed(1, |r| r["type"] = json!("Receipt"));
    assert_eq!(
        rule_at(log.verify()),
        (1, ChainRule::WrongType("Receipt".into()))
    );
    for (field, value) in [
        ("state_version", json!("1")),
        ("state_version", json!(-1)),
        ("turn_id", json!("trn_x")),
        ("state_digest", json!("ABC")),
        ("issued_at", json!("yesterday")),
        ("actor", json!(42)),
    ] {
        let mut log = build();
        log.edit_resealed(1, |r| r[field] = value.clone());
        assert!(
            matches!(rule_at(log.verify()), (1, ChainRule::Malformed(f)) if f == field),
            "{field} = {value}"
        );
    }
    let mut log = build();
    log.receipts[4] = json!([1, 2]);
    assert_eq!(rule_at(log.verify()), (4, ChainRule::NotAnObject));
    // The error names the index and the rule.
    let mut log = build();
    log.edit_resealed(2, |r| r["state_version"] = json!(7));
    assert_eq!(
        log.verify().unwrap_err().to_string(),
        "receipt 2: state_version 7, expected 2"
    );
}
