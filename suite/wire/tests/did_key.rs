//! did:key: the five w3c-ccg `ed25519-x25519.json` vectors (seed → DID, key, verification method)
//! and the did:key specification examples.
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{json, s, unhex};
use oap_wire::didkey::{self, DidKeyError};
use oap_wire::keys::Keypair;

#[test]
fn w3c_ccg_vectors() {
    let file = json("did-key/ed25519-x25519.json");
    let vectors = file.as_object().unwrap();
    assert_eq!(vectors.len(), 5);
    for (did, v) in vectors {
        let seed: [u8; 32] = unhex(s(v, "seed")).try_into().unwrap();
        let key = Keypair::from_seed(seed);
        assert_eq!(&key.did, did, "seed {}", s(v, "seed"));
        let vkp = &v["verificationKeyPair"];
        let pk = match vkp.get("publicKeyBase58") {
            Some(b58) => bs58::decode(b58.as_str().unwrap()).into_vec().unwrap(),
            None => URL_SAFE_NO_PAD
                .decode(s(&vkp["publicKeyJwk"], "x"))
                .unwrap(),
        };
        assert_eq!(key.verifying_key().as_bytes().as_slice(), pk, "{did}");
        assert_eq!(
            didkey::public_key_from_did(did).unwrap(),
            key.verifying_key()
        );
        // The key pair's id (relative `#z6Mk…` in four vectors, absolute in one) and the
        // document's are the verification method.
        let vm = didkey::verification_method(did);
        let id = s(vkp, "id");
        let absolute = if id.starts_with('#') {
            format!("{did}{id}")
        } else {
            id.to_owned()
        };
        assert_eq!(absolute, vm);
        assert_eq!(s(&v["didDocument"]["verificationMethod"][0], "id"), vm);
        assert_eq!(didkey::did_from_verification_method(&vm).unwrap(), *did);
    }
}

#[test]
fn spec_examples() {
    let file = json("did-key/did-key-spec-examples.json");
    let examples = file["examples"].as_array().unwrap();
    let mut checked = 0;
    for e in examples {
        let did = s(e, "did");
        let pk = didkey::public_key_from_did(did).unwrap();
        assert_eq!(didkey::did_from_public_key(&pk), did);
        if let Some(hex) = e["derived"].get("public_key_hex") {
            assert_eq!(
                pk.as_bytes().as_slice(),
                unhex(hex.as_str().unwrap()),
                "{}",
                s(e, "id")
            );
        }
        if let Some(doc) = e.get("did_document") {
            let vm = &doc["verificationMethod"][0];
            assert_eq!(s(vm, "id"), didkey::verification_method(did));
            if let Some(mb) = vm.get("publicKeyMultibase") {
                assert_eq!(mb.as_str().unwrap(), didkey::multibase_public_key(&pk));
            }
            assert_eq!(doc["assertionMethod"][0], didkey::verification_method(did));
        }
        if let Some(vms) = e.get("verificationMethod") {
            let vm = &vms[0];
            assert_eq!(s(vm, "id"), didkey::verification_method(did));
            if let Some(jwk) = vm.get("publicKeyJwk") {
                assert_eq!(URL_SAFE_NO_PAD.decode(s(jwk, "x")).unwrap(), pk.as_bytes());
            }
            if let Some(mb) = vm.get("publicKeyMultibase") {
                assert_eq!(
                    didkey::public_key_from_multibase(mb.as_str().unwrap()).unwrap(),
                    pk
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[test]
fn altered_dids_fail() {
    let did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
    let pk = didkey::public_key_from_did(did).unwrap();
    // Change one base58 character: a different key or no key at all.
    let altered = did.replace("z6MkhaXg", "z6MkhaXh");
    assert_ne!(didkey::public_key_from_did(&altered).ok(), Some(pk));
    // Wrong multicodec: an X25519 key-agreement key (0xec01) is not a signing key.
    assert_eq!(
        didkey::public_key_from_did("did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW"),
        Err(DidKeyError::WrongMulticodec)
    );
    // Not base58btc multibase.
    assert_eq!(
        didkey::public_key_from_did("did:key:f6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"),
        Err(DidKeyError::NotBase58btc)
    );
    // A small-order key (the identity point) is not usable.
    let mut bytes = vec![0xed, 0x01, 1];
    bytes.extend([0u8; 31]);
    let weak = format!("did:key:z{}", bs58::encode(bytes).into_string());
    assert!(matches!(
        didkey::public_key_from_did(&weak),
        Err(DidKeyError::BadKey(_))
    ));
    // A fragment that is not the key itself.
    assert_eq!(
        didkey::did_from_verification_method(&format!("{did}#key-1")),
        Err(DidKeyError::FragmentMismatch)
    );
}
