//! The profile's RFC 9421 usage: sign → parse → verify round trips, and every rejection the
//! Tool relies on (tampered method, URI or digest, wrong key, duplicate labels or parameters,
//! missing parameters, wrong algorithm, uncovered body headers, garbage headers).
#![allow(clippy::unwrap_used)]

use oap_wire::digest;
use oap_wire::httpsig::{self, HttpSigError, ParamValue, RequestParts, SignRequest, SignedHeaders};
use oap_wire::keys::{Keypair, SignatureError};

const URI: &str = "http://127.0.0.1:8080/oap/session/ses_01ARZ3NDEKTSV4RRFFQ69G5FAV/update";
const NONCE: &str = "n0nce-0123456789abcdef";
const BODY: &[u8] = br#"{"envelope_version":"1.0"}"#;

fn key() -> Keypair {
    Keypair::from_seed([42; 32])
}

fn body_parts() -> RequestParts {
    RequestParts {
        method: "POST".into(),
        target_uri: URI.into(),
        content_type: Some("application/json".into()),
        content_digest: Some(digest::content_digest(BODY)),
    }
}

fn sign_body(key: &Keypair) -> SignedHeaders {
    let digest = digest::content_digest(BODY);
    httpsig::sign(
        key,
        &SignRequest {
            method: "POST",
            target_uri: URI,
            content_type: Some("application/json"),
            content_digest: Some(&digest),
            created: 1_700_000_000,
            nonce: NONCE,
            label: "sig1",
        },
    )
}

fn check(
    h: &SignedHeaders,
    parts: &RequestParts,
) -> Result<httpsig::VerifiedSignature, HttpSigError> {
    let parsed = httpsig::parse_signature_headers(&h.signature_input, &h.signature)?;
    httpsig::verify(&parsed, parts)
}

#[test]
fn round_trip_with_body() {
    let key = key();
    let h = sign_body(&key);
    assert_eq!(
        h.signature_input,
        format!(
            "sig1=(\"@method\" \"@target-uri\" \"content-digest\" \"content-type\");created=1700000000;nonce=\"{NONCE}\";keyid=\"{}\";alg=\"ed25519\"",
            key.did
        )
    );
    let v = check(&h, &body_parts()).unwrap();
    assert_eq!(v.keyid, key.did);
    assert_eq!(v.created, 1_700_000_000);
    assert_eq!(v.nonce, NONCE);
    let parsed = httpsig::parse_signature_headers(&h.signature_input, &h.signature).unwrap();
    assert_eq!(parsed.label, "sig1");
    assert_eq!(parsed.alg, "ed25519");
    let base = httpsig::signature_base(&parsed, &body_parts()).unwrap();
    assert!(base.starts_with("\"@method\": POST\n\"@target-uri\": http://"));
    assert!(base.ends_with("alg=\"ed25519\""));
}

#[test]
fn round_trip_without_body() {
    let key = key();
    let h = httpsig::sign(
        &key,
        &SignRequest {
            method: "GET",
            target_uri: URI,
            content_type: None,
            content_digest: None,
            created: 5,
            nonce: NONCE,
            label: "x",
        },
    );
    let parts = RequestParts {
        method: "GET".into(),
        target_uri: URI.into(),
        ..RequestParts::default()
    };
    assert_eq!(check(&h, &parts).unwrap().keyid, key.did);
    // The same signature does not cover a body that appears later.
    assert_eq!(
        check(&h, &body_parts()),
        Err(HttpSigError::MissingComponent("content-digest"))
    );
}

#[test]
fn tampered_requests_fail() {
    let h = sign_body(&key());
    let bad_sig = Err(HttpSigError::Signature(SignatureError::Mismatch));
    let mut p = body_parts();
    p.method = "PUT".into();
    assert_eq!(check(&h, &p), bad_sig);
    let mut p = body_parts();
    p.target_uri = URI.replace("update", "close");
    assert_eq!(check(&h, &p), bad_sig);
    let mut p = body_parts();
    p.content_digest = Some(digest::content_digest(b"{}"));
    assert_eq!(check(&h, &p), bad_sig);
    let mut p = body_parts();
    p.content_type = Some("text/plain".into());
    assert_eq!(check(&h, &p), bad_sig);
    // A flipped signature byte.
    let parsed = httpsig::parse_signature_headers(&h.signature_input, &h.signature).unwrap();
    let mut flipped = parsed.clone();
    flipped.signature[10] ^= 1;
    assert!(httpsig::verify(&flipped, &body_parts()).is_err());
    // A control character cannot be smuggled into the base.
    let mut p = body_parts();
    p.content_type = Some("application/json\n\"@method\": GET".into());
    assert!(matches!(
        check(&h, &p),
        Err(HttpSigError::InvalidComponentValue(_))
    ));
}

