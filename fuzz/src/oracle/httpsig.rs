//! RFC 9421 request signatures: the header parser never panics and reads back what it would
//! write; a request signed the profile's way verifies, and changing any one byte of it (method,
//! target URI, `Content-Type`, `Content-Digest`, body, `Signature-Input`, `Signature`) makes it
//! fail, unless the change leaves the signature's 64 bytes as they were.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use oap_wire::digest;
use oap_wire::httpsig::{self, RequestParts, SignRequest};
use serde::{Deserialize, Serialize};

use super::bytes::Bytes;
use super::fixtures;

/// One input of the `httpsig_headers` target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SigCase {
    /// Arbitrary header values.
    Raw {
        /// The `Signature-Input` value.
        signature_input: String,
        /// The `Signature` value.
        signature: String,
    },
    /// A request signed the profile's way, then perhaps changed in one byte.
    Signed(SignedCase),
}

/// A request to sign. Its fields must satisfy [`SignedCase::well_formed`] for the round-trip
/// claims to apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedCase {
    /// The signer is `fixtures::key(key_seed)`.
    pub key_seed: u8,
    /// The method.
    pub method: String,
    /// The absolute target URI.
    pub target_uri: String,
    /// `Content-Type`, present exactly when there is a body.
    pub content_type: Option<String>,
    /// The body.
    pub body: Option<Bytes>,
    /// `created`.
    pub created: i64,
    /// `nonce`.
    pub nonce: String,
    /// The signature label.
    pub label: String,
    /// One byte to overwrite after signing.
    pub change: Option<ByteChange>,
}

/// Overwrite byte `index` (modulo the length) of `part` with `byte`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ByteChange {
    /// What is changed.
    pub part: Part,
    /// Where.
    pub index: usize,
    /// The new byte.
    pub byte: u8,
}

/// The parts of a signed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Part {
    /// The method.
    Method,
    /// The target URI.
    TargetUri,
    /// `Content-Type`.
    ContentType,
    /// `Content-Digest`.
    ContentDigest,
    /// The body.
    Body,
    /// `Signature-Input`.
    SignatureInput,
    /// `Signature`.
    Signature,
}

/// Checks one case; see the module docs.
pub fn check(case: &SigCase) {
    match case {
        SigCase::Raw {
            signature_input,
            signature,
        } => raw(signature_input, signature),
        SigCase::Signed(c) => signed(c),
    }
}

fn raw(signature_input: &str, signature: &str) {
    let Ok(p) = httpsig::parse_signature_headers(signature_input, signature) else {
        return;
    };
    assert_eq!(p.alg, httpsig::ALG_ED25519);
    let input = format!(
        "{}={}",
        p.label,
        httpsig::signature_params(&p.components, &p.params)
    );
    let sig = format!("{}=:{}:", p.label, STANDARD.encode(p.signature));
    let again = httpsig::parse_signature_headers(&input, &sig)
        .unwrap_or_else(|e| panic!("refused its own serialisation {input:?} {sig:?}: {e}"));
    assert_eq!(again, p, "serialise-then-parse changed the signature");
    let body = b"{}";
    let parts = RequestParts {
        method: "POST".into(),
        target_uri: "http://localhost/oap/invoke".into(),
        content_type: Some("application/json".into()),
        content_digest: Some(digest::content_digest(body)),
    };
    let _ = httpsig::signature_base(&p, &parts);
    let _ = httpsig::verify(&p, &parts);
}

fn visible(s: &str, space: bool) -> bool {
    !s.is_empty()
        && !s.starts_with(' ')
        && !s.ends_with(' ')
        && s.bytes()
            .all(|b| (0x21..=0x7e).contains(&b) || (space && b == b' '))
}

impl SignedCase {
    /// Whether the request is one the profile lets a client send: a token method, printable
    /// header values, a nonce of 16 to 128 `[A-Za-z0-9_-]`, an RFC 8941 key as label, `created`
    /// an RFC 8941 integer, and a `Content-Type` exactly when there is a body.
    pub fn well_formed(&self) -> bool {
        let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        let key_first = |b: u8| b.is_ascii_lowercase() || b == b'*';
        let key_rest = |b: u8| key_first(b) || b.is_ascii_digit() || b"_-.".contains(&b);
        !self.method.is_empty()
            && self.method.bytes().all(tchar)
            && visible(&self.target_uri, false)
            && self
                .content_type
                .as_deref()
                .is_none_or(|c| visible(c, true))
            && self.content_type.is_some() == self.body.is_some()
            && (16..=128).contains(&self.nonce.len())
            && self
                .nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && self.label.bytes().next().is_some_and(key_first)
            && self.label.bytes().all(key_rest)
            && self.label.len() <= 64
            && self.created.unsigned_abs() <= 999_999_999_999_999
    }
}

