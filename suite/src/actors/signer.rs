//! RFC 9421 request signing, correct by default and broken on purpose.
//!
//! A correct request covers `"@method" "@target-uri"`, plus `"content-digest"
//! "content-type"` when it has a body, with parameters `created`, `nonce`,
//! `keyid` (the signer's DID) and `alg="ed25519"`, and carries an RFC 9530
//! `Content-Digest`. Negative vectors ask for one deviation at a time
//! ([`SignOptions`]): a stale `created`, a reused nonce, another actor's key,
//! a missing component, a tampered digest, a non-canonical `S + L` signature.
//! The primitives come from `oap-wire`; this module only decides what to sign.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oap_wire::Keypair;
use oap_wire::httpsig::{self, ParamValue};
use sha2::{Digest, Sha512};

use crate::vector::{DigestMode, SignOptions, SignatureMutation};

/// The media type of every envelope.
pub const JSON: &str = "application/json";

/// The group order L of Ed25519, little-endian.
const ORDER_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Errors building a signature.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A covered component has no value in this request.
    #[error("cannot sign: {0}")]
    Base(#[from] httpsig::HttpSigError),
    /// The URL does not parse.
    #[error("cannot sign: bad URL {0:?}")]
    Url(String),
}

/// What to sign.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// HTTP method sent.
    pub method: &'a str,
    /// Absolute URL sent.
    pub url: &'a str,
    /// Body sent, if any.
    pub body: Option<&'a [u8]>,
    /// `Content-Type` sent with the body.
    pub content_type: Option<&'a str>,
    /// The signing key.
    pub key: &'a Keypair,
    /// The nonce.
    pub nonce: &'a str,
    /// `created`, unix seconds, before `created_offset`.
    pub now: i64,
}

/// The headers to send (`Content-Type`, `Content-Digest`, `Signature-Input`,
/// `Signature`), in that order, for a request signed as `opts` says.
///
/// `opts.keyid`, `opts.nonce` and `opts.target_uri` must already be expanded;
/// `opts.key` is resolved by the caller into `req.key`.
pub fn sign_request(
    req: &SignedRequest<'_>,
    opts: &SignOptions,
) -> Result<Vec<(String, String)>, SignError> {
    let mut headers = Vec::new();
    let digest = req
        .body
        .and_then(|body| match opts.digest.unwrap_or(DigestMode::Correct) {
            DigestMode::Correct => Some(oap_wire::digest::content_digest(body)),
            DigestMode::Omit => None,
            DigestMode::Tamper => {
                let mut other = body.to_vec();
                other.extend_from_slice(b" ");
                Some(oap_wire::digest::content_digest(&other))
            }
            DigestMode::Sha512Only => Some(format!(
                "sha-512=:{}:",
                STANDARD.encode(Sha512::digest(body))
            )),
        });
    if let Some(ct) = req.content_type {
        headers.push(("Content-Type".to_owned(), ct.to_owned()));
    }
    if let Some(d) = &digest {
        headers.push(("Content-Digest".to_owned(), d.clone()));
    }

    let components: Vec<String> = match &opts.components {
        Some(c) => c.clone(),
        None => {
            let mut c = vec!["@method".to_owned(), "@target-uri".to_owned()];
            if req.body.is_some() {
                if digest.is_some() {
                    c.push("content-digest".into());
                }
                if req.content_type.is_some() {
                    c.push("content-type".into());
                }
            }
            c
        }
    };
    let mut params: Vec<(&str, ParamValue)> = vec![
        (
            "created",
            ParamValue::Integer(req.now.saturating_add(opts.created_offset.unwrap_or(0))),
        ),
        ("nonce", ParamValue::String(req.nonce.to_owned())),
        (
            "keyid",
            ParamValue::String(opts.keyid.clone().unwrap_or_else(|| req.key.did.clone())),
        ),
    ];
    match opts.alg.as_deref() {
        Some("") => {}
        Some(alg) => params.push(("alg", ParamValue::String(alg.to_owned()))),
        None => params.push(("alg", ParamValue::String("ed25519".to_owned()))),
    }

    let url = url::Url::parse(req.url).map_err(|_| SignError::Url(req.url.to_owned()))?;
    let signed_method = opts.method.clone().unwrap_or_else(|| req.method.to_owned());
    let signed_uri = opts
        .target_uri
        .clone()
        .unwrap_or_else(|| req.url.to_owned());
    let lookup = |name: &str| -> Option<String> {
        match name {
            "@method" => Some(signed_method.clone()),
            "@target-uri" => Some(signed_uri.clone()),
            "@authority" => url.host_str().map(|h| match url.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_owned(),
            }),
            "@path" => Some(url.path().to_owned()),
            "@query" => Some(format!("?{}", url.query().unwrap_or(""))),
            "@scheme" => Some(url.scheme().to_owned()),
            "content-digest" => digest.clone(),
            "content-type" => req.content_type.map(str::to_owned),
            _ => None,
        }
    };
    let label = opts.label.as_deref().unwrap_or("sig1");
    if opts.mutate == Some(SignatureMutation::SmallOrderKey) {
        for (name, value) in params.iter_mut() {
            if *name == "keyid" {
                *value = ParamValue::String(identity_point_did());
            }
        }
        let mut forged = [0u8; 64];
        forged[0] = 1; // R = the identity point (compressed y = 1); S = 0.
        headers.push((
            "Signature-Input".to_owned(),
            format!(
                "{label}={}",
                httpsig::signature_params(&components, &params)
            ),
        ));
        headers.push((
            "Signature".to_owned(),
            format!("{label}=:{}:", STANDARD.encode(forged)),
        ));
        return Ok(headers);
    }
    let mut signed = httpsig::sign_with(req.key, label, &components, &params, lookup)?;
    if let Some(m) = opts.mutate {
        signed.signature = mutate(&signed.signature, m);
    }
    if opts.duplicate {
        let nonce2 = super::fresh_nonce();
        let params2: Vec<(&str, ParamValue)> = params
            .iter()
            .map(|(n, v)| match *n {
                "nonce" => (*n, ParamValue::String(nonce2.clone())),
                _ => (*n, v.clone()),
            })
            .collect();
        let second = httpsig::sign_with(req.key, "sig2", &components, &params2, lookup)?;
        signed.signature_input = format!("{}, {}", signed.signature_input, second.signature_input);
        signed.signature = format!("{}, {}", signed.signature, second.signature);
    }
    headers.push(("Signature-Input".to_owned(), signed.signature_input));
    headers.push(("Signature".to_owned(), signed.signature));
    Ok(headers)
}

