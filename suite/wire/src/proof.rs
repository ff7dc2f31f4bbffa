//! W3C Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite.
//!
//! Receipts and convener credentials are plain JSON objects that must stay verifiable offline by
//! anyone who holds them. `eddsa-jcs-2022` does that with standard parts only: the document and
//! the proof configuration are each canonicalized with JCS (RFC 8785) and hashed with SHA-256, and
//! the 64-byte concatenation `SHA-256(proofConfig) ‖ SHA-256(document)` is signed with Ed25519.
//! The step functions ([`proof_config`], [`hash_data`]) are public so that the W3C example can be
//! checked step by step.
//!
//! Verification is deliberately narrower than the general Data Integrity algorithm: exactly one
//! proof object, `type` `DataIntegrityProof`, cryptosuite `eddsa-jcs-2022`, a `verificationMethod`
//! that is a did:key URL whose fragment is the key itself (so no resolution is needed), a
//! base58btc `proofValue` of 64 bytes, and the strict Ed25519 policy of [`crate::keys`].

use serde_json::{Map, Value};

use crate::didkey::{self, DidKeyError};
use crate::jcs::{self, JcsError};
use crate::keys::{self, Keypair, SignatureError};

/// The proof `type`.
pub const PROOF_TYPE: &str = "DataIntegrityProof";
/// The cryptosuite identifier.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
/// The proof purpose used for receipts and credentials.
pub const ASSERTION_METHOD: &str = "assertionMethod";

/// A base58btc proof value of a 64-byte signature is at most 88 characters plus `z`; anything
/// much longer is rejected before the (quadratic) base58 decoder sees it.
const MAX_PROOF_VALUE_LEN: usize = 128;

/// Why a proof could not be created or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The document is not a JSON object.
    #[error("document is not a JSON object")]
    NotAnObject,
    /// The document to be signed already has a `proof`.
    #[error("document already has a proof")]
    AlreadySigned,
    /// The document has no `proof` member.
    #[error("document has no proof")]
    MissingProof,
    /// `proof` is not a single object (proof sets and chains are not part of the profile).
    #[error("proof is not a single object")]
    ProofNotAnObject,
    /// A required proof member is missing or not a string.
    #[error("proof member {0:?} missing or not a string")]
    MissingMember(&'static str),
    /// `type` is not `DataIntegrityProof`.
    #[error("proof type {0:?} is not DataIntegrityProof")]
    WrongType(String),
    /// `cryptosuite` is not `eddsa-jcs-2022`.
    #[error("cryptosuite {0:?} is not eddsa-jcs-2022")]
    WrongCryptosuite(String),
    /// `created` is not an RFC 3339 date-time.
    #[error("proof created {0:?} is not an RFC 3339 date-time")]
    BadCreated(String),
    /// `proofPurpose` is not the expected one.
    #[error("proof purpose {found:?}, expected {expected:?}")]
    WrongPurpose {
        /// The purpose required by the caller.
        expected: String,
        /// The purpose in the proof.
        found: String,
    },
    /// The proof's `@context` is not a prefix of the document's.
    #[error("proof @context does not match the document's")]
    ContextMismatch,
    /// `verificationMethod` is not a did:key URL with a matching fragment.
    #[error("verification method: {0}")]
    VerificationMethod(DidKeyError),
    /// `proofValue` is not `z` + base58btc of 64 bytes.
    #[error("proofValue is not base58btc multibase of a 64-byte signature")]
    BadProofValue,
    /// Canonicalization failed.
    #[error(transparent)]
    Jcs(#[from] JcsError),
    /// The signature does not verify under the strict policy.
    #[error("signature: {0}")]
    Signature(SignatureError),
}

/// The proof configuration for `options` (a proof without `proofValue`): the options themselves,
/// plus the document's `@context` when it has one, as the cryptosuite prescribes.
pub fn proof_config(unsecured: &Value, options: &Map<String, Value>) -> Map<String, Value> {
    let mut config = options.clone();
    config.remove("proofValue");
    if let Some(ctx) = unsecured.get("@context") {
        config.insert("@context".into(), ctx.clone());
    }
    config
}

/// The signed bytes: `SHA-256(JCS(proof_config)) ‖ SHA-256(JCS(doc_without_proof))`.
pub fn hash_data(doc_without_proof: &Value, proof_config: &Value) -> Result<[u8; 64], ProofError> {
    let proof_hash = jcs::sha256_jcs(proof_config)?;
    let doc_hash = jcs::sha256_jcs(doc_without_proof)?;
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&proof_hash);
    out[32..].copy_from_slice(&doc_hash);
    Ok(out)
}

/// The multibase (`z` + base58btc) form of a signature.
pub fn encode_proof_value(sig: &[u8; 64]) -> String {
    format!("z{}", bs58::encode(sig).into_string())
}

/// Decodes a multibase base58btc `proofValue` into a 64-byte signature.
pub fn decode_proof_value(value: &str) -> Result<[u8; 64], ProofError> {
    if value.len() > MAX_PROOF_VALUE_LEN {
        return Err(ProofError::BadProofValue);
    }
    let b58 = value.strip_prefix('z').ok_or(ProofError::BadProofValue)?;
    let bytes = bs58::decode(b58)
        .into_vec()
        .map_err(|_| ProofError::BadProofValue)?;
    bytes.try_into().map_err(|_| ProofError::BadProofValue)
}

