//! `eddsa-jcs-2022` proofs: `proof::verify_document` never accepts a document unless it is,
//! byte for byte in its canonical form, one that was signed.

use oap_wire::json::{self, JsonLimits};
use oap_wire::proof;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::bytes::Bytes;
use super::fixtures;
use super::json::Parse;
use super::value::{Mutation, canonical};

/// A document to verify.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProofCase {
    /// Raw bytes, read with the strict parser, then verified.
    Document(Bytes),
    /// A fixture credential ([`fixtures::credentials`], index modulo their number) after a
    /// sequence of edits.
    Mutated {
        /// Which fixture.
        credential: usize,
        /// The edits, in order.
        mutations: Vec<Mutation>,
    },
}

/// [`check_with`] over [`json::parse_strict`].
pub fn check(case: &ProofCase) {
    check_with(case, json::parse_strict);
}

/// The document verifies only if it is a signed one unchanged; an unchanged fixture verifies,
/// with its signer.
pub fn check_with(case: &ProofCase, parse: Parse) {
    match case {
        ProofCase::Document(bytes) => {
            let Ok(doc) = parse(&bytes.0, &JsonLimits::default()) else {
                return;
            };
            if let Ok(signer) = proof::verify_document(&doc) {
                let doc = context_as_signed(&doc);
                assert!(
                    fixtures::known_documents()
                        .iter()
                        .any(|k| canonical(k) == canonical(&doc)),
                    "accepted a document nobody signed (signer {signer})"
                );
            }
        }
        ProofCase::Mutated {
            credential,
            mutations,
        } => {
            let all = fixtures::credentials();
            let Some(fixture) = all.get(credential % all.len()) else {
                return;
            };
            let mut doc = fixture.doc.clone();
            for m in mutations {
                m.apply(&mut doc);
            }
            let verdict = proof::verify_document(&doc);
            if doc == fixture.doc {
                assert_eq!(
                    verdict,
                    Ok(fixture.signer.clone()),
                    "refused an unchanged credential"
                );
            } else if canonical(&doc) != canonical(&fixture.doc) {
                assert!(
                    verdict.is_err(),
                    "accepted a changed credential: {}",
                    String::from_utf8_lossy(&canonical(&doc))
                );
            }
        }
    }
}

/// The document as its proof covers it. The cryptosuite lets a document's `@context` grow at the
/// end when the proof carries its own (W3C VC-DI-EdDSA, "Verify Proof (eddsa-jcs-2022)": the
/// document is hashed with the proof's `@context`); the profile's credentials have no `@context`.
fn context_as_signed(doc: &Value) -> Value {
    let mut doc = doc.clone();
    let proof_ctx = doc.get("proof").and_then(|p| p.get("@context")).cloned();
    if let (Some(ctx), Some(obj)) = (proof_ctx, doc.as_object_mut()) {
        obj.insert("@context".into(), ctx);
    }
    doc
}
