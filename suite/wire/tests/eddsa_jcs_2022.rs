//! W3C Data Integrity `eddsa-jcs-2022`: the specification's example (vc-di-eddsa test vectors),
//! checked step by step, then end to end.
#![allow(clippy::unwrap_used)]

mod common;

use common::{flip, json, read_trimmed, s, unhex};
use oap_wire::keys::{self, Keypair};
use oap_wire::{didkey, jcs, proof};
use serde_json::Value;

const DIR: &str = "vc-di-eddsa-jcs-2022";

fn path(name: &str) -> String {
    format!("{DIR}/{name}")
}

/// The key pair of `keyPair.json`: the secret key is `z` + base58btc(0x80 0x26 ‖ seed).
fn key_pair() -> Keypair {
    let kp = json(&path("keyPair.json"));
    let raw = bs58::decode(&s(&kp, "privateKeyMultibase")[1..])
        .into_vec()
        .unwrap();
    assert_eq!(&raw[..2], [0x80, 0x26], "ed25519-priv multicodec");
    let key = Keypair::from_seed(raw[2..].try_into().unwrap());
    assert_eq!(
        didkey::multibase_public_key(&key.verifying_key()),
        s(&kp, "publicKeyMultibase")
    );
    key
}

#[test]
fn step_by_step() {
    let key = key_pair();
    let unsigned = json(&path("unsigned.json"));

    // 1. canonDoc = JCS(unsecured document); docHash = SHA-256(canonDoc).
    let canon_doc = jcs::canonicalize_string(&unsigned).unwrap();
    assert_eq!(canon_doc, read_trimmed(&path("canonDocJCS.txt")));
    assert_eq!(
        jcs::sha256_jcs_hex(&unsigned).unwrap(),
        read_trimmed(&path("docHashJCS.txt"))
    );

    // 2. proofConfig = proof options + the document's @context.
    let expected_config = json(&path("proofConfigJCS.json"));
    let mut options = expected_config.as_object().unwrap().clone();
    options.remove("@context");
    assert_eq!(
        s(&expected_config, "verificationMethod"),
        key.verification_method()
    );
    let config = Value::Object(proof::proof_config(&unsigned, &options));
    assert_eq!(config, expected_config);

    // 3. proofCanon = JCS(proofConfig); proofHash = SHA-256(proofCanon).
    assert_eq!(
        jcs::canonicalize_string(&config).unwrap(),
        read_trimmed(&path("proofCanonJCS.txt"))
    );
    assert_eq!(
        jcs::sha256_jcs_hex(&config).unwrap(),
        read_trimmed(&path("proofHashJCS.txt"))
    );

    // 4. hashData = proofHash ‖ docHash.
    let hash_data = proof::hash_data(&unsigned, &config).unwrap();
    assert_eq!(
        hex::encode(hash_data),
        read_trimmed(&path("combinedHashJCS.txt"))
    );

    // 5. The Ed25519 signature over hashData, in hex and as proofValue.
    let sig = key.sign(&hash_data);
    assert_eq!(hex::encode(sig), read_trimmed(&path("sigHexJCS.txt")));
    let proof_value = proof::encode_proof_value(&sig);
    assert_eq!(proof_value, read_trimmed(&path("sigBTC58JCS.txt")));
    let signed = json(&path("signedJCS.json"));
    assert_eq!(proof_value, s(&signed["proof"], "proofValue"));
    assert_eq!(proof::decode_proof_value(&proof_value).unwrap(), sig);
}

#[test]
fn end_to_end() {
    let key = key_pair();
    let unsigned = json(&path("unsigned.json"));
    let signed = json(&path("signedJCS.json"));
    let ours = proof::sign_document(
        &unsigned,
        &key,
        "2023-02-24T23:36:38Z",
        proof::ASSERTION_METHOD,
    )
    .unwrap();
    assert_eq!(ours, signed);
    assert_eq!(proof::verify_document(&signed), Ok(key.did.clone()));
    let verified = proof::verify_document_detailed(&signed).unwrap();
    assert_eq!(verified.proof_purpose, "assertionMethod");
    assert_eq!(verified.created.as_deref(), Some("2023-02-24T23:36:38Z"));
}

#[test]
fn flipped_bytes_fail() {
    let key = key_pair();
    let signed = json(&path("signedJCS.json"));

    // The published signature bytes with one bit flipped.
    let sig = unhex(&read_trimmed(&path("sigHexJCS.txt")));
    let data = unhex(&read_trimmed(&path("combinedHashJCS.txt")));
    assert_eq!(
        keys::verify_strict(&key.verifying_key(), &data, &sig),
        Ok(())
    );
    assert!(keys::verify_strict(&key.verifying_key(), &data, &flip(&sig, 20)).is_err());
    assert!(keys::verify_strict(&key.verifying_key(), &flip(&data, 0), &sig).is_err());

    // proofValue re-encoded from a flipped signature.
    let mut t = signed.clone();
    let bad: [u8; 64] = flip(&sig, 63).try_into().unwrap();
    t["proof"]["proofValue"] = proof::encode_proof_value(&bad).into();
    assert!(proof::verify_document(&t).is_err());

    // An edited credential, an edited proof option, a foreign @context.
    for edit in [
        (
            "/credentialSubject/alumniOf",
            Value::from("The School of Exampleз"),
        ),
        ("/proof/created", Value::from("2023-02-24T23:36:39Z")),
        ("/proof/proofPurpose", Value::from("authentication")),
        ("/@context/1", Value::from("https://example.org/other")),
    ] {
        let mut t = signed.clone();
        *t.pointer_mut(edit.0).unwrap() = edit.1;
        assert!(proof::verify_document(&t).is_err(), "{}", edit.0);
    }

    // The proof's key must be the verification method's own fragment.
    let mut t = signed.clone();
    let other = Keypair::from_seed([9; 32]);
    t["proof"]["verificationMethod"] =
        format!("{}#{}", other.did, &key.did["did:key:".len()..]).into();
    assert!(proof::verify_document(&t).is_err());
}