#[test]
fn wrong_key_fails() {
    let h = sign_body(&key());
    let other = Keypair::from_seed([43; 32]);
    // Claim to be someone else: same signature, another keyid.
    let input = h.signature_input.replace(&key().did, &other.did);
    let parsed = httpsig::parse_signature_headers(&input, &h.signature).unwrap();
    assert_eq!(
        httpsig::verify(&parsed, &body_parts()),
        Err(HttpSigError::Signature(SignatureError::Mismatch))
    );
    // A keyid that is not a did:key.
    let input = h.signature_input.replace(&key().did, "did:web:example.com");
    let parsed = httpsig::parse_signature_headers(&input, &h.signature).unwrap();
    assert!(matches!(
        httpsig::verify(&parsed, &body_parts()),
        Err(HttpSigError::KeyId(_))
    ));
}

fn sign_custom(components: &[&str], params: &[(&str, ParamValue)]) -> SignedHeaders {
    let parts = body_parts();
    httpsig::sign_with(&key(), "sig1", components, params, |c| match c {
        "@method" => Some(parts.method.clone()),
        "@target-uri" => Some(parts.target_uri.clone()),
        "content-type" => parts.content_type.clone(),
        "content-digest" => parts.content_digest.clone(),
        "@path" => Some("/oap".into()),
        _ => None,
    })
    .unwrap()
}

fn full_params() -> Vec<(&'static str, ParamValue)> {
    vec![
        ("created", ParamValue::Integer(1)),
        ("nonce", ParamValue::String(NONCE.into())),
        ("keyid", ParamValue::String(key().did)),
        ("alg", ParamValue::String("ed25519".into())),
    ]
}

const ALL: [&str; 4] = ["@method", "@target-uri", "content-digest", "content-type"];

#[test]
fn missing_and_wrong_parameters() {
    for (missing, name) in [(0, "created"), (1, "nonce"), (2, "keyid"), (3, "alg")] {
        let mut params = full_params();
        params.remove(missing);
        let h = sign_custom(&ALL, &params);
        assert_eq!(
            check(&h, &body_parts()),
            Err(HttpSigError::MissingParameter(name))
        );
    }
    let mut params = full_params();
    params[3].1 = ParamValue::String("rsa-pss-sha512".into());
    assert_eq!(
        check(&sign_custom(&ALL, &params), &body_parts()),
        Err(HttpSigError::WrongAlg("rsa-pss-sha512".into()))
    );
    let mut params = full_params();
    params[0].1 = ParamValue::String("1".into());
    assert_eq!(
        check(&sign_custom(&ALL, &params), &body_parts()),
        Err(HttpSigError::BadParameter("created"))
    );
    for bad_nonce in [
        "short",
        &"n".repeat(129),
        "has space 0123456789",
        "dot.0123456789abcdef",
    ] {
        let mut params = full_params();
        params[1].1 = ParamValue::String(bad_nonce.to_owned());
        assert_eq!(
            check(&sign_custom(&ALL, &params), &body_parts()),
            Err(HttpSigError::BadParameter("nonce")),
            "{bad_nonce}"
        );
    }
    let mut params = full_params();
    params.push(("expires", ParamValue::Integer(2)));
    assert_eq!(
        check(&sign_custom(&ALL, &params), &body_parts()),
        Err(HttpSigError::UnknownParameter("expires".into()))
    );
    // The same signature verifies with parameters in another order (the base follows the header).
    let mut params = full_params();
    params.reverse();
    assert!(check(&sign_custom(&ALL, &params), &body_parts()).is_ok());
}