/// A request as bytes on the wire.
#[derive(Clone)]
struct Request {
    method: Vec<u8>,
    target_uri: Vec<u8>,
    content_type: Option<Vec<u8>>,
    content_digest: Option<Vec<u8>>,
    body: Option<Vec<u8>>,
    signature_input: Vec<u8>,
    signature: Vec<u8>,
}

fn text(b: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(b).map_err(|e| e.to_string())
}

/// What a Tool does with the request's authentication: parse, verify, check the digest.
fn authenticate(r: &Request) -> Result<[u8; 64], String> {
    let parsed = httpsig::parse_signature_headers(text(&r.signature_input)?, text(&r.signature)?)
        .map_err(|e| e.to_string())?;
    let opt = |b: &Option<Vec<u8>>| -> Result<Option<String>, String> {
        b.as_deref().map(|b| text(b).map(str::to_owned)).transpose()
    };
    let parts = RequestParts {
        method: text(&r.method)?.to_owned(),
        target_uri: text(&r.target_uri)?.to_owned(),
        content_type: opt(&r.content_type)?,
        content_digest: opt(&r.content_digest)?,
    };
    httpsig::verify(&parsed, &parts).map_err(|e| e.to_string())?;
    if let Some(body) = &r.body {
        let header = parts.content_digest.as_deref().ok_or("no Content-Digest")?;
        digest::verify_content_digest(header, body).map_err(|e| e.to_string())?;
    }
    Ok(parsed.signature)
}

fn signed(c: &SignedCase) {
    if !c.well_formed() {
        return;
    }
    let key = fixtures::signer(c.key_seed);
    let body = c.body.as_ref().map(|b| b.0.clone());
    let content_digest = body.as_deref().map(digest::content_digest);
    let headers = httpsig::sign(
        key,
        &SignRequest {
            method: &c.method,
            target_uri: &c.target_uri,
            content_type: c.content_type.as_deref(),
            content_digest: content_digest.as_deref(),
            created: c.created,
            nonce: &c.nonce,
            label: &c.label,
        },
    );
    let original = Request {
        method: c.method.clone().into_bytes(),
        target_uri: c.target_uri.clone().into_bytes(),
        content_type: c.content_type.clone().map(String::into_bytes),
        content_digest: content_digest.map(String::into_bytes),
        body,
        signature_input: headers.signature_input.into_bytes(),
        signature: headers.signature.into_bytes(),
    };
    let signature = authenticate(&original)
        .unwrap_or_else(|e| panic!("refused a request signed the profile's way: {e}"));
    let Some(change) = &c.change else {
        return;
    };
    let mut changed = original.clone();
    let field = match change.part {
        Part::Method => Some(&mut changed.method),
        Part::TargetUri => Some(&mut changed.target_uri),
        Part::ContentType => changed.content_type.as_mut(),
        Part::ContentDigest => changed.content_digest.as_mut(),
        Part::Body => changed.body.as_mut(),
        Part::SignatureInput => Some(&mut changed.signature_input),
        Part::Signature => Some(&mut changed.signature),
    };
    let Some(field) = field else {
        return;
    };
    if field.is_empty() {
        field.push(change.byte);
    } else {
        let i = change.index % field.len();
        field[i] = change.byte;
    }
    match authenticate(&changed) {
        Err(_) => {}
        Ok(sig) if sig == signature && change.part == Part::Signature => {
            // The Signature header spells the same 64 bytes differently.
        }
        Ok(_) if same(&changed, &original) => {}
        Ok(_) => panic!(
            "accepted a request changed in {:?}: {:?}",
            change.part,
            String::from_utf8_lossy(match change.part {
                Part::Method => &changed.method,
                Part::TargetUri => &changed.target_uri,
                Part::ContentType => changed.content_type.as_deref().unwrap_or_default(),
                Part::ContentDigest => changed.content_digest.as_deref().unwrap_or_default(),
                Part::Body => changed.body.as_deref().unwrap_or_default(),
                Part::SignatureInput => &changed.signature_input,
                Part::Signature => &changed.signature,
            })
        ),
    }
}

fn same(a: &Request, b: &Request) -> bool {
    a.method == b.method
        && a.target_uri == b.target_uri
        && a.content_type == b.content_type
        && a.content_digest == b.content_digest
        && a.body == b.body
        && a.signature_input == b.signature_input
        && a.signature == b.signature
}