/// The did:key of the Ed25519 identity point, a small-order public key.
pub fn identity_point_did() -> String {
    let mut bytes = vec![0xed, 0x01, 1];
    bytes.extend_from_slice(&[0u8; 31]);
    format!("did:key:z{}", bs58_encode(&bytes))
}

/// Base58btc (the Bitcoin alphabet), enough for one 34-byte multikey.
fn bs58_encode(input: &[u8]) -> String {
    const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits: Vec<u8> = Vec::new();
    for &byte in input {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = input.iter().take_while(|b| **b == 0).count();
    let mut out = String::with_capacity(zeros + digits.len());
    out.extend(std::iter::repeat_n('1', zeros));
    out.extend(
        digits
            .iter()
            .rev()
            .map(|d| char::from(ALPHABET[usize::from(*d)])),
    );
    out
}

/// Adds the group order L to the S half of a 64-byte signature.
pub fn s_plus_l(sig: &mut [u8; 64]) {
    let mut carry = 0u16;
    for (i, l) in ORDER_L.iter().enumerate() {
        let sum = u16::from(sig[32 + i]) + u16::from(*l) + carry;
        sig[32 + i] = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
}

/// Applies a mutation to the bytes inside `label=:BASE64:`.
fn mutate(header: &str, m: SignatureMutation) -> String {
    let Some((label, rest)) = header.split_once('=') else {
        return header.to_owned();
    };
    let b64 = rest.trim_matches(':');
    let Ok(mut sig) = STANDARD.decode(b64) else {
        return header.to_owned();
    };
    match m {
        SignatureMutation::SPlusL => {
            if let Ok(mut fixed) = <[u8; 64]>::try_from(sig.as_slice()) {
                s_plus_l(&mut fixed);
                sig = fixed.to_vec();
            }
        }
        // Handled before signing.
        SignatureMutation::SmallOrderKey => {}
        SignatureMutation::FlipBit => {
            if let Some(b) = sig.first_mut() {
                *b ^= 0x01;
            }
        }
        SignatureMutation::Truncate => {
            sig.pop();
        }
        SignatureMutation::Zero => sig.iter_mut().for_each(|b| *b = 0),
    }
    format!("{label}=:{}:", STANDARD.encode(sig))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use oap_wire::httpsig::{RequestParts, parse_signature_headers, verify};

    fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
        h.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn signed(opts: &SignOptions) -> (Keypair, Vec<(String, String)>) {
        let key = Keypair::generate();
        let req = SignedRequest {
            method: "POST",
            url: "http://127.0.0.1:9/oap/session/create",
            body: Some(br#"{"a":1}"#),
            content_type: Some(JSON),
            key: &key,
            nonce: "abcdefghijklmnopq",
            now: oap_wire::time::unix_now(),
        };
        let h = sign_request(&req, opts).unwrap();
        (key, h)
    }

    fn verifies(h: &[(String, String)]) -> bool {
        let Ok(parsed) = parse_signature_headers(
            header(h, "Signature-Input").unwrap_or(""),
            header(h, "Signature").unwrap_or(""),
        ) else {
            return false;
        };
        let parts = RequestParts {
            method: "POST".into(),
            target_uri: "http://127.0.0.1:9/oap/session/create".into(),
            content_type: header(h, "Content-Type").map(str::to_owned),
            content_digest: header(h, "Content-Digest").map(str::to_owned),
        };
        verify(&parsed, &parts).is_ok()
    }

    #[test]
    fn correct_signature_verifies() {
        let (key, h) = signed(&SignOptions::default());
        assert!(verifies(&h));
        assert!(header(&h, "Signature-Input").unwrap().contains(&key.did));
        let digest = header(&h, "Content-Digest").unwrap();
        assert!(oap_wire::digest::verify_content_digest(digest, br#"{"a":1}"#).is_ok());
    }

    #[test]
    fn every_mutation_breaks_verification() {
        for m in [
            SignatureMutation::SPlusL,
            SignatureMutation::FlipBit,
            SignatureMutation::Truncate,
            SignatureMutation::Zero,
        ] {
            let (_, h) = signed(&SignOptions {
                mutate: Some(m),
                ..SignOptions::default()
            });
            assert!(!verifies(&h), "{m:?} still verifies");
        }
    }

    #[test]
    fn s_plus_l_keeps_r_and_changes_s() {
        let (_, good) = signed(&SignOptions::default());
        let sig = header(&good, "Signature").unwrap();
        let bad = mutate(sig, SignatureMutation::SPlusL);
        let dec = |s: &str| {
            STANDARD
                .decode(s.split_once('=').unwrap().1.trim_matches(':'))
                .unwrap()
        };
        let (a, b) = (dec(sig), dec(&bad));
        assert_eq!(a[..32], b[..32]);
        assert_ne!(a[32..], b[32..]);
        assert_eq!(b[63] >> 4, (a[63] + 0x10) >> 4);
    }

    #[test]
    fn small_order_forgery_is_refused_by_the_strict_verifier() {
        let did = identity_point_did();
        let pk = oap_wire::didkey::public_key_from_did(&did);
        // Either the did:key is refused outright or its key is, never accepted.
        if let Ok(pk) = pk {
            let mut forged = [0u8; 64];
            forged[0] = 1;
            assert!(oap_wire::keys::verify_strict(&pk, b"any message", &forged).is_err());
        }
        let (_, h) = signed(&SignOptions {
            mutate: Some(SignatureMutation::SmallOrderKey),
            ..SignOptions::default()
        });
        assert!(header(&h, "Signature-Input").unwrap().contains(&did));
        assert!(!verifies(&h));
    }

    #[test]
    fn base58_matches_did_key_of_a_real_key() {
        let key = Keypair::generate();
        let mut bytes = vec![0xed, 0x01];
        bytes.extend_from_slice(key.verifying_key().as_bytes());
        assert_eq!(format!("did:key:z{}", bs58_encode(&bytes)), key.did);
    }

    #[test]
    fn missing_component_and_tampered_digest() {
        let (_, h) = signed(&SignOptions {
            components: Some(vec!["@method".into()]),
            ..SignOptions::default()
        });
        assert!(!verifies(&h));
        let (_, h) = signed(&SignOptions {
            digest: Some(DigestMode::Tamper),
            ..SignOptions::default()
        });
        let digest = header(&h, "Content-Digest").unwrap();
        assert!(oap_wire::digest::verify_content_digest(digest, br#"{"a":1}"#).is_err());
        let (_, h) = signed(&SignOptions {
            digest: Some(DigestMode::Omit),
            ..SignOptions::default()
        });
        assert!(header(&h, "Content-Digest").is_none());
    }
}