#[test]
fn component_rules() {
    let h = sign_custom(&["@method", "@target-uri"], &full_params());
    assert_eq!(
        check(&h, &body_parts()),
        Err(HttpSigError::MissingComponent("content-digest"))
    );
    let h = sign_custom(
        &["@method", "@target-uri", "content-digest"],
        &full_params(),
    );
    assert_eq!(
        check(&h, &body_parts()),
        Err(HttpSigError::MissingComponent("content-type"))
    );
    let h = sign_custom(
        &["@target-uri", "content-digest", "content-type"],
        &full_params(),
    );
    assert_eq!(
        check(&h, &body_parts()),
        Err(HttpSigError::MissingComponent("@method"))
    );
    let h = sign_custom(&["@method", "@path"], &full_params());
    assert_eq!(
        check(&h, &body_parts()),
        Err(HttpSigError::UnknownComponent("@path".into()))
    );
    let h = sign_custom(&["@method", "@method", "@target-uri"], &full_params());
    assert_eq!(
        check(&h, &body_parts()),
        Err(HttpSigError::DuplicateComponent("@method".into()))
    );
    // The profile fixes the order, too.
    let h = sign_custom(
        &["@target-uri", "@method", "content-digest", "content-type"],
        &full_params(),
    );
    let err = check(&h, &body_parts()).unwrap_err();
    assert!(matches!(err, HttpSigError::CoveredComponents(_)));
    assert_eq!(err.problem_code(), "invalid_signature");
    // Body components on a request without a body.
    let h = sign_custom(
        &["@method", "@target-uri", "content-digest"],
        &full_params(),
    );
    let no_body = RequestParts {
        content_type: None,
        content_digest: None,
        ..body_parts()
    };
    assert!(matches!(
        check(&h, &no_body),
        Err(HttpSigError::CoveredComponents(_))
    ));
    // Component parameters (`;sf`, `;req`, …) are not part of the profile.
    let h = sign_body(&key());
    let input = h
        .signature_input
        .replace("\"content-type\"", "\"content-type\";sf");
    assert_eq!(
        httpsig::parse_signature_headers(&input, &h.signature),
        Err(HttpSigError::UnknownComponent("content-type".into()))
    );
}

#[test]
fn duplicate_labels_and_parameters() {
    let h = sign_body(&key());
    let input2 = format!("{}, {}", h.signature_input, h.signature_input);
    assert_eq!(
        httpsig::parse_signature_headers(&input2, &h.signature),
        Err(HttpSigError::DuplicateLabel {
            header: "Signature-Input",
            label: "sig1".into()
        })
    );
    let sig2 = format!("{}, {}", h.signature, h.signature);
    assert_eq!(
        httpsig::parse_signature_headers(&h.signature_input, &sig2),
        Err(HttpSigError::DuplicateLabel {
            header: "Signature",
            label: "sig1".into()
        })
    );
    // Two different labels: exactly one signature is allowed.
    let other = h.signature_input.replacen("sig1", "sig2", 1);
    assert_eq!(
        httpsig::parse_signature_headers(&format!("{}, {other}", h.signature_input), &h.signature),
        Err(HttpSigError::LabelCount {
            header: "Signature-Input",
            count: 2
        })
    );
    // Labels that differ between the headers.
    assert_eq!(
        httpsig::parse_signature_headers(&other, &h.signature),
        Err(HttpSigError::LabelMismatch {
            input: "sig2".into(),
            signature: "sig1".into()
        })
    );
    // A repeated parameter is refused, not resolved last-wins.
    let input = format!("{};nonce=\"other-nonce-123456\"", h.signature_input);
    assert_eq!(
        httpsig::parse_signature_headers(&input, &h.signature),
        Err(HttpSigError::DuplicateParameter("nonce".into()))
    );
}

#[test]
fn garbage_headers() {
    let h = sign_body(&key());
    for (input, sig) in [
        ("", h.signature.as_str()),
        (h.signature_input.as_str(), ""),
        ("sig1", h.signature.as_str()),
        ("sig1=\"@method\"", h.signature.as_str()),
        ("sig1=(\"@method\"", h.signature.as_str()),
        ("sig1=(@method);created=1", h.signature.as_str()),
        ("SIG1=(\"@method\")", h.signature.as_str()),
        ("\u{0}\u{ff}", "\u{7f}"),
        (h.signature_input.as_str(), "sig1=:AAAA:"),
        (h.signature_input.as_str(), "sig1=\"abc\""),
        (h.signature_input.as_str(), "sig1=:not base64:"),
        (h.signature_input.as_str(), &format!("{};x=1", h.signature)),
    ] {
        assert!(
            httpsig::parse_signature_headers(input, sig).is_err(),
            "{input:?} / {sig:?}"
        );
    }
    let long = "a".repeat(100_000);
    assert!(httpsig::parse_signature_headers(&long, &long).is_err());
    // Unparsable headers map to `missing_signature` (PRF-AUTH-4).
    for (input, sig) in [("", ""), ("(", "x"), ("a=1, a=2", "a=:AA==:")] {
        let err = httpsig::parse_signature_headers(input, sig).unwrap_err();
        assert_eq!(err.problem_code(), "missing_signature", "{input:?}");
    }
}

#[test]
fn sign_never_panics_on_odd_input() {
    let key = key();
    let h = httpsig::sign(
        &key,
        &SignRequest {
            method: "POST\n",
            target_uri: "\u{0}",
            content_type: Some("\"quoted\\\""),
            content_digest: None,
            created: i64::MIN,
            nonce: "\"\\",
            label: "Not A Key",
        },
    );
    assert!(httpsig::parse_signature_headers(&h.signature_input, &h.signature).is_err());
}
