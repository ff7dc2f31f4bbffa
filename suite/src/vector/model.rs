//! The vector model: what one file under `vectors/<binding>/<area>/` says.
//!
//! These types mirror `vectors/README.md` field by field, and
//! `vectors/schema/vector.schema.json` is their schema. A vector names the
//! requirements it checks, the capabilities it needs, the actors it uses and a
//! list of steps; each step is either a signed (or deliberately unsigned or
//! broken) HTTP request with its acceptable outcomes, or a built-in check the
//! runner performs itself (verify the receipt chain, compare state, wait for a
//! TTL, restart the Tool).
//!
//! Every field is plain data: templating (`${var}`) and matching happen in
//! [`super::template`] and [`super::matcher`], execution in [`crate::runner`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An optional JSON value whose explicit `null` is kept (`Some(Value::Null)`): with the
/// default reading of `Option`, `"equals": null` would read as no matcher at all, and a
/// vector asking for a `null` would accept any value. An absent member is `None` (`default`).
fn explicit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Header matchers are written without `path`, as the schema's `headerMatcher` has none (so a
/// serialised vector loads again).
fn header_matchers<S: serde::Serializer>(
    matchers: &BTreeMap<String, Matcher>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::{Error, SerializeMap};
    let mut map = s.serialize_map(Some(matchers.len()))?;
    for (name, m) in matchers {
        let mut v = serde_json::to_value(m).map_err(S::Error::custom)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("path");
        }
        map.serialize_entry(name, &v)?;
    }
    map.end()
}

/// One conformance vector, as read from its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    /// Stable identifier (`oap.concurrency.003`); never reused for another check.
    pub id: String,
    /// One line saying what the vector checks.
    pub title: String,
    /// Longer explanation: why the outcome is required, what a failure means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Requirement IDs (from `docs/requirements.json`) the vector checks.
    pub requirements: Vec<String>,
    /// The strongest level among those requirements.
    pub level: VectorLevel,
    /// The binding the vector speaks.
    pub binding: Binding,
    /// Capability gates: manifest paths (`sessions.supports_pause`) that must
    /// be `true` for the vector to apply. When one is not, the vector is
    /// not-applicable, never failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// Actor names; each gets a fresh did:key identity for every run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<String>,
    /// Time budget for the whole vector in milliseconds (default: the run's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Free-form labels (`positive`, `negative`, `slow`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The steps, run in order; the first step that fails ends the vector.
    pub steps: Vec<Step>,
}

/// RFC 2119 level of a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum VectorLevel {
    /// A failure fails the L4 verdict.
    Must,
    /// A failure is a warning.
    Should,
    /// A failure is informational.
    May,
}

/// The binding a vector speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Binding {
    /// RFC 0001 over `/oap/...`.
    Oap,
    /// RFC 004 over `/amp/session`.
    Amp,
}

impl Binding {
    /// The binding's name as used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Binding::Oap => "oap",
            Binding::Amp => "amp",
        }
    }
}

/// One step: a request or a built-in check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Step {
    /// A built-in check (has a `check` member).
    Check(Box<CheckStep>),
    /// An HTTP request.
    Request(Box<RequestStep>),
}

impl Step {
    /// The step's explicit name, if it has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Step::Check(c) => c.name.as_deref(),
            Step::Request(r) => r.name.as_deref(),
        }
    }
}

/// An HTTP request and what may come back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestStep {
    /// Name other steps use to refer to this one (`nonce_from`, `replay`);
    /// defaults to `step<N>` (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Human note shown in transcripts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Actor who signs the request (a template: `p${i}` in repeated steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Send without any signature headers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsigned: bool,
    /// HTTP method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path and query, a template (`/oap/session/${session_id}/update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// JSON body template; serialised compactly.
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub body: Option<Value>,
    /// Raw body text template, sent byte for byte (malformed JSON cases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_body: Option<String>,
    /// Raw body bytes in standard base64 (invalid UTF-8 cases); not templated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_body_base64: Option<String>,
    /// `Content-Type` to send and sign (default `application/json` with a body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Header overrides applied after signing: a value sets, `null` removes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Option<String>>,
    /// Deliberate deviations from correct signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign: Option<SignOptions>,
    /// Resend the exact bytes (method, URL, headers, body) of an earlier step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
    /// Run this step several times, with `${<var>}` bound to 0, 1, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
    /// Acceptable outcomes: one, or a list of which any one will do.
    pub expect: Expect,
    /// Variables to capture from the response body: name → JSON pointer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capture: BTreeMap<String, String>,
}