/// Signs `doc` (an object without `proof`) and returns it with a `proof` member: `type`
/// `DataIntegrityProof`, `cryptosuite` `eddsa-jcs-2022`, `created`, `verificationMethod` (the
/// key's did:key URL), `proofPurpose`, and `proofValue`.
pub fn sign_document(
    doc: &Value,
    key: &Keypair,
    created: &str,
    proof_purpose: &str,
) -> Result<Value, ProofError> {
    let Value::Object(members) = doc else {
        return Err(ProofError::NotAnObject);
    };
    if members.contains_key("proof") {
        return Err(ProofError::AlreadySigned);
    }
    let mut options = Map::new();
    options.insert("type".into(), PROOF_TYPE.into());
    options.insert("cryptosuite".into(), CRYPTOSUITE.into());
    options.insert("created".into(), created.into());
    options.insert(
        "verificationMethod".into(),
        key.verification_method().into(),
    );
    options.insert("proofPurpose".into(), proof_purpose.into());
    let config = proof_config(doc, &options);
    let data = hash_data(doc, &Value::Object(config.clone()))?;
    let mut proof = config;
    proof.insert(
        "proofValue".into(),
        encode_proof_value(&key.sign(&data)).into(),
    );
    let mut out = members.clone();
    out.insert("proof".into(), Value::Object(proof));
    Ok(Value::Object(out))
}

/// Verifies the proof on `doc` and returns the signer's DID.
pub fn verify_document(doc: &Value) -> Result<String, ProofError> {
    Ok(verify_document_detailed(doc)?.signer)
}

/// Verifies the proof on `doc` and checks that its `proofPurpose` is `purpose`.
pub fn verify_document_for(doc: &Value, purpose: &str) -> Result<String, ProofError> {
    let v = verify_document_detailed(doc)?;
    if v.proof_purpose != purpose {
        return Err(ProofError::WrongPurpose {
            expected: purpose.to_owned(),
            found: v.proof_purpose,
        });
    }
    Ok(v.signer)
}

/// What a verified proof says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The signer's DID.
    pub signer: String,
    /// The proof's `proofPurpose`.
    pub proof_purpose: String,
    /// The proof's `created`, when present.
    pub created: Option<String>,
}

/// Verifies the proof on `doc` and returns its signer, purpose and creation time.
pub fn verify_document_detailed(doc: &Value) -> Result<VerifiedProof, ProofError> {
    let Value::Object(members) = doc else {
        return Err(ProofError::NotAnObject);
    };
    let proof = members.get("proof").ok_or(ProofError::MissingProof)?;
    let Value::Object(proof) = proof else {
        return Err(ProofError::ProofNotAnObject);
    };
    let string = |name: &'static str| -> Result<&str, ProofError> {
        proof
            .get(name)
            .and_then(Value::as_str)
            .ok_or(ProofError::MissingMember(name))
    };
    let kind = string("type")?;
    if kind != PROOF_TYPE {
        return Err(ProofError::WrongType(kind.to_owned()));
    }
    let suite = string("cryptosuite")?;
    if suite != CRYPTOSUITE {
        return Err(ProofError::WrongCryptosuite(suite.to_owned()));
    }
    let purpose = string("proofPurpose")?.to_owned();
    let created = match proof.get("created") {
        None => None,
        Some(Value::String(c)) => {
            crate::time::parse_rfc3339(c).map_err(|_| ProofError::BadCreated(c.clone()))?;
            Some(c.clone())
        }
        Some(other) => return Err(ProofError::BadCreated(other.to_string())),
    };
    let vm = string("verificationMethod")?;
    let signer =
        didkey::did_from_verification_method(vm).map_err(ProofError::VerificationMethod)?;
    let pk = didkey::public_key_from_did(&signer).map_err(ProofError::VerificationMethod)?;
    let sig = decode_proof_value(string("proofValue")?)?;

    let mut unsecured = members.clone();
    unsecured.remove("proof");
    let mut options = proof.clone();
    options.remove("proofValue");
    if let Some(ctx) = options.get("@context") {
        // The document's @context must start with the proof's, in order; the document is then
        // hashed with the proof's @context.
        let doc_ctx = context_list(unsecured.get("@context"));
        let proof_ctx = context_list(Some(ctx));
        if !doc_ctx.starts_with(&proof_ctx) {
            return Err(ProofError::ContextMismatch);
        }
        unsecured.insert("@context".into(), ctx.clone());
    }
    let data = hash_data(&Value::Object(unsecured), &Value::Object(options))?;
    keys::verify_strict(&pk, &data, &sig).map_err(ProofError::Signature)?;
    Ok(VerifiedProof {
        signer,
        proof_purpose: purpose,
        created,
    })
}

fn context_list(ctx: Option<&Value>) -> Vec<Value> {
    match ctx {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sign_verify_tamper() {
        let k = Keypair::from_seed([3; 32]);
        let doc = json!({"type": "X", "n": 1});
        let signed = sign_document(&doc, &k, "2024-01-01T00:00:00Z", ASSERTION_METHOD).unwrap();
        assert_eq!(verify_document(&signed), Ok(k.did.clone()));
        assert_eq!(
            verify_document_for(&signed, ASSERTION_METHOD),
            Ok(k.did.clone())
        );
        assert!(matches!(
            verify_document_for(&signed, "authentication"),
            Err(ProofError::WrongPurpose { .. })
        ));
        let mut t = signed.clone();
        t["n"] = json!(2);
        assert!(matches!(verify_document(&t), Err(ProofError::Signature(_))));
        let mut t = signed.clone();
        t["proof"]["created"] = json!("2024-01-01T00:00:01Z");
        assert!(matches!(verify_document(&t), Err(ProofError::Signature(_))));
        assert_eq!(
            sign_document(&signed, &k, "2024-01-01T00:00:00Z", ASSERTION_METHOD),
            Err(ProofError::AlreadySigned)
        );
        assert_eq!(verify_document(&json!([])), Err(ProofError::NotAnObject));
        assert_eq!(verify_document(&doc), Err(ProofError::MissingProof));
    }
}
