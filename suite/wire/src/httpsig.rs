//! RFC 9421 HTTP Message Signatures, as the profile uses them: `alg="ed25519"`, `keyid` = the
//! signer's did:key, covered components `"@method" "@target-uri"` plus `"content-digest"
//! "content-type"` when the request has a body, parameters `created`, `nonce`, `keyid`, `alg`.
//!
//! Every session request is signed, so this is the Tool's front door and is read strictly: exactly
//! one signature label, present in both headers; only the four components above, each at most
//! once and without component parameters; exactly the four parameters, none repeated (RFC 8941's
//! "last one wins" is refused, see `sf.rs`), with a nonce of 16–128 characters of
//! `[A-Za-z0-9_-]`; a 64-byte signature. The order of components
//! is checked by [`verify`], which requires exactly the profile's list in the profile's order;
//! parameters may come in any order, because the signature base reproduces it.
//!
//! Freshness of `created` and single use of `nonce` depend on a clock and on state, so they are
//! the caller's (the Tool's) job. For other component sets, such as RFC 9421's own examples,
//! [`signature_base_for`] builds the base from any components, parameters and a lookup function.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::didkey::{self, DidKeyError};
use crate::keys::{self, Keypair, SignatureError};
use crate::sf::{self, Member, SfError};

/// The only algorithm the profile accepts.
pub const ALG_ED25519: &str = "ed25519";
/// The `@method` derived component.
pub const METHOD: &str = "@method";
/// The `@target-uri` derived component.
pub const TARGET_URI: &str = "@target-uri";
/// The `content-digest` header component.
pub const CONTENT_DIGEST: &str = "content-digest";
/// The `content-type` header component.
pub const CONTENT_TYPE: &str = "content-type";

/// Longest header value read; real values are a few hundred bytes.
const MAX_HEADER_LEN: usize = 8 * 1024;

/// Why a signature could not be read, built or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpSigError {
    /// A header is not an RFC 8941 dictionary.
    #[error("malformed {header}: {reason}")]
    Malformed {
        /// `Signature-Input` or `Signature`.
        header: &'static str,
        /// What the parser objected to.
        reason: String,
    },
    /// A header has more or fewer than one label.
    #[error("{header} must carry exactly one signature, found {count}")]
    LabelCount {
        /// `Signature-Input` or `Signature`.
        header: &'static str,
        /// How many labels it has.
        count: usize,
    },
    /// A label is repeated within a header.
    #[error("{header} repeats label {label:?}")]
    DuplicateLabel {
        /// `Signature-Input` or `Signature`.
        header: &'static str,
        /// The repeated label.
        label: String,
    },
    /// The two headers name different labels.
    #[error("Signature label {signature:?} does not match Signature-Input label {input:?}")]
    LabelMismatch {
        /// The label in `Signature-Input`.
        input: String,
        /// The label in `Signature`.
        signature: String,
    },
    /// The `Signature-Input` member is not an inner list of strings.
    #[error("Signature-Input member is not an inner list of component names")]
    NotInnerList,
    /// A covered component is not one the profile allows, or carries parameters.
    #[error("component {0:?} is not allowed")]
    UnknownComponent(String),
    /// A covered component is listed twice.
    #[error("component {0:?} is covered twice")]
    DuplicateComponent(String),
    /// A required component is not covered.
    #[error("required component {0:?} is not covered")]
    MissingComponent(&'static str),
    /// The covered components are not exactly the profile's list, in its order.
    #[error("covered components {0:?} differ from the profile's list")]
    CoveredComponents(Vec<String>),
    /// A signature parameter is not one the profile defines.
    #[error("parameter {0:?} is not allowed")]
    UnknownParameter(String),
    /// A signature parameter is repeated.
    #[error("parameter {0:?} is repeated")]
    DuplicateParameter(String),
    /// A required signature parameter is absent.
    #[error("required parameter {0:?} is missing")]
    MissingParameter(&'static str),
    /// A signature parameter has the wrong type.
    #[error("parameter {0:?} has the wrong type")]
    BadParameter(&'static str),
    /// `alg` is not `ed25519`.
    #[error("alg {0:?} is not ed25519")]
    WrongAlg(String),
    /// The `Signature` member is not a 64-byte byte sequence.
    #[error("signature value is not a 64-byte byte sequence")]
    BadSignatureValue,
    /// The request does not supply a value for a covered component.
    #[error("request has no value for covered component {0:?}")]
    MissingComponentValue(String),
    /// A component value contains characters that cannot appear in a signature base.
    #[error("component {0:?} has a value with control characters")]
    InvalidComponentValue(String),
    /// `keyid` is not an acceptable did:key.
    #[error("keyid: {0}")]
    KeyId(DidKeyError),
    /// The signature does not verify.
    #[error("signature: {0}")]
    Signature(SignatureError),
}

impl HttpSigError {
    /// The profile's problem `code` for this rejection: `missing_signature` when the headers are
    /// not one parsable RFC 9421 signature (PRF-AUTH-4), `invalid_signature` otherwise
    /// (PRF-AUTH-5: wrong components, parameters or algorithm, a `keyid` that is not a did:key, a
    /// signature that does not verify).
    pub fn problem_code(&self) -> &'static str {
        match self {
            Self::Malformed { .. }
            | Self::LabelCount { .. }
            | Self::DuplicateLabel { .. }
            | Self::LabelMismatch { .. }
            | Self::NotInnerList
            | Self::DuplicateParameter(_) => "missing_signature",
            Self::UnknownComponent(_)
            | Self::DuplicateComponent(_)
            | Self::MissingComponent(_)
            | Self::CoveredComponents(_)
            | Self::UnknownParameter(_)
            | Self::MissingParameter(_)
            | Self::BadParameter(_)
            | Self::WrongAlg(_)
            | Self::BadSignatureValue
            | Self::MissingComponentValue(_)
            | Self::InvalidComponentValue(_)
            | Self::KeyId(_)
            | Self::Signature(_) => "invalid_signature",
        }
    }
}

/// A parameter value of `@signature-params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    /// An sf-integer (`created`, `expires`).
    Integer(i64),
    /// An sf-string (`nonce`, `keyid`, `alg`, `tag`).
    String(String),
}

