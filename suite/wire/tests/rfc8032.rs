//! RFC 8032 §7.1 Ed25519 test vectors (TEST 1, 2, 3, 1024, SHA(abc)): key derivation,
//! deterministic signing and strict verification.
#![allow(clippy::unwrap_used)]

mod common;

use common::{flip, json, s, unhex};
use oap_wire::keys::{self, Keypair, SignatureError};

fn vectors() -> Vec<serde_json::Value> {
    json("rfc8032/rfc8032-section7.1-ed25519.json")["tests"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn sign_and_verify_every_test() {
    let tests = vectors();
    assert_eq!(tests.len(), 5);
    for t in &tests {
        let name = s(t, "name");
        let seed: [u8; 32] = unhex(s(t, "secret_key")).try_into().unwrap();
        let pk = unhex(s(t, "public_key"));
        let msg = unhex(s(t, "message"));
        let sig = unhex(s(t, "signature"));
        let key = Keypair::from_seed(seed);
        assert_eq!(
            key.verifying_key().as_bytes().as_slice(),
            pk,
            "{name}: public key"
        );
        assert_eq!(key.sign(&msg).as_slice(), sig, "{name}: signature");
        assert_eq!(
            keys::verify_strict_bytes(&pk, &msg, &sig),
            Ok(()),
            "{name}: verify"
        );
    }
}

#[test]
fn flipped_bytes_fail() {
    for t in vectors() {
        let name = s(&t, "name");
        let pk = unhex(s(&t, "public_key"));
        let msg = unhex(s(&t, "message"));
        let sig = unhex(s(&t, "signature"));
        // A flipped bit in R, in S, or in the message.
        for i in [0, 31, 32, 40] {
            assert!(
                keys::verify_strict_bytes(&pk, &msg, &flip(&sig, i)).is_err(),
                "{name}: signature byte {i} flipped"
            );
        }
        assert_eq!(
            keys::verify_strict_bytes(&pk, &flip(&msg, 0), &sig),
            Err(SignatureError::Mismatch),
            "{name}: message flipped"
        );
        // A flipped key is either not a point or a different key.
        assert!(
            keys::verify_strict_bytes(&flip(&pk, 5), &msg, &sig).is_err(),
            "{name}: key"
        );
    }
}