/// Deliberate deviations from a correct RFC 9421 signature.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignOptions {
    /// Seconds added to the current time for `created` (`-600` stale, `120` future).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_offset: Option<i64>,
    /// Literal nonce (a template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Reuse the nonce of an earlier step (by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce_from: Option<String>,
    /// Sign with this actor's key while `keyid` still names the request's actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Literal `keyid` parameter (a template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyid: Option<String>,
    /// Literal `alg` parameter; `null`-like `""` omits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Covered components, in order, instead of the required list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
    /// Signature label (default `sig1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// How to treat `Content-Digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<DigestMode>,
    /// Sign this `@target-uri` (a template) instead of the real one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_uri: Option<String>,
    /// Sign this `@method` instead of the real one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Damage the signature bytes after signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutate: Option<SignatureMutation>,
    /// Add a second, valid signature under another label.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}

/// Treatment of the `Content-Digest` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestMode {
    /// Correct digest (the default).
    Correct,
    /// No `Content-Digest` header (and not covered).
    Omit,
    /// A well-formed `sha-256` digest of other bytes, covered by a valid signature.
    Tamper,
    /// Only a `sha-512` member: no `sha-256` to check.
    Sha512Only,
}

/// Damage applied to a valid 64-byte Ed25519 signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureMutation {
    /// Replace S by S + L (non-canonical, verifies under a lax policy).
    SPlusL,
    /// Flip one bit of R.
    FlipBit,
    /// Drop the last byte.
    Truncate,
    /// All zero bytes.
    Zero,
    /// A forgery that passes a lax verifier for any message: `keyid` becomes
    /// the did:key of the identity point (small order) and the signature is
    /// R = identity, S = 0.
    SmallOrderKey,
}

/// How often a step runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// Count: an integer, or a template yielding one (`${manifest:/sessions/max_participants}`).
    pub times: Value,
    /// Added to the count (`-1`).
    #[serde(default)]
    pub adjust: i64,
    /// Index variable name (default `i`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub var: Option<String>,
    /// Highest count the suite will run; more makes the vector not-applicable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

/// One acceptable outcome or a list of alternatives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Expect {
    /// Exactly this outcome.
    One(Outcome),
    /// Any one of these outcomes.
    AnyOf(Vec<Outcome>),
}

impl Expect {
    /// The alternatives, in order.
    pub fn outcomes(&self) -> &[Outcome] {
        match self {
            Expect::One(o) => std::slice::from_ref(o),
            Expect::AnyOf(v) => v,
        }
    }
}

/// An acceptable response.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// Acceptable HTTP status codes.
    pub status: StatusSpec,
    /// Problem `code`; implies an RFC 9457 body (`application/problem+json`,
    /// `type` = `urn:oap:problem:<code>`, `status` = the HTTP status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Media type the response must carry (parameters ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// A file under `vectors/schema/` the body must validate against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Matchers on the JSON body.
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<Matcher>,
    /// Matchers on response headers: lower-case name → matcher (no `path`).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "header_matchers"
    )]
    pub headers: BTreeMap<String, Matcher>,
}

/// One status code or several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    /// Exactly this code.
    One(u16),
    /// Any of these codes.
    AnyOf(Vec<u16>),
}

impl Default for StatusSpec {
    fn default() -> Self {
        StatusSpec::One(200)
    }
}

impl StatusSpec {
    /// Whether `status` is acceptable.
    pub fn accepts(&self, status: u16) -> bool {
        match self {
            StatusSpec::One(s) => *s == status,
            StatusSpec::AnyOf(v) => v.contains(&status),
        }
    }

    /// The first acceptable code (for diffs).
    pub fn first(&self) -> u16 {
        match self {
            StatusSpec::One(s) => *s,
            StatusSpec::AnyOf(v) => v.first().copied().unwrap_or(0),
        }
    }
}

/// Predicates on one value of the response; every one given must hold.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// JSON pointer into the body (RFC 6901); `""` is the whole body.
    #[serde(default)]
    pub path: String,
    /// Equal to this JSON value (a template).
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub equals: Option<Value>,
    /// Not equal to this JSON value (a template).
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_equals: Option<Value>,
    /// `true`: present; `false`: absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// `true`: absent (same as `exists: false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<bool>,
    /// JSON type: `null`, `boolean`, `integer`, `number`, `string`, `array`, `object`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub json_type: Option<String>,
    /// A string matching this regular expression (unanchored; anchor with `^…$`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Equal to the value of this variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eq_var: Option<String>,
    /// Not equal to the value of this variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ne_var: Option<String>,
    /// A number greater than this (a number or a template).
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub gt: Option<Value>,
    /// A number greater than or equal to this.
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub gte: Option<Value>,
    /// A number less than this.
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub lt: Option<Value>,
    /// A number less than or equal to this.
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub lte: Option<Value>,
    /// An RFC 3339 time naming the same instant as this one (a template; fractional seconds
    /// and offsets compared as instants).
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub same_instant: Option<Value>,
    /// An RFC 3339 time at or after this one.
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_before: Option<Value>,
    /// An RFC 3339 time at or before this one.
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_after: Option<Value>,
    /// An array (or string, or object) of exactly this many elements.
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub length: Option<Value>,
    /// An array with an element that contains this value (objects: subset match).
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub contains: Option<Value>,
    /// An array with no element containing this value.
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_contains: Option<Value>,
}

