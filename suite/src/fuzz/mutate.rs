//! Mutations of a valid request: what the black-box fuzzer changes, as plain data.
//!
//! A [`Case`] is an endpoint, whether the request is signed, and a list of
//! [`Mutation`]s, each with its parameters written out, so that a case renders
//! to the same bytes every time (apart from fresh nonces, turn ids and times),
//! can be minimised by dropping mutations, and can be written as a vector.
//! Rendering applies the mutations in three layers: the JSON value (delete,
//! replace, raw number, nesting), the serialised bytes (duplicate member,
//! invalid UTF-8, padding, truncation) and the signature (signing deviations,
//! dropped headers, media type, the session id in the path).

use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::vector::{DigestMode, SignOptions, SignatureMutation};

/// The endpoint a case is sent to (all POST).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `POST /oap/session/create`.
    Create,
    /// `POST /oap/session/{id}/update`.
    Update,
    /// `POST /oap/invoke` on a session.
    Invoke,
}

impl Endpoint {
    /// Every endpoint the fuzzer mutates.
    pub const ALL: [Endpoint; 3] = [Endpoint::Create, Endpoint::Update, Endpoint::Invoke];

    /// The request path, with `session_id` in it where the endpoint has one.
    pub fn path(self, session_id: &str) -> String {
        match self {
            Endpoint::Create => "/oap/session/create".to_owned(),
            Endpoint::Update => format!("/oap/session/{session_id}/update"),
            Endpoint::Invoke => "/oap/invoke".to_owned(),
        }
    }

    /// Whether the endpoint writes to an existing session.
    pub fn is_session_write(self) -> bool {
        !matches!(self, Endpoint::Create)
    }

    /// The valid body the mutations start from.
    pub fn base_body(self, session_id: &str, expected_version: u64, turn_id: &str) -> Value {
        let session = json!({
            "session_id": session_id,
            "expected_version": expected_version,
            "turn_id": turn_id,
        });
        match self {
            Endpoint::Create => json!({
                "envelope_version": "1.0",
                "input": {
                    "scope": { "ccc": "internal", "clearance": "confidential" },
                    "state": { "conformance": { "x": 1, "tags": ["a", "b"] } }
                }
            }),
            Endpoint::Update => json!({
                "envelope_version": "1.0",
                "session": session,
                "input": { "patch": { "conformance": { "k": "v", "n": 2 } } }
            }),
            Endpoint::Invoke => json!({
                "envelope_version": "1.0",
                "session": session,
                "action": "echo",
                "input": { "x": 1 }
            }),
        }
    }
}

/// One change to a valid request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mutation {
    /// Remove the member at `path`.
    Delete {
        /// Member names from the top-level object.
        path: Vec<String>,
    },
    /// Replace the value at `path` (type confusion, wrong identifiers, odd numbers).
    Replace {
        /// Member names from the top-level object.
        path: Vec<String>,
        /// The new value.
        value: Value,
    },
    /// Replace the value at `path` by raw JSON text (numbers serde cannot hold).
    Raw {
        /// Member names from the top-level object.
        path: Vec<String>,
        /// The text written in place of the value.
        text: String,
    },
    /// Wrap the value at `path` in `depth` arrays.
    Nest {
        /// Member names from the top-level object.
        path: Vec<String>,
        /// Arrays around the value.
        depth: usize,
    },
    /// Repeat the top-level member `name` (a duplicate member name).
    Duplicate {
        /// The top-level member repeated.
        name: String,
    },
    /// Overwrite the byte at `at` (modulo the length) with `0xFF`.
    InvalidUtf8 {
        /// Byte offset.
        at: usize,
    },
    /// Add a top-level string member of `bytes` characters.
    Pad {
        /// Length of the padding string.
        bytes: usize,
    },
    /// Keep only the first `keep` bytes (modulo the length).
    Truncate {
        /// Bytes kept.
        keep: usize,
    },
    /// Sign with a deviation (stale time, damaged signature, wrong key id, ...).
    Sign {
        /// The deviation.
        options: SignOptions,
    },
    /// Remove a header after signing.
    DropHeader {
        /// The header name.
        name: String,
    },
    /// Send and sign this `Content-Type`.
    ContentType {
        /// The media type.
        value: String,
    },
    /// Replace the session id in the request path.
    PathId {
        /// The text put in place of the id.
        value: String,
    },
    /// Send without signature headers.
    Unsigned,
}

