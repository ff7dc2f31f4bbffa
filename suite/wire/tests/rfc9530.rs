//! RFC 9530 `Content-Digest` examples (§2, Appendix B.1–B.3, Appendix D). The `sha-256` cases are
//! produced and verified by `oap-wire`; the other algorithms are checked to be ignored by the
//! verifier. The values the RFC prints but that cannot be reproduced (`not_reproducible`) are not
//! used as positive vectors; the doubled-padding typo must be rejected.
#![allow(clippy::unwrap_used)]

mod common;

use common::{flip, json, s, unhex};
use oap_wire::digest::{self, DigestError};
use sha2::{Digest, Sha256, Sha512};

#[test]
fn sha256_cases() {
    let file = json("rfc9530/rfc9530-digest-examples.json");
    let mut n = 0;
    for c in file["cases"].as_array().unwrap() {
        let id = s(c, "id");
        let body = unhex(s(c, "input_hex"));
        assert_eq!(body, s(c, "input_utf8").as_bytes(), "{id}");
        let expected = s(c, "expected_sf_byte_sequence");
        match s(c, "algorithm") {
            "sha-256" => {
                assert_eq!(
                    hex::encode(Sha256::digest(&body)),
                    s(c, "expected_digest_hex")
                );
                let header = format!("sha-256={expected}");
                assert_eq!(digest::content_digest(&body), header, "{id}");
                assert_eq!(
                    digest::verify_content_digest(&header, &body),
                    Ok(()),
                    "{id}"
                );
                if let Some(h) = c.get("example_header") {
                    let value = h
                        .as_str()
                        .unwrap()
                        .strip_prefix("Content-Digest: ")
                        .unwrap();
                    assert_eq!(digest::verify_content_digest(value, &body), Ok(()), "{id}");
                }
                n += 1;
            }
            "sha-512" => {
                assert_eq!(
                    hex::encode(Sha512::digest(&body)),
                    s(c, "expected_digest_hex")
                );
                // Only sha-256 counts: a header with sha-512 alone is refused.
                assert_eq!(
                    digest::verify_content_digest(&format!("sha-512={expected}"), &body),
                    Err(DigestError::MissingSha256),
                    "{id}"
                );
                let both = format!("sha-512={expected}, {}", digest::content_digest(&body));
                assert_eq!(digest::verify_content_digest(&both, &body), Ok(()), "{id}");
            }
            _ => {}
        }
    }
    assert_eq!(n, 4, "appD-sha-256, appB1, appB2, appB3");
}

#[test]
fn not_reproducible_values_are_refused() {
    let file = json("rfc9530/rfc9530-digest-examples.json");
    let hello_lf = b"{\"hello\": \"world\"}\n";
    for nr in file["not_reproducible"].as_array().unwrap() {
        let printed = s(nr, "printed");
        assert!(
            digest::verify_content_digest(printed, hello_lf).is_err(),
            "{printed}"
        );
        assert!(digest::verify_content_digest(printed, b"{\"hello\": \"world\"}").is_err());
    }
    // The doubled padding is a malformed byte sequence, not merely a mismatch.
    assert!(matches!(
        digest::verify_content_digest(
            "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg==:",
            hello_lf
        ),
        Err(DigestError::Malformed(_))
    ));
}

#[test]
fn flipped_bytes_fail() {
    let body = b"{\"hello\": \"world\"}\n";
    let header = "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:";
    assert_eq!(digest::verify_content_digest(header, body), Ok(()));
    assert_eq!(
        digest::verify_content_digest(header, &flip(body, 3)),
        Err(DigestError::Mismatch)
    );
    let tampered = header.replace("RK/0", "RK/1");
    assert_eq!(
        digest::verify_content_digest(&tampered, body),
        Err(DigestError::Mismatch)
    );
}
