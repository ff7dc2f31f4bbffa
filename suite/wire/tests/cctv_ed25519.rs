//! C2SP CCTV `ed25519vectors.json`: 914 edge cases for the points A and R.
//!
//! The strict policy rejects every vector flagged `low_order_A`, `low_order_R`, `non_canonical_A`
//! or `non_canonical_R` (in these vectors every non-canonical encoding is of a low-order point, so
//! the two reasons overlap), and every vector flagged `low_order_residue` (the cofactorless
//! equation fails for them). It accepts the other 43: one vector without flags, 7 with a
//! low-order component in A only and 35 with one in both A and R, none of them a point of small
//! order itself; no blocklist can reject such points and the cofactorless equation verifies them.
//! `reencoded_k` vectors are all also non-canonical, so rejected.
//!
//! Verdicts per flag (a vector counts once under each of its flags):
//!
//! | flag | accepted | rejected |
//! | --- | --- | --- |
//! | low_order_A | 0 | 526 |
//! | low_order_R | 0 | 586 |
//! | non_canonical_A | 0 | 226 |
//! | non_canonical_R | 0 | 316 |
//! | low_order_residue | 0 | 583 |
//! | reencoded_k | 0 | 146 |
//! | low_order_component_A | 42 | 732 |
//! | low_order_component_R | 35 | 630 |
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{flip, json, s, unhex};
use oap_wire::keys::{self, SignatureError};

struct Vector {
    number: u64,
    key: Vec<u8>,
    sig: Vec<u8>,
    msg: Vec<u8>,
    flags: Vec<String>,
}

fn vectors() -> Vec<Vector> {
    json("cctv-ed25519/ed25519vectors.json")
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Vector {
            number: v["number"].as_u64().unwrap(),
            key: unhex(s(v, "key")),
            sig: unhex(s(v, "sig")),
            msg: s(v, "msg").as_bytes().to_vec(),
            flags: v["flags"]
                .as_array()
                .map(|a| a.iter().map(|f| f.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default(),
        })
        .collect()
}

const REJECTING_FLAGS: [&str; 5] = [
    "low_order_A",
    "low_order_R",
    "non_canonical_A",
    "non_canonical_R",
    "low_order_residue",
];

#[test]
fn policy_over_all_vectors() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 914);
    let mut per_flag: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut accepted = 0;
    for v in &vectors {
        let verdict = keys::verify_strict_bytes(&v.key, &v.msg, &v.sig);
        let expect_reject = v
            .flags
            .iter()
            .any(|f| REJECTING_FLAGS.contains(&f.as_str()));
        assert_eq!(
            verdict.is_err(),
            expect_reject,
            "vector {} flags {:?}: {verdict:?}",
            v.number,
            v.flags
        );
        // The first rejection reason follows the flags on A, then R.
        let has = |f: &str| v.flags.iter().any(|x| x == f);
        if let Err(e) = verdict {
            let a_bad = has("low_order_A") || has("non_canonical_A");
            let r_bad = has("low_order_R") || has("non_canonical_R");
            let reason_ok = match e {
                SignatureError::NonCanonicalKey => has("non_canonical_A"),
                SignatureError::SmallOrderKey => has("low_order_A"),
                SignatureError::NonCanonicalR => !a_bad && has("non_canonical_R"),
                SignatureError::SmallOrderR => !a_bad && has("low_order_R"),
                SignatureError::Mismatch => !a_bad && !r_bad && has("low_order_residue"),
                _ => false,
            };
            assert!(reason_ok, "vector {}: {e:?} for {:?}", v.number, v.flags);
        } else {
            accepted += 1;
        }
        for f in &v.flags {
            let e = per_flag.entry(f.as_str()).or_default();
            if verdict.is_ok() {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    }
    for (flag, (ok, rejected)) in &per_flag {
        println!("{flag:24} accepted {ok:4} rejected {rejected:4}");
    }
    // Every flagged-low-order or non-canonical vector is rejected.
    for flag in [
        "low_order_A",
        "low_order_R",
        "non_canonical_A",
        "non_canonical_R",
    ] {
        assert_eq!(per_flag[flag].0, 0, "{flag}");
    }
    assert_eq!(
        accepted, 43,
        "vectors with at most low_order_component flags"
    );
}

#[test]
fn flipped_bytes_fail() {
    let v = vectors()
        .into_iter()
        .find(|v| keys::verify_strict_bytes(&v.key, &v.msg, &v.sig).is_ok())
        .unwrap();
    assert!(keys::verify_strict_bytes(&v.key, &flip(&v.msg, 0), &v.sig).is_err());
    assert!(keys::verify_strict_bytes(&v.key, &v.msg, &flip(&v.sig, 33)).is_err());
}
