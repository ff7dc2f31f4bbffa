//! Short strings from headers and bodies: did:key identifiers, session and turn identifiers,
//! and `Content-Digest` headers.

use std::str::FromStr;

use oap_wire::didkey;
use oap_wire::digest::{self, DigestError};
use oap_wire::ids::{self, SessionId, TurnId};

/// `public_key_from_did`, `public_key_from_multibase` and `did_from_verification_method` never
/// panic, and each accepts only the one canonical spelling of a key: re-encoding what was
/// accepted gives back the input.
pub fn didkey(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(pk) = didkey::public_key_from_did(s) {
        assert_eq!(
            didkey::did_from_public_key(&pk),
            s,
            "two spellings of one did:key"
        );
    }
    if let Ok(pk) = didkey::public_key_from_multibase(s) {
        assert_eq!(
            didkey::multibase_public_key(&pk),
            s,
            "two spellings of one key"
        );
    }
    if let Ok(did) = didkey::did_from_verification_method(s) {
        assert_eq!(
            didkey::verification_method(&did),
            s,
            "two spellings of one method"
        );
    }
}

/// The ULID grammar of PRF-ID-2, written independently of `oap-wire`:
/// `[0-7][0-9A-HJKMNP-TV-Z]{25}`.
fn model_ulid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 26
        && matches!(b[0], b'0'..=b'7')
        && b.iter().all(|c| {
            c.is_ascii_digit()
                || (c.is_ascii_uppercase() && !matches!(c, b'I' | b'L' | b'O' | b'U'))
        })
}

/// `SessionId` / `TurnId` parsing never panics, agrees with the grammar, and round-trips.
pub fn ids(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let ses_model = s.strip_prefix("ses_").is_some_and(model_ulid);
    let trn_model = s.strip_prefix("trn_").is_some_and(model_ulid);
    assert_eq!(ids::is_valid_ulid(s), model_ulid(s), "ULID grammar");
    assert_eq!(ids::is_valid_session_id(s), ses_model, "session id grammar");
    assert_eq!(ids::is_valid_turn_id(s), trn_model, "turn id grammar");
    match SessionId::from_str(s) {
        Ok(id) => {
            assert!(ses_model, "SessionId accepted {s:?}");
            assert_eq!(id.to_string(), s);
            assert_eq!(id.as_str(), s);
            assert!(ids::is_valid_turn_id(id.genesis_turn_id().as_str()));
            assert_eq!(id.genesis_turn_id().ulid_str(), id.ulid_str());
        }
        Err(_) => assert!(!ses_model, "SessionId refused {s:?}"),
    }
    match TurnId::from_str(s) {
        Ok(id) => {
            assert!(trn_model, "TurnId accepted {s:?}");
            assert_eq!(id.to_string(), s);
        }
        Err(_) => assert!(!trn_model, "TurnId refused {s:?}"),
    }
}

/// `verify_content_digest` never panics; a header it accepts for a body fails for any other
/// body; the header `content_digest` writes is always accepted. The input is the header, a line
/// feed, then the body.
pub fn content_digest(data: &[u8]) {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    assert_eq!(
        digest::verify_content_digest(&digest::content_digest(body), body),
        Ok(())
    );
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };
    if digest::verify_content_digest(header, body).is_ok() {
        let mut other = body.to_vec();
        other.push(b'x');
        assert_eq!(
            digest::verify_content_digest(header, &other),
            Err(DigestError::Mismatch),
            "one header matched two bodies"
        );
    }
}
