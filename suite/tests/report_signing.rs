//! `report.json` is signed, and `verify_report` rejects any edit: a byte of a
//! value, a removed vector, a changed verdict, formatting, another signer.
#![allow(clippy::unwrap_used)]

#[path = "report_support.rs"]
mod support;

use oap_conform::report::signing::{encode_signing_key, render_signed};
use oap_conform::report::verify::verify_report_bytes;
use oap_conform::report::{
    ReportError, load_signing_key, sign_report, verify_report, verify_report_command,
    verify_report_file, write_all, write_all_at,
};
use oap_wire::Keypair;
use serde_json::{Value, json};

/// A named edit of a signed report's content.
type Edit = (&'static str, fn(&mut Value));

const CREATED: &str = "2025-06-01T12:00:05Z";

fn signed_bytes() -> (Keypair, Vec<u8>) {
    let key = Keypair::from_seed([9; 32]);
    let signed = sign_report(&support::sample_report(), &key, CREATED).unwrap();
    (key, render_signed(&signed).unwrap().into_bytes())
}

fn resign_unchecked(v: &Value) -> Vec<u8> {
    // Re-render an edited value without re-signing: the proof stays the old one.
    render_signed(v).unwrap().into_bytes()
}

#[test]
fn a_written_report_verifies_and_names_its_signer() {
    let dir = tempfile::tempdir().unwrap();
    let key = Keypair::from_seed([3; 32]);
    let files = write_all_at(&support::sample_report(), dir.path(), &key, CREATED).unwrap();
    assert_eq!(files.signer, key.did);
    let verified = verify_report(&files.report_json).unwrap();
    assert_eq!(verified.signer, key.did);
    assert_eq!(verified.created.as_deref(), Some(CREATED));
    let mut expected = support::sample_report();
    expected.proof = verified.report.proof.clone();
    assert_eq!(verified.report, expected);
    assert!(verified.summary().contains("L4 FAIL"));
    let proof = verified.report.proof.unwrap();
    assert_eq!(proof["cryptosuite"], "eddsa-jcs-2022");
    assert_eq!(
        proof["verificationMethod"]
            .as_str()
            .unwrap()
            .split('#')
            .next(),
        Some(key.did.as_str())
    );

    // Requiring the right signer passes, any other fails.
    assert!(verify_report_file(&files.report_json, Some(&key.did)).is_ok());
    let other = Keypair::from_seed([4; 32]);
    assert!(matches!(
        verify_report_file(&files.report_json, Some(&other.did)),
        Err(ReportError::WrongSigner { .. })
    ));
}

#[test]
fn a_fresh_key_is_used_when_none_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_all(&support::passing_report(), &dir.path().join("a"), None).unwrap();
    let b = write_all(&support::passing_report(), &dir.path().join("b"), None).unwrap();
    assert_ne!(a.signer, b.signer);
    assert!(a.signer.starts_with("did:key:z6Mk"));
    assert_eq!(verify_report(&a.report_json).unwrap().signer, a.signer);
}

#[test]
fn a_signing_key_file_is_read_raw_or_hex() {
    let dir = tempfile::tempdir().unwrap();
    let key = Keypair::from_seed([5; 32]);
    let hex_path = dir.path().join("suite.key");
    std::fs::write(&hex_path, encode_signing_key(&key)).unwrap();
    assert_eq!(load_signing_key(&hex_path).unwrap().did, key.did);
    let raw_path = dir.path().join("suite.raw");
    std::fs::write(&raw_path, [5u8; 32]).unwrap();
    assert_eq!(load_signing_key(&raw_path).unwrap().did, key.did);
    std::fs::write(&raw_path, b"not a key").unwrap();
    assert!(matches!(
        load_signing_key(&raw_path),
        Err(ReportError::SigningKey { .. })
    ));
    assert!(matches!(
        load_signing_key(&dir.path().join("missing")),
        Err(ReportError::Io { .. })
    ));
}

#[test]
fn semantic_edits_break_the_signature() {
    let (_, bytes) = signed_bytes();
    let original: Value = serde_json::from_slice(&bytes).unwrap();
    let edits: Vec<Edit> = vec![
        ("verdict flipped to pass", |v| {
            v["verdict"]["result"] = json!("pass");
            v["verdict"]["reasons"] = json!([]);
        }),
        ("a vector removed", |v| {
            v["vectors"].as_array_mut().unwrap().remove(1);
        }),
        ("a status changed", |v| {
            v["vectors"][1]["status"] = json!("pass")
        }),
        ("a reason reworded", |v| {
            v["verdict"]["reasons"][0] = json!("nothing")
        }),
        ("another target", |v| {
            v["target"]["url"] = json!("https://vendor.example")
        }),
        ("the proof date", |v| {
            v["proof"]["created"] = json!("2030-01-01T00:00:00Z")
        }),
        ("the proof removed", |v| {
            v.as_object_mut().unwrap().remove("proof");
        }),
    ];
    for (name, edit) in edits {
        let mut v = original.clone();
        edit(&mut v);
        let result = verify_report_bytes(&resign_unchecked(&v), None);
        assert!(
            matches!(
                result,
                Err(ReportError::Proof(_)) | Err(ReportError::Unsigned)
            ),
            "{name}: {result:?}"
        );
    }
}