/// What to sign: the request's method and absolute target URI, the body's `Content-Type` and
/// `Content-Digest` when there is a body, and the signature parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignRequest<'a> {
    /// The HTTP method, as sent (`POST`).
    pub method: &'a str,
    /// The absolute target URI the client uses.
    pub target_uri: &'a str,
    /// The `Content-Type` header, when the request has a body.
    pub content_type: Option<&'a str>,
    /// The `Content-Digest` header, when the request has a body.
    pub content_digest: Option<&'a str>,
    /// The `created` parameter (Unix seconds).
    pub created: i64,
    /// The `nonce` parameter.
    pub nonce: &'a str,
    /// The signature label (`sig1`).
    pub label: &'a str,
}

/// The two header values of a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// The `Signature-Input` value.
    pub signature_input: String,
    /// The `Signature` value.
    pub signature: String,
}

/// The request values a signature covers, as the verifier sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestParts {
    /// The HTTP method.
    pub method: String,
    /// The absolute target URI.
    pub target_uri: String,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The `Content-Digest` header, if any.
    pub content_digest: Option<String>,
}

impl RequestParts {
    fn lookup(&self, component: &str) -> Option<String> {
        match component {
            METHOD => Some(self.method.clone()),
            TARGET_URI => Some(self.target_uri.clone()),
            CONTENT_TYPE => self.content_type.clone(),
            CONTENT_DIGEST => self.content_digest.clone(),
            _ => None,
        }
    }

    fn has_body(&self) -> bool {
        self.content_type.is_some() || self.content_digest.is_some()
    }
}

/// A `Signature-Input` / `Signature` pair read by [`parse_signature_headers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSignature {
    /// The signature label.
    pub label: String,
    /// The covered components, in order.
    pub components: Vec<String>,
    /// The `created` parameter.
    pub created: i64,
    /// The `nonce` parameter.
    pub nonce: String,
    /// The `keyid` parameter (the signer's DID).
    pub keyid: String,
    /// The `alg` parameter (always `ed25519` once parsed).
    pub alg: String,
    /// The signature parameters in the order they were written (for the signature base).
    pub params: Vec<(String, ParamValue)>,
    /// The signature.
    pub signature: [u8; 64],
}

/// What a verified signature establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The signer's DID.
    pub keyid: String,
    /// The `created` parameter.
    pub created: i64,
    /// The `nonce` parameter.
    pub nonce: String,
}