impl Mutation {
    /// A short kind name, for counts and file names.
    pub fn kind(&self) -> &'static str {
        match self {
            Mutation::Delete { .. } => "delete",
            Mutation::Replace { .. } => "replace",
            Mutation::Raw { .. } => "raw_number",
            Mutation::Nest { .. } => "nest",
            Mutation::Duplicate { .. } => "duplicate_member",
            Mutation::InvalidUtf8 { .. } => "invalid_utf8",
            Mutation::Pad { .. } => "oversize",
            Mutation::Truncate { .. } => "truncate",
            Mutation::Sign { .. } => "signature",
            Mutation::DropHeader { .. } => "drop_header",
            Mutation::ContentType { .. } => "content_type",
            Mutation::PathId { .. } => "path_id",
            Mutation::Unsigned => "unsigned",
        }
    }

    /// Whether a request carrying this mutation must be refused whatever else it
    /// carries, for the mutations outside the body (the body's own verdict is
    /// [`Case::must_reject`]'s strict parse of the rendered bytes).
    pub fn must_reject(&self) -> bool {
        match self {
            Mutation::Sign { .. } | Mutation::DropHeader { .. } | Mutation::Unsigned => true,
            Mutation::ContentType { value } => !value.starts_with("application/json"),
            Mutation::PathId { value } => !oap_wire::ids::is_valid_session_id(value),
            _ => false,
        }
    }
}

/// One fuzz input: an endpoint and the mutations applied to its valid request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// The mutations, in the order they were drawn.
    pub mutations: Vec<Mutation>,
}

impl Case {
    /// Whether the request with this body must be refused whatever the Tool's
    /// state: a mutation outside the body says so, or the body is not strict
    /// I-JSON within the profile's size and depth limits (PRF-ENV-1).
    pub fn must_reject(&self, body: &[u8]) -> bool {
        self.mutations.iter().any(Mutation::must_reject)
            || oap_wire::json::parse_strict(body, &oap_wire::json::JsonLimits::default()).is_err()
    }

    /// Whether the request goes out without signature headers.
    pub fn unsigned(&self) -> bool {
        self.mutations
            .iter()
            .any(|m| matches!(m, Mutation::Unsigned))
    }

