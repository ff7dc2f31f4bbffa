//! Request authentication (profile §3): RFC 9421 signatures, RFC 9530 digests, freshness and
//! the durable replay cache.
//!
//! Checks run in the fixed order of PRF-AUTH-12 so that outcomes are deterministic: signature
//! headers present and parsable (`missing_signature`), covered components and `keyid`
//! (`invalid_signature`), `Content-Digest` present and matching the body
//! (`content_digest_mismatch`), the signature itself (`invalid_signature`), `created` within
//! the window (`stale_signature`), and the nonce unused (`replayed_request`). Only a request
//! that passes them all has an *actor*; its nonce is then recorded durably before the answer.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, Method, Uri, header};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use oap_wire::httpsig::{self, HttpSigError, ParsedSignature, RequestParts};

use crate::engine::{Engine, MAX_FUTURE_SKEW_SECONDS, NonceCheck};
use crate::faults::Fault;
use crate::store::RequestNonce;

use super::error::ApiError;

/// An authenticated request's signer, with its accepted (reserved, not yet durable) nonce.
#[derive(Debug)]
pub struct Actor {
    /// The signer's did:key.
    pub did: String,
    /// The nonce to make durable before answering.
    pub nonce: RequestNonce,
}

/// The `@target-uri` the client must have signed: the configured public URL, or `http://` +
/// `Host`, followed by the path and query.
pub fn target_uri(public_url: Option<&str>, headers: &HeaderMap, uri: &Uri) -> String {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    format!("{}{path}", base_url(public_url, headers))
}

/// The Tool's base URL as the client sees it (no trailing slash).
pub fn base_url(public_url: Option<&str>, headers: &HeaderMap) -> String {
    match public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ()> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v.to_str().map(Some).map_err(|_| ()),
        (Some(_), Some(_)) => Err(()),
    }
}

fn is_parse_error(e: &HttpSigError) -> bool {
    matches!(
        e,
        HttpSigError::Malformed { .. }
            | HttpSigError::LabelCount { .. }
            | HttpSigError::DuplicateLabel { .. }
            | HttpSigError::LabelMismatch { .. }
            | HttpSigError::NotInnerList
            | HttpSigError::BadSignatureValue
    )
}

