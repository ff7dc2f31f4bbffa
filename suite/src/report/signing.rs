//! Signing `report.json`: the suite key, the proof, and the one byte layout a
//! signed report is written in.
//!
//! A report is signed with a W3C Data Integrity proof, cryptosuite
//! `eddsa-jcs-2022` (`oap_wire::proof`): the report without `proof` and the
//! proof options are each canonicalised with JCS (RFC 8785) and hashed, and
//! the hashes are signed with Ed25519. The proof's `verificationMethod` is the
//! signer's `did:key` URL, so verification needs nothing but the file.
//!
//! The key is either the suite key of the caller (`--signing-key FILE`) or a
//! fresh key made for the run. A fresh key proves only that the file has not
//! changed since it was written; a known suite key also proves who wrote it,
//! when the reader checks the signer DID (`verify_report_file` with an
//! expected signer).
//!
//! **Key file format**: the 32-byte Ed25519 seed (RFC 8032 secret key), either
//! as exactly 32 raw bytes, or as 64 hexadecimal digits (either case) with
//! optional surrounding whitespace. Nothing else is accepted, so a key file
//! can never be misread.
//!
//! **Byte layout**: the signed report is written as `serde_json`'s pretty
//! form of the signed value followed by one newline ([`render_signed`]). The
//! JCS signature alone would survive edits that leave the JSON data model
//! unchanged (spacing, escapes, duplicate members); requiring this exact layout
//! on verification makes any edited byte fail.

use std::path::Path;

use oap_wire::Keypair;
use oap_wire::proof::{ASSERTION_METHOD, sign_document};
use serde_json::Value;

use super::error::ReportError;
use super::model::RunReport;
use super::schema::validate_report_value;

/// Length of an Ed25519 seed.
pub const SEED_LENGTH: usize = 32;

/// Reads a suite signing key (see the module docs for the format).
pub fn load_signing_key(path: &Path) -> Result<Keypair, ReportError> {
    let bytes = std::fs::read(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_signing_key(&bytes).map_err(|reason| ReportError::SigningKey {
        path: path.to_path_buf(),
        reason,
    })
}

/// Parses the contents of a key file: 32 raw bytes, or 64 hex digits with
/// optional surrounding whitespace.
pub fn parse_signing_key(bytes: &[u8]) -> Result<Keypair, String> {
    if let Ok(seed) = <[u8; SEED_LENGTH]>::try_from(bytes) {
        return Ok(Keypair::from_seed(seed));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| format!("expected {SEED_LENGTH} raw bytes or 64 hex digits"))?
        .trim();
    if text.len() != 2 * SEED_LENGTH {
        return Err(format!(
            "expected {SEED_LENGTH} raw bytes or 64 hex digits, found {} bytes",
            bytes.len()
        ));
    }
    let mut seed = [0u8; SEED_LENGTH];
    hex::decode_to_slice(text, &mut seed)
        .map_err(|e| format!("64 characters but not hexadecimal: {e}"))?;
    Ok(Keypair::from_seed(seed))
}

/// The key-file form of a key: its seed as 64 lower-case hex digits and a
/// newline. Write it with permissions only its owner can read.
pub fn encode_signing_key(key: &Keypair) -> String {
    format!("{}\n", hex::encode(key.signing.to_bytes()))
}

/// Signs a report: validates it against the report schema, then returns it as
/// JSON with an `eddsa-jcs-2022` proof (`proofPurpose` `assertionMethod`,
/// `created` as given, RFC 3339). Any proof already on `report` is replaced.
pub fn sign_report(report: &RunReport, key: &Keypair, created: &str) -> Result<Value, ReportError> {
    let mut unsigned = report.clone();
    unsigned.proof = None;
    let value = serde_json::to_value(&unsigned).map_err(|e| ReportError::Json(e.to_string()))?;
    validate_report_value(&value)?;
    sign_document(&value, key, created, ASSERTION_METHOD)
        .map_err(|e| ReportError::Proof(e.to_string()))
}

/// The exact bytes of a signed `report.json` (see the module docs).
pub fn render_signed(signed: &Value) -> Result<String, ReportError> {
    let mut text =
        serde_json::to_string_pretty(signed).map_err(|e| ReportError::Json(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

/// The DID a proof names as its signer (its `verificationMethod` without the
/// fragment), read without verifying anything.
pub fn proof_signer(proof: &Value) -> Option<&str> {
    proof.get("verificationMethod")?.as_str()?.split('#').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_raw_or_hex_seeds() {
        let seed = [7u8; 32];
        let raw = parse_signing_key(&seed).map(|k| k.did).ok();
        let hex_text = format!("  {}\n", hex::encode_upper(seed));
        let hexed = parse_signing_key(hex_text.as_bytes()).map(|k| k.did).ok();
        assert!(raw.is_some());
        assert_eq!(raw, hexed);
        let back = parse_signing_key(encode_signing_key(&Keypair::from_seed(seed)).as_bytes());
        assert_eq!(back.map(|k| k.did).ok(), raw);
        for bad in [
            &b"short"[..],
            &[0u8; 33][..],
            "z".repeat(64).as_bytes(),
            &[0xffu8; 64][..],
        ] {
            assert!(parse_signing_key(bad).is_err());
        }
    }
}