/// Whether `nonce` has the profile's form: 16 to 128 characters of `[A-Za-z0-9_-]`, enough
/// entropy to be unique and nothing that needs escaping.
pub fn is_valid_nonce(nonce: &str) -> bool {
    (16..=128).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Serializes a string as an RFC 8941 sf-string (`"` and `\` escaped).
fn sf_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The `@signature-params` value (also the `Signature-Input` member value): the inner list of
/// component identifiers followed by the parameters, in the order given.
pub fn signature_params<C: AsRef<str>, P: AsRef<str>>(
    components: &[C],
    params: &[(P, ParamValue)],
) -> String {
    let list: Vec<String> = components.iter().map(|c| sf_string(c.as_ref())).collect();
    let mut out = format!("({})", list.join(" "));
    for (name, value) in params {
        out.push(';');
        out.push_str(name.as_ref());
        out.push('=');
        match value {
            ParamValue::Integer(i) => out.push_str(&i.to_string()),
            ParamValue::String(s) => out.push_str(&sf_string(s)),
        }
    }
    out
}

/// The RFC 9421 §2.5 signature base for any components: one `"name": value` line per component
/// (values from `lookup`), then the `"@signature-params"` line, lines joined by LF, no trailing
/// newline.
pub fn signature_base_for<C: AsRef<str>, P: AsRef<str>>(
    components: &[C],
    params: &[(P, ParamValue)],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, HttpSigError> {
    let mut base = String::new();
    for c in components {
        let name = c.as_ref();
        let value = lookup(name).ok_or_else(|| HttpSigError::MissingComponentValue(name.into()))?;
        // Header values are trimmed of surrounding whitespace (RFC 9421 §2.1); a line break or
        // other control character would make the base ambiguous.
        let value = value.trim_matches([' ', '\t']);
        if value.chars().any(|ch| ch.is_control() && ch != '\t') {
            return Err(HttpSigError::InvalidComponentValue(name.into()));
        }
        base.push_str(&sf_string(name));
        base.push_str(": ");
        base.push_str(value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&signature_params(components, params));
    Ok(base)
}

/// Signs any components and parameters under `label` (for requests outside the profile's shape,
/// e.g. to test that a Tool rejects them). The caller supplies the exact parameter list, `alg`
/// and `keyid` included.
pub fn sign_with<C: AsRef<str>, P: AsRef<str>>(
    key: &Keypair,
    label: &str,
    components: &[C],
    params: &[(P, ParamValue)],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<SignedHeaders, HttpSigError> {
    let base = signature_base_for(components, params, lookup)?;
    let sig = key.sign(base.as_bytes());
    Ok(SignedHeaders {
        signature_input: format!("{label}={}", signature_params(components, params)),
        signature: format!("{label}=:{}:", STANDARD.encode(sig)),
    })
}

/// Signs a request the profile's way. Inputs are written as given: a label, nonce or value
/// outside the header grammar yields headers that a verifier rejects, which is how negative
/// vectors are made, and never a panic.
pub fn sign(key: &Keypair, req: &SignRequest<'_>) -> SignedHeaders {
    let mut components = vec![METHOD, TARGET_URI];
    if req.content_digest.is_some() {
        components.push(CONTENT_DIGEST);
    }
    if req.content_type.is_some() {
        components.push(CONTENT_TYPE);
    }
    let params = [
        ("created", ParamValue::Integer(req.created)),
        ("nonce", ParamValue::String(req.nonce.to_owned())),
        ("keyid", ParamValue::String(key.did.clone())),
        ("alg", ParamValue::String(ALG_ED25519.to_owned())),
    ];
    let lookup = |c: &str| -> Option<String> {
        match c {
            METHOD => Some(req.method.to_owned()),
            TARGET_URI => Some(req.target_uri.to_owned()),
            CONTENT_DIGEST => req.content_digest.map(str::to_owned),
            CONTENT_TYPE => req.content_type.map(str::to_owned),
            _ => None,
        }
    };
    // The base cannot be built only when a value holds control characters; sign the raw
    // concatenation then, which no verifier will reproduce.
    let base = signature_base_for(&components, &params, lookup).unwrap_or_else(|_| {
        format!(
            "{}\n{}\n{}",
            req.method,
            req.target_uri,
            signature_params(&components, &params)
        )
    });
    let sig = key.sign(base.as_bytes());
    SignedHeaders {
        signature_input: format!("{}={}", req.label, signature_params(&components, &params)),
        signature: format!("{}=:{}:", req.label, STANDARD.encode(sig)),
    }
}

fn single_member(header: &'static str, value: &str) -> Result<(String, Member), HttpSigError> {
    if value.len() > MAX_HEADER_LEN {
        return Err(HttpSigError::Malformed {
            header,
            reason: "too long".into(),
        });
    }
    let dict = sf::parse_dictionary(value).map_err(|e| match e {
        SfError::RepeatedKey(label) => HttpSigError::DuplicateLabel { header, label },
        SfError::RepeatedParameter(p) => HttpSigError::DuplicateParameter(p),
        SfError::Syntax(reason) => HttpSigError::Malformed { header, reason },
    })?;
    let count = dict.len();
    let mut it = dict.into_iter();
    match (it.next(), count) {
        (Some(member), 1) => Ok(member),
        _ => Err(HttpSigError::LabelCount { header, count }),
    }
}

/// Reads and checks a `Signature-Input` / `Signature` pair (see the module docs for the rules).
pub fn parse_signature_headers(
    signature_input: &str,
    signature: &str,
) -> Result<ParsedSignature, HttpSigError> {
    let (label, input) = single_member("Signature-Input", signature_input)?;
    let (sig_label, sig) = single_member("Signature", signature)?;
    if sig_label != label {
        return Err(HttpSigError::LabelMismatch {
            input: label,
            signature: sig_label,
        });
    }
    let Member::InnerList(items, raw_params) = input else {
        return Err(HttpSigError::NotInnerList);
    };
    let mut components: Vec<String> = Vec::with_capacity(items.len());
    for (item, item_params) in items {
        let sf::Value::String(name) = item else {
            return Err(HttpSigError::NotInnerList);
        };
        if !item_params.is_empty()
            || ![METHOD, TARGET_URI, CONTENT_DIGEST, CONTENT_TYPE].contains(&name.as_str())
        {
            return Err(HttpSigError::UnknownComponent(name));
        }
        if components.contains(&name) {
            return Err(HttpSigError::DuplicateComponent(name));
        }
        components.push(name);
    }

    let mut created = None;
    let mut nonce = None;
    let mut keyid = None;
    let mut alg = None;
    let mut params = Vec::with_capacity(raw_params.len());
    for (name, value) in raw_params {
        let value = match (name.as_str(), value) {
            ("created", sf::Value::Integer(i)) => {
                created = Some(i);
                ParamValue::Integer(i)
            }
            ("created", _) => return Err(HttpSigError::BadParameter("created")),
            ("nonce" | "keyid" | "alg", sf::Value::String(s)) => {
                let slot = match name.as_str() {
                    "nonce" => &mut nonce,
                    "keyid" => &mut keyid,
                    _ => &mut alg,
                };
                *slot = Some(s.clone());
                ParamValue::String(s)
            }
            ("nonce", _) => return Err(HttpSigError::BadParameter("nonce")),
            ("keyid", _) => return Err(HttpSigError::BadParameter("keyid")),
            ("alg", _) => return Err(HttpSigError::BadParameter("alg")),
            _ => return Err(HttpSigError::UnknownParameter(name)),
        };
        params.push((name, value));
    }
    let created = created.ok_or(HttpSigError::MissingParameter("created"))?;
    let nonce = nonce.ok_or(HttpSigError::MissingParameter("nonce"))?;
    if !is_valid_nonce(&nonce) {
        return Err(HttpSigError::BadParameter("nonce"));
    }
    let keyid = keyid.ok_or(HttpSigError::MissingParameter("keyid"))?;
    let alg = alg.ok_or(HttpSigError::MissingParameter("alg"))?;
    if alg != ALG_ED25519 {
        return Err(HttpSigError::WrongAlg(alg));
    }

    let signature = match sig {
        Member::Item(sf::Value::Bytes(b), p) if p.is_empty() => {
            <[u8; 64]>::try_from(b).map_err(|_| HttpSigError::BadSignatureValue)?
        }
        _ => return Err(HttpSigError::BadSignatureValue),
    };
    Ok(ParsedSignature {
        label,
        components,
        created,
        nonce,
        keyid,
        alg,
        params,
        signature,
    })
}

/// The signature base of a parsed signature over `parts`.
pub fn signature_base(
    parsed: &ParsedSignature,
    parts: &RequestParts,
) -> Result<String, HttpSigError> {
    signature_base_for(&parsed.components, &parsed.params, |c| parts.lookup(c))
}

/// Verifies a parsed signature over `parts`: the covered components are exactly `"@method"
/// "@target-uri"`, followed by `"content-digest" "content-type"` when the request has a body
/// (profile PRF-AUTH-1, order included); `keyid` a did:key; the
/// signature valid under the strict Ed25519 policy. Checking `created` against the clock, the
/// nonce against replay and `Content-Digest` against the body is the caller's job.
pub fn verify(
    parsed: &ParsedSignature,
    parts: &RequestParts,
) -> Result<VerifiedSignature, HttpSigError> {
    let covers = |c: &str| parsed.components.iter().any(|x| x == c);
    for required in [METHOD, TARGET_URI] {
        if !covers(required) {
            return Err(HttpSigError::MissingComponent(required));
        }
    }
    let expected: &[&str] = if parts.has_body() {
        for required in [CONTENT_DIGEST, CONTENT_TYPE] {
            if !covers(required) {
                return Err(HttpSigError::MissingComponent(required));
            }
        }
        &[METHOD, TARGET_URI, CONTENT_DIGEST, CONTENT_TYPE]
    } else {
        &[METHOD, TARGET_URI]
    };
    if parsed.components != expected {
        return Err(HttpSigError::CoveredComponents(parsed.components.clone()));
    }
    let pk = didkey::public_key_from_did(&parsed.keyid).map_err(HttpSigError::KeyId)?;
    let base = signature_base(parsed, parts)?;
    keys::verify_strict(&pk, base.as_bytes(), &parsed.signature)
        .map_err(HttpSigError::Signature)?;
    Ok(VerifiedSignature {
        keyid: parsed.keyid.clone(),
        created: parsed.created,
        nonce: parsed.nonce.clone(),
    })
}