/// Authenticates a request. `body` is `Some` for requests that carry one (POST).
pub async fn authenticate(
    engine: &Engine,
    public_url: Option<&str>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Result<Actor, ApiError> {
    let missing = |d: &str| ApiError::unauthorized("missing_signature", d);
    let (input, signature) = match (
        header_str(headers, "signature-input"),
        header_str(headers, "signature"),
    ) {
        (Ok(Some(i)), Ok(Some(s))) => (i, s),
        (Ok(None), _) | (_, Ok(None)) => {
            return Err(missing(
                "Signature-Input and Signature headers are required",
            ));
        }
        _ => {
            return Err(missing(
                "Signature-Input and Signature must each appear once, as text",
            ));
        }
    };
    let parsed = httpsig::parse_signature_headers(input, signature).map_err(|e| {
        let code = if is_parse_error(&e) {
            "missing_signature"
        } else {
            "invalid_signature"
        };
        ApiError::unauthorized(code, format!("signature headers: {e}"))
    })?;
    let content_type = header_str(headers, "content-type").ok().flatten();
    let content_digest = header_str(headers, "content-digest").map_err(|()| {
        ApiError::unauthorized("content_digest_mismatch", "Content-Digest must appear once")
    })?;
    let parts = RequestParts {
        method: method.as_str().to_owned(),
        target_uri: target_uri(public_url, headers, uri),
        content_type: body.and(content_type).map(str::to_owned),
        content_digest: body.and(content_digest).map(str::to_owned),
    };
    // Covered components and keyid first: they need neither the body nor a signature check.
    let key = check_components(engine, &parsed, body.is_some())?;
    if let Some(body) = body
        && !engine.faults().has(Fault::SkipContentDigestCheck)
    {
        let digest = content_digest.ok_or_else(|| {
            ApiError::unauthorized(
                "content_digest_mismatch",
                "a request with a body needs Content-Digest",
            )
        })?;
        oap_wire::digest::verify_content_digest(digest, body).map_err(|e| {
            ApiError::unauthorized("content_digest_mismatch", format!("Content-Digest: {e}"))
        })?;
    }
    verify(engine, &parsed, &parts, &key)?;
    let now = engine.now();
    let window = i64::from(engine.limits().signature_window_seconds);
    let fresh = parsed.created >= now.saturating_sub(window)
        && parsed.created <= now.saturating_add(MAX_FUTURE_SKEW_SECONDS);
    if !fresh && !engine.faults().has(Fault::AcceptStaleCreated) {
        return Err(ApiError::unauthorized(
            "stale_signature",
            format!(
                "created must lie within {window} s before and {} s after now",
                MAX_FUTURE_SKEW_SECONDS
            ),
        ));
    }
    match engine
        .accept_request_nonce(&parsed.keyid, &parsed.nonce, parsed.created)
        .await?
    {
        NonceCheck::Replayed => Err(ApiError::unauthorized(
            "replayed_request",
            "this (keyid, nonce) was already accepted within the signature window",
        )),
        NonceCheck::Fresh(nonce) => Ok(Actor {
            did: parsed.keyid,
            nonce,
        }),
    }
}

/// Checks the covered components (exactly PRF-AUTH-1's list, in order) and decodes the
/// `keyid` (strictly, unless the `accept-non-canonical-signatures` fault is on).
fn check_components(
    engine: &Engine,
    parsed: &ParsedSignature,
    has_body: bool,
) -> Result<VerifyingKey, ApiError> {
    let bad = |d: String| ApiError::unauthorized("invalid_signature", d);
    let expected: &[&str] = if has_body {
        &["@method", "@target-uri", "content-digest", "content-type"]
    } else {
        &["@method", "@target-uri"]
    };
    if parsed
        .components
        .iter()
        .map(String::as_str)
        .ne(expected.iter().copied())
    {
        return Err(bad(format!(
            "covered components must be exactly {}",
            expected.join(" ")
        )));
    }
    if engine.faults().has(Fault::AcceptNonCanonicalSignatures) {
        return lenient_key(&parsed.keyid)
            .ok_or_else(|| bad("keyid is not an Ed25519 did:key".into()));
    }
    strict_key(&parsed.keyid).map_err(|e| bad(format!("keyid is not a usable did:key: {e}")))
}

/// Decoded did:keys kept before the cache is emptied and starts over.
const KEY_CACHE_LIMIT: usize = 4096;

/// Decodes a did:key strictly (`oap_wire::didkey::public_key_from_did`), remembering the keys
/// it decoded: decoding costs a point decompression and a small-order check, and a client
/// signs many requests with one key. The decoding is a pure function of the string, and only
/// keys that passed every check are kept, so a cached answer is the answer.
fn strict_key(did: &str) -> Result<VerifyingKey, oap_wire::didkey::DidKeyError> {
    static CACHE: std::sync::OnceLock<Mutex<HashMap<String, VerifyingKey>>> =
        std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(key) = crate::engine::lock(cache).get(did) {
        return Ok(*key);
    }
    let key = oap_wire::didkey::public_key_from_did(did)?;
    let mut cache = crate::engine::lock(cache);
    if cache.len() >= KEY_CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(did.to_owned(), key);
    Ok(key)
}

/// Verifies the signature: strict Ed25519, unless the `accept-non-canonical-signatures` fault
/// is on, in which case ed25519-dalek's lenient `verify` is used (small-order keys and R pass).
fn verify(
    engine: &Engine,
    parsed: &ParsedSignature,
    parts: &RequestParts,
    key: &VerifyingKey,
) -> Result<(), ApiError> {
    let invalid =
        |e: HttpSigError| ApiError::unauthorized("invalid_signature", format!("signature: {e}"));
    let base = httpsig::signature_base(parsed, parts).map_err(invalid)?;
    if !engine.faults().has(Fault::AcceptNonCanonicalSignatures) {
        // The components were checked and the key decoded (strictly) by `check_components`:
        // what is left of `httpsig::verify` is the strict signature check itself.
        return oap_wire::keys::verify_strict(key, base.as_bytes(), &parsed.signature)
            .map_err(|e| invalid(HttpSigError::Signature(e)));
    }
    key.verify(base.as_bytes(), &Signature::from_bytes(&parsed.signature))
        .map_err(|_| ApiError::unauthorized("invalid_signature", "signature does not verify"))
}

/// Decodes a did:key without rejecting small-order keys (for the fault switch only).
fn lenient_key(did: &str) -> Option<VerifyingKey> {
    let b58 = did.strip_prefix("did:key:z")?;
    let bytes = bs58::decode(b58).into_vec().ok()?;
    let key: [u8; 32] = bytes.strip_prefix(&[0xed, 0x01][..])?.try_into().ok()?;
    VerifyingKey::from_bytes(&key).ok()
}
