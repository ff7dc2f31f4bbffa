//! ed25519-speccheck cases 0–11: the verdicts must equal the `Dalek strict` row of the project's
//! README (`X X X V X X X X X X X X`: only case 3, mixed-order A and R, is accepted), and each
//! rejection is for the reason the case was built to test.
#![allow(clippy::unwrap_used)]

mod common;

use common::{flip, json, read, s, unhex};
use oap_wire::keys::{self, SignatureError};

fn cases() -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    json("ed25519-speccheck/cases.json")
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                unhex(s(c, "pub_key")),
                unhex(s(c, "message")),
                unhex(s(c, "signature")),
            )
        })
        .collect()
}

/// The `Dalek strict` row of the published verdict table, as V/X letters.
fn dalek_strict_row() -> Vec<char> {
    let readme = String::from_utf8(read("ed25519-speccheck/README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("|Dalek strict"))
        .expect("README has a Dalek strict row");
    line.split('|')
        .skip(2)
        .filter_map(|cell| cell.trim().chars().next())
        .collect()
}

#[test]
fn verdicts_equal_the_dalek_strict_row() {
    let row = dalek_strict_row();
    assert_eq!(row.iter().collect::<String>(), "XXXVXXXXXXXX");
    let cases = cases();
    assert_eq!(cases.len(), 12);
    let ours: String = cases
        .iter()
        .map(|(pk, msg, sig)| {
            if keys::verify_strict_bytes(pk, msg, sig).is_ok() {
                'V'
            } else {
                'X'
            }
        })
        .collect();
    assert_eq!(ours, row.iter().collect::<String>());
}

#[test]
fn each_case_is_rejected_for_its_reason() {
    use SignatureError::*;
    let expected = [
        Err(SmallOrderKey),    // 0: small A and R, S = 0
        Err(SmallOrderKey),    // 1: small A
        Err(SmallOrderR),      // 2: small R
        Ok(()),                // 3: mixed A and R, cofactorless equation holds
        Err(Mismatch),         // 4: holds only with the cofactored equation
        Err(Mismatch),         // 5: cofactored with pre-reduced 8h only
        Err(ScalarOutOfRange), // 6: S > L
        Err(ScalarOutOfRange), // 7: S >> L
        Err(NonCanonicalR),    // 8: non-canonical R, reduced for the hash
        Err(NonCanonicalR),    // 9: non-canonical R, not reduced
        Err(NonCanonicalKey),  // 10: non-canonical A, reduced for the hash
        Err(NonCanonicalKey),  // 11: non-canonical A, not reduced
    ];
    for (i, ((pk, msg, sig), want)) in cases().iter().zip(expected).enumerate() {
        assert_eq!(keys::verify_strict_bytes(pk, msg, sig), want, "case {i}");
    }
}

#[test]
fn flipped_bytes_fail() {
    let cases = cases();
    let (pk, msg, sig) = &cases[3];
    assert_eq!(keys::verify_strict_bytes(pk, msg, sig), Ok(()));
    assert!(keys::verify_strict_bytes(pk, &flip(msg, 3), sig).is_err());
    assert!(keys::verify_strict_bytes(pk, msg, &flip(sig, 40)).is_err());
}
