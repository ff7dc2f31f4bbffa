//! RFC 9421 Appendix B with the B.1.4 `test-key-ed25519`: the B.2.6 signature base reproduced
//! from the transcribed `test-request`, the published signature verified and re-created (Ed25519
//! is deterministic), and the B.4 transformation examples.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{flip, json, read, s};
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use oap_wire::httpsig::{self, HttpSigError, ParamValue};
use oap_wire::keys::{self, Keypair};
use serde_json::Value;

fn vectors() -> Value {
    json("rfc9421/rfc9421-ed25519-vectors.json")
}

/// A request as RFC 9421 components see it: method, path, authority and header values (repeated
/// fields joined with ", ", RFC 9421 §2.1).
struct Message {
    method: String,
    path: String,
    headers: BTreeMap<String, Vec<String>>,
}

impl Message {
    fn parse(lines: &[Value]) -> Self {
        let mut lines = lines.iter().map(|l| l.as_str().unwrap());
        let mut request = lines.next().unwrap().split(' ');
        let method = request.next().unwrap().to_owned();
        let target = request.next().unwrap();
        let path = target.split('?').next().unwrap().to_owned();
        let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in lines {
            let (name, value) = line.split_once(':').unwrap();
            headers
                .entry(name.to_ascii_lowercase())
                .or_default()
                .push(value.trim().to_owned());
        }
        Self {
            method,
            path,
            headers,
        }
    }

    fn component(&self, name: &str) -> Option<String> {
        match name {
            "@method" => Some(self.method.clone()),
            "@path" => Some(self.path.clone()),
            "@authority" => self
                .headers
                .get("host")
                .map(|h| h.join(", ").to_lowercase()),
            field => self.headers.get(field).map(|h| h.join(", ")),
        }
    }
}

fn test_key() -> (SigningKey, VerifyingKey) {
    let v = vectors();
    let k = &v["test_key_ed25519"];
    let sk = SigningKey::from_pkcs8_pem(s(k, "private_key_pem")).unwrap();
    let pk = VerifyingKey::from_public_key_pem(s(k, "public_key_pem")).unwrap();
    // The PEM files next to the JSON hold the same key.
    let sk_file = SigningKey::from_pkcs8_pem(
        std::str::from_utf8(&read("rfc9421/test-key-ed25519.priv.pem")).unwrap(),
    )
    .unwrap();
    let pk_file = VerifyingKey::from_public_key_pem(
        std::str::from_utf8(&read("rfc9421/test-key-ed25519.pub.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(sk.to_bytes(), sk_file.to_bytes());
    assert_eq!(pk, pk_file);
    assert_eq!(
        sk.verifying_key(),
        pk,
        "the private key derives the public key"
    );
    assert_eq!(
        URL_SAFE_NO_PAD.decode(s(&k["jwk"], "x")).unwrap(),
        pk.as_bytes()
    );
    assert_eq!(
        URL_SAFE_NO_PAD.decode(s(&k["jwk"], "d")).unwrap(),
        sk.to_bytes()
    );
    (sk, pk)
}

fn b26_params(case: &Value) -> Vec<(String, ParamValue)> {
    vec![
        (
            "created".to_owned(),
            ParamValue::Integer(case["parameters"]["created"].as_i64().unwrap()),
        ),
        (
            "keyid".to_owned(),
            ParamValue::String(s(&case["parameters"], "keyid").to_owned()),
        ),
    ]
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn b26_signature_base_verify_and_resign() {
    let v = vectors();
    let case = &v["b_2_6_signing_a_request_using_ed25519"];
    let request = Message::parse(v["test_request"]["head_lines"].as_array().unwrap());
    let components = strings(&case["covered_components"]);
    let params = b26_params(case);

    let base = httpsig::signature_base_for(&components, &params, |c| request.component(c)).unwrap();
    assert_eq!(base.as_bytes(), read("rfc9421/b26-signature-base.txt"));
    assert_eq!(base, s(case, "signature_base"));
    assert_eq!(
        format!(
            "{}={}",
            s(case, "label"),
            httpsig::signature_params(&components, &params)
        ),
        s(case, "signature_input_header")
    );

    let (sk, pk) = test_key();
    let sig = STANDARD.decode(s(case, "signature_base64")).unwrap();
    assert_eq!(keys::verify_strict(&pk, base.as_bytes(), &sig), Ok(()));

    let key = Keypair::from_signing_key(sk);
    assert_eq!(
        key.sign(base.as_bytes()).as_slice(),
        sig,
        "deterministic re-signing"
    );
    let headers = httpsig::sign_with(&key, s(case, "label"), &components, &params, |c| {
        request.component(c)
    })
    .unwrap();
    assert_eq!(headers.signature_input, s(case, "signature_input_header"));
    assert_eq!(headers.signature, s(case, "signature_header"));
}

#[test]
fn b4_transformations() {
    let v = vectors();
    let b4 = &v["b_4_transformations"];
    let (_, pk) = test_key();
    let components = ["@method", "@path", "@authority", "accept"];
    let params = [
        ("created", ParamValue::Integer(1_618_884_473)),
        ("keyid", ParamValue::String("test-key-ed25519".into())),
    ];
    assert_eq!(
        format!(
            "transform={}",
            httpsig::signature_params(&components, &params)
        ),
        s(b4, "signature_input_header")
    );
    let sig = STANDARD
        .decode(
            s(b4, "signature_header")
                .strip_prefix("transform=:")
                .unwrap()
                .trim_end_matches(':'),
        )
        .unwrap();
    let messages = b4["messages"].as_array().unwrap();
    for (i, m) in messages.iter().enumerate() {
        let msg = Message::parse(m["message_lines"].as_array().unwrap());
        let base = httpsig::signature_base_for(&components, &params, |c| msg.component(c)).unwrap();
        if i == 0 {
            assert_eq!(base, s(b4, "signature_base_of_original"));
        }
        let valid = keys::verify_strict(&pk, base.as_bytes(), &sig).is_ok();
        assert_eq!(
            valid,
            m["expected_valid"].as_bool().unwrap(),
            "B.4 message {i}"
        );
    }
    // The profile's strict parser refuses this component set (no @path, no nonce in the profile).
    assert_eq!(
        httpsig::parse_signature_headers(
            s(b4, "signature_input_header"),
            s(b4, "signature_header")
        ),
        Err(HttpSigError::UnknownComponent("@path".into()))
    );
}

#[test]
fn flipped_bytes_fail() {
    let v = vectors();
    let case = &v["b_2_6_signing_a_request_using_ed25519"];
    let (_, pk) = test_key();
    let base = read("rfc9421/b26-signature-base.txt");
    let sig = STANDARD.decode(s(case, "signature_base64")).unwrap();
    assert_eq!(keys::verify_strict(&pk, &base, &sig), Ok(()));
    for i in [0, 10, 40, 63] {
        assert!(
            keys::verify_strict(&pk, &base, &flip(&sig, i)).is_err(),
            "sig byte {i}"
        );
    }
    for i in [0, 100, 283] {
        assert!(
            keys::verify_strict(&pk, &flip(&base, i), &sig).is_err(),
            "base byte {i}"
        );
    }
}
