//! Property tests: sign → parse → verify round trips for RFC 9421 and eddsa-jcs-2022, JCS
//! idempotence, merge-patch idempotence, and "never panics" on arbitrary input for the functions
//! that read untrusted data.
#![allow(clippy::unwrap_used)]

use oap_wire::httpsig::{self, RequestParts, SignRequest};
use oap_wire::json::{self, JsonLimits};
use oap_wire::keys::Keypair;
use oap_wire::{didkey, digest, jcs, proof, receipt};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// JSON values within the profile: integers in the I-JSON range, finite floats, any strings.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-9_007_199_254_740_991_i64..=9_007_199_254_740_991).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Any JSON value `serde_json` can hold, with member names and strings drawn to exercise JCS's
/// escapes and its UTF-16 member order.
fn jcs_input() -> impl Strategy<Value = Value> {
    let text = "[a-z\\x00-\\x1f\"\\\\\u{7f}\u{e9}\u{2028}\u{e000}\u{ff61}\u{10000}\u{1f600}]{0,8}";
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-100_000_i64..100_000).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text.prop_map(Value::String),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-z]{1,6}", json_value(), 0..5)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn httpsig_round_trip(
        seed in any::<[u8; 32]>(),
        method in "(GET|POST|PUT|DELETE|[A-Z]{1,8})",
        path in "/[A-Za-z0-9/_.~-]{0,40}",
        query in proptest::option::of("[A-Za-z0-9=&]{1,20}"),
        nonce in "[A-Za-z0-9_-]{16,128}",
        created in 0i64..=999_999_999_999,
        label in "[a-z][a-z0-9-]{0,10}",
        body in proptest::option::of(prop::collection::vec(any::<u8>(), 0..64)),
    ) {
        let key = Keypair::from_seed(seed);
        let uri = match &query {
            Some(q) => format!("https://tool.example{path}?{q}"),
            None => format!("https://tool.example{path}"),
        };
        let digest = body.as_ref().map(|b| digest::content_digest(b));
        let content_type = body.as_ref().map(|_| "application/json");
        let h = httpsig::sign(&key, &SignRequest {
            method: &method,
            target_uri: &uri,
            content_type,
            content_digest: digest.as_deref(),
            created,
            nonce: &nonce,
            label: &label,
        });
        let parsed = httpsig::parse_signature_headers(&h.signature_input, &h.signature).unwrap();
        let parts = RequestParts {
            method: method.clone(),
            target_uri: uri.clone(),
            content_type: content_type.map(str::to_owned),
            content_digest: digest.clone(),
        };
        let v = httpsig::verify(&parsed, &parts).unwrap();
        prop_assert_eq!(&v.keyid, &key.did);
        prop_assert_eq!(v.created, created);
        prop_assert_eq!(&v.nonce, &nonce);
        let mut tampered = parts.clone();
        tampered.target_uri.push('x');
        prop_assert!(httpsig::verify(&parsed, &tampered).is_err());
    }

    #[test]
    fn proof_round_trip(seed in any::<[u8; 32]>(), doc in object()) {
        let key = Keypair::from_seed(seed);
        let signed = proof::sign_document(&doc, &key, "2025-01-01T00:00:00Z", proof::ASSERTION_METHOD).unwrap();
        prop_assert_eq!(proof::verify_document(&signed).unwrap(), key.did.clone());
        let mut tampered = signed.clone();
        tampered["__extra"] = Value::from(1);
        prop_assert!(proof::verify_document(&tampered).is_err());
    }

    #[test]
    fn jcs_is_idempotent(v in json_value()) {
        // JCS writes numbers as doubles (`0.0` becomes `0`, `1e20` becomes
        // `100000000000000000000`), so the re-read value may differ in representation but its
        // canonical form may not.
        let once = jcs::canonicalize(&v).unwrap();
        let reparsed: Value = serde_json::from_slice(&once).unwrap();
        let twice = jcs::canonicalize(&reparsed).unwrap();
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn jcs_matches_serde_jcs(v in jcs_input()) {
        // The direct writer against the `serde_jcs` crate it replaced, on any value: integers
        // beyond 2^53 (written as doubles), floats, control characters and characters beyond
        // U+FFFF in strings and member names (sorted by UTF-16 code units).
        let ours = jcs::canonicalize(&v).unwrap();
        let reference = serde_jcs::to_vec(&v).unwrap();
        prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(reference).unwrap());
    }

    #[test]
    fn merge_patch_is_idempotent(target in json_value(), patch in json_value()) {
        let mut once = target.clone();
        json::merge_patch(&mut once, &patch);
        let mut twice = once.clone();
        json::merge_patch(&mut twice, &patch);
        prop_assert_eq!(once, twice);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn readers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), text in ".{0,200}") {
        let _ = json::parse_strict(&bytes, &JsonLimits::default());
        let _ = json::parse_strict(text.as_bytes(), &JsonLimits::default());
        let _ = httpsig::parse_signature_headers(&text, &text);
        let _ = httpsig::parse_signature_headers(&format!("sig1=({text})"), &format!("sig1=:{text}:"));
        let _ = didkey::public_key_from_did(&text);
        let _ = didkey::public_key_from_did(&format!("did:key:z{text}"));
        let _ = digest::verify_content_digest(&text, &bytes);
    }

    #[test]
    fn verifiers_never_panic(v in json_value(), doc in object()) {
        let _ = proof::verify_document(&v);
        let mut with_proof = doc.clone();
        with_proof["proof"] = v.clone();
        let _ = proof::verify_document(&with_proof);
        let _ = receipt::verify_chain(&[v.clone(), doc.clone()], "ses_01ARZ3NDEKTSV4RRFFQ69G5FAV", None);
        let _ = receipt::receipt_hash(&v);
    }
}