    /// The signing deviation, if any (the last one drawn wins).
    pub fn sign_options(&self) -> SignOptions {
        self.mutations
            .iter()
            .rev()
            .find_map(|m| match m {
                Mutation::Sign { options } => Some(options.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The media type sent (and signed).
    pub fn content_type(&self) -> String {
        self.mutations
            .iter()
            .rev()
            .find_map(|m| match m {
                Mutation::ContentType { value } => Some(value.clone()),
                _ => None,
            })
            .unwrap_or_else(|| crate::actors::signer::JSON.to_owned())
    }

    /// The session id written in the path.
    pub fn path_id<'a>(&'a self, session_id: &'a str) -> &'a str {
        self.mutations
            .iter()
            .rev()
            .find_map(|m| match m {
                Mutation::PathId { value } => Some(value.as_str()),
                _ => None,
            })
            .unwrap_or(session_id)
    }

    /// Headers removed after signing.
    pub fn dropped_headers(&self) -> impl Iterator<Item = &str> {
        self.mutations.iter().filter_map(|m| match m {
            Mutation::DropHeader { name } => Some(name.as_str()),
            _ => None,
        })
    }

    /// The body bytes: `base` with every value and byte mutation applied.
    pub fn render_body(&self, base: &Value) -> Vec<u8> {
        let mut value = base.clone();
        let mut raws: Vec<String> = Vec::new();
        for m in &self.mutations {
            match m {
                Mutation::Delete { path } => {
                    if let Some((last, parent)) = path.split_last()
                        && let Some(Value::Object(map)) = pointer_mut(&mut value, parent)
                    {
                        map.remove(last);
                    }
                }
                Mutation::Replace { path, value: v } => {
                    if let Some(slot) = pointer_mut(&mut value, path) {
                        *slot = v.clone();
                    }
                }
                Mutation::Raw { path, text } => {
                    if let Some(slot) = pointer_mut(&mut value, path) {
                        *slot = Value::String(raw_marker(raws.len()));
                        raws.push(text.clone());
                    }
                }
                Mutation::Nest { path, depth } => {
                    if let Some(slot) = pointer_mut(&mut value, path) {
                        let inner = serde_json::to_string(slot).unwrap_or_default();
                        *slot = Value::String(raw_marker(raws.len()));
                        raws.push(format!(
                            "{}{inner}{}",
                            "[".repeat(*depth),
                            "]".repeat(*depth)
                        ));
                    }
                }
                Mutation::Pad { bytes } => {
                    if let Value::Object(map) = &mut value {
                        map.insert("pad".to_owned(), Value::String("a".repeat(*bytes)));
                    }
                }
                _ => {}
            }
        }
        let mut text = serde_json::to_string(&value).unwrap_or_default();
        for (i, raw) in raws.iter().enumerate() {
            let marker = serde_json::to_string(&raw_marker(i)).unwrap_or_default();
            text = text.replacen(&marker, raw, 1);
        }
        let mut bytes = text.into_bytes();
        for m in &self.mutations {
            match m {
                Mutation::Duplicate { name } => {
                    if let Value::Object(map) = &value
                        && let Some(v) = map.get(name)
                        && bytes.first() == Some(&b'{')
                    {
                        let member = format!(
                            "{}:{},",
                            Value::String(name.clone()),
                            serde_json::to_string(v).unwrap_or_default()
                        );
                        bytes.splice(1..1, member.into_bytes());
                    }
                }
                Mutation::InvalidUtf8 { at } if !bytes.is_empty() => {
                    let i = at % bytes.len();
                    bytes[i] = 0xFF;
                }
                Mutation::Truncate { keep } if bytes.len() > 1 => {
                    bytes.truncate(keep % bytes.len());
                }
                _ => {}
            }
        }
        bytes
    }

    /// A one-line description of every mutation.
    pub fn describe(&self) -> Vec<String> {
        self.mutations.iter().map(describe).collect()
    }
}

fn describe(m: &Mutation) -> String {
    let p = |path: &[String]| format!("/{}", path.join("/"));
    match m {
        Mutation::Delete { path } => format!("delete {}", p(path)),
        Mutation::Replace { path, value } => {
            let mut v = value.to_string();
            if v.len() > 60 {
                v = format!("{}… ({} bytes)", &v[..v.floor_char_boundary(60)], v.len());
            }
            format!("replace {} with {v}", p(path))
        }
        Mutation::Raw { path, text } => format!("replace {} with the number {text}", p(path)),
        Mutation::Nest { path, depth } => format!("nest {} in {depth} arrays", p(path)),
        Mutation::Duplicate { name } => format!("duplicate member {name:?}"),
        Mutation::InvalidUtf8 { at } => format!("byte {at} (mod length) set to 0xFF"),
        Mutation::Pad { bytes } => format!("pad the body with {bytes} bytes"),
        Mutation::Truncate { keep } => format!("truncate the body to {keep} (mod length) bytes"),
        Mutation::Sign { options } => format!(
            "sign with {}",
            serde_json::to_string(options).unwrap_or_default()
        ),
        Mutation::DropHeader { name } => format!("drop header {name}"),
        Mutation::ContentType { value } => format!("Content-Type {value:?}"),
        Mutation::PathId { value } => format!("session id in the path {value:?}"),
        Mutation::Unsigned => "unsigned".to_owned(),
    }
}

fn raw_marker(i: usize) -> String {
    format!("\u{1}raw{i}\u{1}")
}

fn pointer_mut<'a>(value: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = value;
    for key in path {
        cur = match cur {
            Value::Object(map) => map.get_mut(key)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Every member path of `value` (objects only), parents before children.
pub fn member_paths(value: &Value) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut stack: Vec<(Vec<String>, &Map<String, Value>)> = Vec::new();
    if let Value::Object(map) = value {
        stack.push((Vec::new(), map));
    }
    while let Some((prefix, map)) = stack.pop() {
        for (k, v) in map {
            let mut path = prefix.clone();
            path.push(k.clone());
            if let Value::Object(inner) = v {
                stack.push((path.clone(), inner));
            }
            out.push(path);
        }
    }
    out.sort_by_key(Vec::len);
    out
}

/// Values that confuse types and identifier formats.
fn confusing_value<R: Rng>(rng: &mut R) -> Value {
    let choices: [fn() -> Value; 18] = [
        || Value::Null,
        || json!(true),
        || json!(0),
        || json!(-1),
        || json!(1.5),
        || json!(""),
        || json!("x"),
        || json!([]),
        || json!({}),
        || json!([1, "a", null]),
        || json!({"": {"": null}}),
        || json!("ses_not-a-ulid"),
        || json!("trn_00000000000000000000000000"),
        || json!("ses_01arz3ndektsv4rrffq69g5fav"),
        || json!("did:key:z6MkNOTAKEY"),
        || json!("\u{0}\u{7f}\u{202e}"),
        || json!(9_007_199_254_740_991u64),
        || json!(-9_007_199_254_740_991i64),
    ];
    if rng.gen_ratio(1, 12) {
        return Value::String("x".repeat(rng.gen_range(1_000..100_000)));
    }
    choices.choose(rng).map(|f| f()).unwrap_or(Value::Null)
}

/// Number texts a strict parser must refuse or that test range handling.
const RAW_NUMBERS: [&str; 12] = [
    "9007199254740992",
    "-9007199254740992",
    "18446744073709551616",
    "-18446744073709551617",
    "123456789012345678901234567890",
    "1e400",
    "-1e400",
    "1e-400",
    "-0",
    "0.0000000000000000000001",
    "9007199254740991.5",
    "-1",
];

/// Identifier-shaped strings that are not valid session ids.
const BAD_PATH_IDS: [&str; 8] = [
    "ses_",
    "ses_01ARZ3NDEKTSV4RRFFQ69G5FA",
    "ses_01ARZ3NDEKTSV4RRFFQ69G5FAVX",
    "ses_01arz3ndektsv4rrffq69g5fav",
    "trn_01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "ses_01ARZ3NDEKTSV4RRFFQ69G5FA%C3%A9",
    "..",
    "ses_01ARZ3NDEKTSV4RRFFQ69G5FAV%00",
];

/// Draws one mutation for a request whose valid body is `base`.
pub fn draw<R: Rng>(rng: &mut R, endpoint: Endpoint, base: &Value) -> Mutation {
    let paths = member_paths(base);
    let path = paths.choose(rng).cloned().unwrap_or_default();
    let top: Vec<String> = base
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    match rng.gen_range(0..100) {
        0..=14 => Mutation::Delete { path },
        15..=34 => Mutation::Replace {
            path,
            value: confusing_value(rng),
        },
        35..=44 => Mutation::Raw {
            path,
            text: RAW_NUMBERS.choose(rng).copied().unwrap_or("-1").to_owned(),
        },
        45..=50 => Mutation::Nest {
            path,
            depth: *[1usize, 60, 63, 64, 65, 100, 1_000, 100_000]
                .choose(rng)
                .unwrap_or(&65),
        },
        51..=55 => Mutation::Duplicate {
            name: top.choose(rng).cloned().unwrap_or_default(),
        },
        56..=59 => Mutation::InvalidUtf8 {
            at: rng.gen_range(0..4096),
        },
        60..=62 => Mutation::Pad {
            bytes: *[1_000usize, 1_048_000, 1_048_576, 1_100_000]
                .choose(rng)
                .unwrap_or(&1_000),
        },
        63..=66 => Mutation::Truncate {
            keep: rng.gen_range(0..4096),
        },
        67..=84 => Mutation::Sign {
            options: sign_deviation(rng),
        },
        85..=89 => Mutation::DropHeader {
            name: [
                "Signature",
                "Signature-Input",
                "Content-Digest",
                "Content-Type",
            ]
            .choose(rng)
            .copied()
            .unwrap_or("Signature")
            .to_owned(),
        },
        90..=92 => Mutation::ContentType {
            value: [
                "text/plain",
                "application/json; charset=utf-8",
                "application/jsonx",
                "",
                "multipart/form-data",
            ]
            .choose(rng)
            .copied()
            .unwrap_or("text/plain")
            .to_owned(),
        },
        93..=96 if endpoint == Endpoint::Update => Mutation::PathId {
            value: BAD_PATH_IDS.choose(rng).copied().unwrap_or("..").to_owned(),
        },
        _ => Mutation::Unsigned,
    }
}

/// One deviation from a correct signature, each of which the profile refuses.
fn sign_deviation<R: Rng>(rng: &mut R) -> SignOptions {
    let mut o = SignOptions::default();
    match rng.gen_range(0..13) {
        0 => o.created_offset = Some(-rng.gen_range(301..100_000)),
        1 => o.created_offset = Some(rng.gen_range(31..100_000)),
        2 => o.mutate = Some(SignatureMutation::FlipBit),
        3 => o.mutate = Some(SignatureMutation::SPlusL),
        4 => o.mutate = Some(SignatureMutation::Truncate),
        5 => o.mutate = Some(SignatureMutation::Zero),
        6 => o.mutate = Some(SignatureMutation::SmallOrderKey),
        7 => {
            o.keyid = Some(
                ["not-a-did", "did:key:z6Mk", "did:web:example.com", ""]
                    .choose(rng)
                    .copied()
                    .unwrap_or("not-a-did")
                    .to_owned(),
            )
        }
        8 => o.alg = Some(["rsa-pss-sha512", "", "hmac-sha256"][rng.gen_range(0..3)].to_owned()),
        9 => o.digest = Some([DigestMode::Omit, DigestMode::Tamper][rng.gen_range(0..2)]),
        10 => o.components = Some(vec!["@method".to_owned()]),
        11 => o.duplicate = true,
        _ => o.nonce = Some(["short", "has space in it!!", ""][rng.gen_range(0..3)].to_owned()),
    }
    o
}

/// Draws a case: an endpoint and one to three mutations.
pub fn draw_case<R: Rng>(rng: &mut R, base_of: impl Fn(Endpoint) -> Value) -> Case {
    let endpoint = *Endpoint::ALL.choose(rng).unwrap_or(&Endpoint::Update);
    let base = base_of(endpoint);
    let n = match rng.gen_range(0..10) {
        0..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    let mutations = (0..n).map(|_| draw(rng, endpoint, &base)).collect();
    Case {
        endpoint,
        mutations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn base() -> Value {
        Endpoint::Update.base_body(
            "ses_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            3,
            "trn_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        )
    }

    fn case(mutations: Vec<Mutation>) -> Case {
        Case {
            endpoint: Endpoint::Update,
            mutations,
        }
    }

    fn strict(bytes: &[u8]) -> bool {
        oap_wire::json::parse_strict(bytes, &oap_wire::json::JsonLimits::default()).is_ok()
    }

    #[test]
    fn no_mutation_renders_the_valid_body() {
        let bytes = case(vec![]).render_body(&base());
        assert!(strict(&bytes));
        assert_eq!(serde_json::from_slice::<Value>(&bytes).ok(), Some(base()));
    }

    #[test]
    fn byte_mutations_break_strict_json() {
        let path = vec!["session".to_owned(), "expected_version".to_owned()];
        for m in [
            Mutation::Duplicate {
                name: "input".into(),
            },
            Mutation::InvalidUtf8 { at: 5 },
            Mutation::Truncate { keep: 10 },
            Mutation::Nest {
                path: path.clone(),
                depth: 65,
            },
            Mutation::Raw {
                path: path.clone(),
                text: "9007199254740992".into(),
            },
            Mutation::Pad { bytes: 1_100_000 },
        ] {
            let bytes = case(vec![m.clone()]).render_body(&base());
            assert!(!strict(&bytes), "{m:?} still parses");
        }
        let nested = case(vec![Mutation::Nest { path, depth: 62 }]).render_body(&base());
        assert!(
            strict(&nested),
            "62 arrays under two objects is depth 64, the limit"
        );
    }

    #[test]
    fn value_mutations_apply_at_their_path() {
        let bytes = case(vec![
            Mutation::Delete {
                path: vec!["session".into(), "turn_id".into()],
            },
            Mutation::Replace {
                path: vec!["input".into()],
                value: json!([1]),
            },
        ])
        .render_body(&base());
        let v: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert!(v.pointer("/session/turn_id").is_none());
        assert_eq!(v.pointer("/input"), Some(&json!([1])));
    }

    #[test]
    fn drawn_cases_render_without_panicking() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..300 {
            let c = draw_case(&mut rng, |e| {
                e.base_body(
                    "ses_01ARZ3NDEKTSV4RRFFQ69G5FAV",
                    0,
                    "trn_01ARZ3NDEKTSV4RRFFQ69G5FAV",
                )
            });
            let _ = c.render_body(&c.endpoint.base_body(
                "ses_01ARZ3NDEKTSV4RRFFQ69G5FAV",
                0,
                "trn_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            ));
            assert_eq!(c.describe().len(), c.mutations.len());
        }
    }
}
