//! Wycheproof `ed25519_test.json`: every test's verdict under the profile's strict policy.
//!
//! The file labels each test `valid` or `invalid` (it has no `acceptable` tests). The strict
//! policy agrees with every label: the `invalid` tests (InvalidEncoding, SignatureMalleability
//! i.e. S ≥ L, truncated, garbage-appended and compressed signatures, edge-case R/S values) are all
//! rejected, and all `valid` ones (including the TinkOverflow cases) are accepted. Should a future
//! copy of the file disagree, the disagreement must be listed in `POLICY_DIFFERENCES` with its
//! reason, and the test fails if a listed case no longer differs.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{flip, json, s, unhex};
use oap_wire::keys;

/// tcIds whose verdict under the strict policy differs from Wycheproof's label, with the reason.
const POLICY_DIFFERENCES: &[(u64, &str)] = &[];

struct Case {
    tc_id: u64,
    flags: Vec<String>,
    result: String,
    pk: Vec<u8>,
    msg: Vec<u8>,
    sig: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let file = json("wycheproof/ed25519_test.json");
    let mut out = Vec::new();
    for group in file["testGroups"].as_array().unwrap() {
        let pk = unhex(s(&group["publicKey"], "pk"));
        for t in group["tests"].as_array().unwrap() {
            out.push(Case {
                tc_id: t["tcId"].as_u64().unwrap(),
                flags: t["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap().to_owned())
                    .collect(),
                result: s(t, "result").to_owned(),
                pk: pk.clone(),
                msg: unhex(s(t, "msg")),
                sig: unhex(s(t, "sig")),
            });
        }
    }
    assert_eq!(
        out.len() as u64,
        file["numberOfTests"].as_u64().unwrap(),
        "every test is read"
    );
    out
}

#[test]
fn every_verdict_matches_the_strict_policy() {
    let mut differences = Vec::new();
    let mut counts: BTreeMap<(String, String, bool), usize> = BTreeMap::new();
    for c in cases() {
        let accepted = keys::verify_strict_bytes(&c.pk, &c.msg, &c.sig).is_ok();
        let expected = match c.result.as_str() {
            "valid" => true,
            "invalid" => false,
            other => panic!("tcId {}: unexpected result {other}", c.tc_id),
        };
        for f in &c.flags {
            *counts
                .entry((c.result.clone(), f.clone(), accepted))
                .or_default() += 1;
        }
        if accepted != expected {
            differences.push(c.tc_id);
        }
    }
    for ((result, flag, accepted), n) in &counts {
        println!("{result:8} {flag:22} accepted={accepted:5} {n}");
    }
    let listed: Vec<u64> = POLICY_DIFFERENCES.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        differences, listed,
        "verdicts that differ from Wycheproof's labels"
    );
    // 88 valid tests accepted, 63 invalid ones rejected.
    let accepted: usize = cases()
        .iter()
        .filter(|c| keys::verify_strict_bytes(&c.pk, &c.msg, &c.sig).is_ok())
        .count();
    assert_eq!(accepted, 88);
}

#[test]
fn flipped_bytes_fail() {
    let valid: Vec<Case> = cases()
        .into_iter()
        .filter(|c| c.result == "valid")
        .collect();
    assert!(!valid.is_empty());
    for c in valid.iter().take(20) {
        assert!(keys::verify_strict_bytes(&c.pk, &c.msg, &flip(&c.sig, 7)).is_err());
        assert!(keys::verify_strict_bytes(&c.pk, &c.msg, &flip(&c.sig, 50)).is_err());
        assert!(keys::verify_strict_bytes(&c.pk, &flip(&c.msg, 0), &c.sig).is_err());
    }
}