#[test]
fn a_change_of_one_byte_of_a_value_fails() {
    let (_, bytes) = signed_bytes();
    let text = String::from_utf8(bytes.clone()).unwrap();
    // A digit of a duration, inside a value.
    let at = text.find("\"duration_ms\": 12").unwrap() + "\"duration_ms\": 1".len();
    let mut edited = bytes.clone();
    edited[at] = b'3';
    assert!(matches!(
        verify_report_bytes(&edited, None),
        Err(ReportError::Proof(_))
    ));
}

#[test]
fn every_sampled_byte_edit_fails() {
    let (_, bytes) = signed_bytes();
    assert!(verify_report_bytes(&bytes, None).is_ok());
    // Flipping the low bit keeps ASCII ASCII and continuation bytes
    // continuation bytes, so most edits still parse and reach the proof.
    let step = (bytes.len() / 700).max(1);
    let mut checked = 0;
    for at in (0..bytes.len()).step_by(step).chain([bytes.len() - 1]) {
        let mut edited = bytes.clone();
        edited[at] ^= 1;
        assert!(
            verify_report_bytes(&edited, None).is_err(),
            "edit at byte {at} ({:?}) was accepted",
            char::from(bytes[at])
        );
        checked += 1;
    }
    assert!(checked > 500);
}

#[test]
fn formatting_edits_the_signature_cannot_see_still_fail() {
    let (_, bytes) = signed_bytes();
    let text = String::from_utf8(bytes).unwrap();
    let cases = [
        (
            "extra space",
            text.replacen("\"seed\": 42", "\"seed\":  42", 1),
        ),
        (
            "escaped character",
            text.replacen("\"oap-conform\"", "\"\\u006fap-conform\"", 1),
        ),
        ("no final newline", text.trim_end().to_owned()),
        (
            "compact form",
            serde_json::to_string(&serde_json::from_str::<Value>(&text).unwrap()).unwrap(),
        ),
        (
            "duplicate member",
            text.replacen("\"seed\": 42,", "\"seed\": 7,\n  \"seed\": 42,", 1),
        ),
    ];
    for (name, edited) in cases {
        assert_ne!(edited, text, "{name}: the edit did not apply");
        let result = verify_report_bytes(edited.as_bytes(), None);
        assert!(
            matches!(result, Err(ReportError::NotCanonical { .. })),
            "{name}: {result:?}"
        );
    }
}

#[test]
fn unsigned_garbage_and_inconsistent_reports_are_rejected() {
    let unsigned = serde_json::to_string_pretty(&support::sample_report()).unwrap() + "\n";
    assert!(matches!(
        verify_report_bytes(unsigned.as_bytes(), None),
        Err(ReportError::Unsigned)
    ));
    assert!(matches!(
        verify_report_bytes(b"\xff{", None),
        Err(ReportError::Json(_))
    ));

    // Signed, canonical, schema-valid, but a passing verdict over a failed MUST.
    let key = Keypair::from_seed([1; 32]);
    let mut lying = support::sample_report();
    lying.verdict.result = oap_conform::report::VerdictResult::Pass;
    lying.verdict.reasons.clear();
    let signed = sign_report(&lying, &key, CREATED).unwrap();
    let result = verify_report_bytes(render_signed(&signed).unwrap().as_bytes(), None);
    assert!(
        matches!(result, Err(ReportError::Inconsistent(_))),
        "{result:?}"
    );
}

#[test]
fn a_report_that_breaks_the_schema_is_never_signed() {
    let mut bad = support::sample_report();
    bad.suite.vectors_digest = "not hex".to_owned();
    let key = Keypair::from_seed([1; 32]);
    assert!(matches!(
        sign_report(&bad, &key, CREATED),
        Err(ReportError::Schema(_))
    ));
}

#[test]
fn the_command_reports_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let key = Keypair::from_seed([3; 32]);
    let files = write_all_at(&support::sample_report(), dir.path(), &key, CREATED).unwrap();
    let ok = verify_report_command(&files.report_json, None);
    assert_eq!(ok.exit_code, 0, "{}", ok.message);
    assert!(ok.message.contains(&key.did));

    let mut bytes = std::fs::read(&files.report_json).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, bytes).unwrap();
    let bad = verify_report_command(&edited, None);
    assert_eq!(bad.exit_code, 1);
    assert!(bad.message.contains("INVALID"));

    let wrong_signer = verify_report_command(&files.report_json, Some("did:key:z6MkOther"));
    assert_eq!(wrong_signer.exit_code, 1);
    assert_eq!(
        verify_report_command(&dir.path().join("missing.json"), None).exit_code,
        2
    );
}