/// A built-in check performed by the runner.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckStep {
    /// Which check.
    pub check: CheckKind,
    /// Step name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Human note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Actor who reads (`verify_chain`, `snapshot`, `state_unchanged_since`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Session id template (default `${session_id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// `snapshot`: the name to store it under.
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub save_as: Option<String>,
    /// `state_unchanged_since`: the snapshot to compare with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// `sleep_until`: RFC 3339 instant template (`${expires_at}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// `sleep_until`: extra wait after the instant; `sleep`: the wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<u64>,
    /// `verify_chain`: the number of receipts the log must hold (a template).
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub length: Option<Value>,
    /// `verify_chain`: the `action` of each receipt, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    /// `verify_chain`: page size for reading the log (default the Tool's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// `set`: variables to bind, name → template (credentials issued now, ids fixed now).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, Value>,
    /// `race`: the shape of the concurrent workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<crate::concurrency::Scenario>,
}

/// The built-in checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// Read the whole log (following `next`) and verify the receipt chain,
    /// hashes and the Tool's proofs; check it matches the current state.
    #[default]
    VerifyChain,
    /// Record the session's version, state digest and log length.
    Snapshot,
    /// Compare the session with a snapshot: nothing may have changed.
    StateUnchangedSince,
    /// Wait until an instant has passed (TTL expiry), plus `ms`.
    SleepUntil,
    /// Wait `ms` milliseconds.
    Sleep,
    /// Restart the Tool (not-applicable without a restart hook).
    Restart,
    /// Bind variables from templates, without talking to the Tool.
    Set,
    /// Race participants of fresh sessions concurrently, record every operation and check the
    /// history (a concurrency scenario).
    Race,
}

impl CheckKind {
    /// The check's name as written in vector files.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::VerifyChain => "verify_chain",
            CheckKind::Snapshot => "snapshot",
            CheckKind::StateUnchangedSince => "state_unchanged_since",
            CheckKind::SleepUntil => "sleep_until",
            CheckKind::Sleep => "sleep",
            CheckKind::Restart => "restart",
            CheckKind::Set => "set",
            CheckKind::Race => "race",
        }
    }
}

impl Vector {
    /// The name of step `index` (0-based): its `name`, else `step<N>` (1-based).
    pub fn step_name(&self, index: usize) -> String {
        self.steps
            .get(index)
            .and_then(Step::name)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("step{}", index + 1))
    }

    /// Whether any step restarts the Tool (such vectors run alone).
    pub fn restarts(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::Check(c) if c.check == CheckKind::Restart))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::vector::matcher::check_matcher;
    use crate::vector::template::{Scope, TemplateError};
    use serde_json::json;

    struct NoScope;
    impl Scope for NoScope {
        fn var(&self, _: &str) -> Option<Value> {
            None
        }
        fn call(&mut self, kind: &str, _: &str) -> Result<Value, TemplateError> {
            Err(TemplateError::UnknownFunction(kind.into()))
        }
    }

    /// `"equals": null` asks for a `null`: it once read as no matcher, so that any value
    /// passed (found by the `vector_file` fuzz target's round trip).
    #[test]
    fn an_explicit_null_operand_is_kept_and_checked() {
        let m: Matcher = serde_json::from_value(json!({ "path": "/a", "equals": null })).unwrap();
        assert_eq!(m.equals, Some(Value::Null));
        let absent: Matcher = serde_json::from_value(json!({ "path": "/a" })).unwrap();
        assert_eq!(absent.equals, None);
        let mut reasons = Vec::new();
        check_matcher(&m, "/a", Some(&json!(1)), &mut NoScope, &mut reasons);
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        reasons.clear();
        check_matcher(&m, "/a", Some(&Value::Null), &mut NoScope, &mut reasons);
        assert!(reasons.is_empty(), "{reasons:?}");
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({ "path": "/a", "equals": null })
        );
    }
}
