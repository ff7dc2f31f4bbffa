//! Judging one response against a step's acceptable outcomes.
//!
//! An [`Outcome`] is a status set, an optional problem `code`, an optional
//! media type and schema, and [`Matcher`]s on the JSON body and headers. A
//! response is acceptable when it satisfies every part of at least one
//! outcome. When none is satisfied the caller gets every mismatch of the
//! closest outcome, plus an *expected view*: the actual body with each value
//! the outcome pins (`equals`, `eq_var`, `code`, `absent`) put in place, so a
//! unified diff between the view and the actual body shows exactly what
//! differed and nothing else.
//!
//! Matcher operands are templates, expanded through the runner's [`Scope`].

use serde_json::Value;

use super::model::{Matcher, Outcome};
pub use super::pointer::{json_eq, pointer, remove_pointer, set_pointer, subset};
use super::template::{Scope, expand_value};

/// Problem bodies carry this `type` prefix before the code.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:oap:problem:";
/// Media type of problem bodies.
pub const PROBLEM_MEDIA_TYPE: &str = "application/problem+json";

/// The response being judged.
#[derive(Debug, Clone, Copy)]
pub struct Actual<'a> {
    /// HTTP status.
    pub status: u16,
    /// Response headers, names in any case.
    pub headers: &'a [(String, String)],
    /// The body parsed as JSON, if it parsed.
    pub json: Option<&'a Value>,
    /// Why the body did not parse, if it did not.
    pub json_error: Option<&'a str>,
}

impl Actual<'_> {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The media type without parameters, lower-cased.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }
}

/// Validates bodies against the schemas under `vectors/schema/`.
pub trait SchemaCheck {
    /// `Ok` when `instance` is valid against the named schema file.
    fn check(&self, schema: &str, instance: &Value) -> Result<(), String>;
}

/// Why no outcome matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Index of the closest outcome.
    pub outcome: usize,
    /// Every failed predicate of that outcome, one line each.
    pub reasons: Vec<String>,
    /// The expected view of the response (`{"status", "body"}`).
    pub expected: Value,
    /// The actual response in the same shape.
    pub actual: Value,
}

/// Judges a response: `Ok(index)` of the first satisfied outcome.
pub fn judge(
    outcomes: &[Outcome],
    actual: &Actual<'_>,
    scope: &mut dyn Scope,
    schemas: &dyn SchemaCheck,
) -> Result<usize, Mismatch> {
    let mut best: Option<(usize, Vec<String>, bool)> = None;
    for (i, outcome) in outcomes.iter().enumerate() {
        let reasons = check_outcome(outcome, actual, scope, schemas);
        if reasons.is_empty() {
            return Ok(i);
        }
        let status_ok = outcome.status.accepts(actual.status);
        let better = match &best {
            None => true,
            Some((_, r, s)) => (status_ok && !s) || (status_ok == *s && reasons.len() < r.len()),
        };
        if better {
            best = Some((i, reasons, status_ok));
        }
    }
    let (index, reasons, _) =
        best.unwrap_or((0, vec!["no acceptable outcome given".into()], false));
    let expected = outcomes
        .get(index)
        .map(|o| expected_view(o, actual, scope))
        .unwrap_or(Value::Null);
    Err(Mismatch {
        outcome: index,
        reasons,
        expected,
        actual: serde_json::json!({
            "status": actual.status,
            "body": actual.json.cloned().unwrap_or(Value::Null),
        }),
    })
}

/// Every failed predicate of one outcome (empty when it is satisfied).
pub fn check_outcome(
    outcome: &Outcome,
    actual: &Actual<'_>,
    scope: &mut dyn Scope,
    schemas: &dyn SchemaCheck,
) -> Vec<String> {
    let mut reasons = Vec::new();
    if !outcome.status.accepts(actual.status) {
        reasons.push(format!(
            "status: expected {}, got {}",
            status_text(outcome),
            actual.status
        ));
    }
    let needs_json =
        outcome.code.is_some() || outcome.schema.is_some() || !outcome.matchers.is_empty();
    let body = match (actual.json, needs_json) {
        (Some(b), _) => Some(b),
        (None, true) => {
            reasons.push(format!(
                "body: expected JSON, {}",
                actual.json_error.unwrap_or("got none")
            ));
            None
        }
        (None, false) => None,
    };
    if let Some(want) = &outcome.content_type {
        let got = actual.media_type();
        if got.as_deref() != Some(want.to_ascii_lowercase().as_str()) {
            reasons.push(format!(
                "content-type: expected {want}, got {}",
                got.unwrap_or_else(|| "none".into())
            ));
        }
    }
    if let (Some(code), Some(body)) = (&outcome.code, body) {
        check_problem(code, actual, body, &mut reasons);
    }
    if let (Some(schema), Some(body)) = (&outcome.schema, body)
        && let Err(e) = schemas.check(schema, body)
    {
        reasons.push(format!("schema {schema}: {e}"));
    }
    if let Some(body) = body {
        for m in &outcome.matchers {
            let found = pointer(body, &m.path);
            check_matcher(m, &m.path, found, scope, &mut reasons);
        }
    }
    for (name, m) in &outcome.headers {
        let found = actual.header(name).map(|v| Value::String(v.to_owned()));
        check_matcher(
            m,
            &format!("header {name}"),
            found.as_ref(),
            scope,
            &mut reasons,
        );
    }
    reasons
}

fn status_text(outcome: &Outcome) -> String {
    match &outcome.status {
        super::model::StatusSpec::One(s) => s.to_string(),
        super::model::StatusSpec::AnyOf(v) => {
            let list: Vec<String> = v.iter().map(u16::to_string).collect();
            format!("one of {}", list.join(", "))
        }
    }
}

/// RFC 9457 shape with the profile's `code` member.
fn check_problem(code: &str, actual: &Actual<'_>, body: &Value, reasons: &mut Vec<String>) {
    if actual.media_type().as_deref() != Some(PROBLEM_MEDIA_TYPE) {
        reasons.push(format!(
            "content-type: expected {PROBLEM_MEDIA_TYPE}, got {}",
            actual.media_type().unwrap_or_else(|| "none".into())
        ));
    }
    match body.get("code").and_then(Value::as_str) {
        Some(c) if c == code => {}
        Some(c) => reasons.push(format!("problem code: expected {code:?}, got {c:?}")),
        None => reasons.push(format!("problem code: expected {code:?}, got none")),
    }
    let want_type = format!("{PROBLEM_TYPE_PREFIX}{code}");
    if body.get("type").and_then(Value::as_str) != Some(want_type.as_str()) {
        reasons.push(format!(
            "problem type: expected {want_type:?}, got {}",
            short(body.get("type"))
        ));
    }
    if body.get("status").and_then(Value::as_u64) != Some(u64::from(actual.status)) {
        reasons.push(format!(
            "problem status: expected {}, got {}",
            actual.status,
            short(body.get("status"))
        ));
    }
    if !body.get("title").is_some_and(Value::is_string) {
        reasons.push("problem title: expected a string".into());
    }
}

/// Checks every predicate of one matcher against the value found (if any).
pub fn check_matcher(
    m: &Matcher,
    label: &str,
    found: Option<&Value>,
    scope: &mut dyn Scope,
    reasons: &mut Vec<String>,
) {
    let operand = |v: &Value, scope: &mut dyn Scope, reasons: &mut Vec<String>| match expand_value(
        v, scope,
    ) {
        Ok(v) => Some(v),
        Err(e) => {
            reasons.push(format!("{label}: {e}"));
            None
        }
    };
    let wants_absent = m.absent == Some(true) || m.exists == Some(false);
    if wants_absent {
        if let Some(v) = found {
            reasons.push(format!("{label}: expected absent, got {}", short(Some(v))));
        }
        return;
    }
    let Some(v) = found else {
        reasons.push(format!("{label}: expected present, got absent"));
        return;
    };
    let fail = |reasons: &mut Vec<String>, what: String| {
        reasons.push(format!("{label}: expected {what}, got {}", short(Some(v))))
    };
    if let Some(want) = m.equals.as_ref().and_then(|w| operand(w, scope, reasons))
        && !json_eq(v, &want)
    {
        fail(reasons, short(Some(&want)));
    }
    if let Some(want) = m
        .not_equals
        .as_ref()
        .and_then(|w| operand(w, scope, reasons))
        && json_eq(v, &want)
    {
        fail(reasons, format!("anything but {}", short(Some(&want))));
    }
    for (var, negate) in [(&m.eq_var, false), (&m.ne_var, true)] {
        if let Some(name) = var {
            match scope.var(name) {
                Some(want) if json_eq(v, &want) != negate => {}
                Some(want) => fail(
                    reasons,
                    format!(
                        "{}{} (${{{name}}})",
                        if negate { "not " } else { "" },
                        short(Some(&want))
                    ),
                ),
                None => reasons.push(format!("{label}: unknown variable `{name}`")),
            }
        }
    }
    if let Some(t) = &m.json_type
        && !has_type(v, t)
    {
        fail(reasons, format!("type {t}"));
    }
    if let Some(re) = &m.regex {
        let re = match crate::vector::template::expand_str(re, scope) {
            Ok(r) => r,
            Err(e) => {
                reasons.push(format!("{label}: regex: {e}"));
                return;
            }
        };
        match regex::Regex::new(&re) {
            Ok(compiled) if v.as_str().is_some_and(|s| compiled.is_match(s)) => {}
            Ok(_) => fail(reasons, format!("a string matching /{re}/")),
            Err(e) => reasons.push(format!("{label}: bad regex /{re}/: {e}")),
        }
    }
    type Cmp = fn(f64, f64) -> bool;
    let comparisons: [(&Option<Value>, &str, Cmp); 4] = [
        (&m.gt, ">", |a, b| a > b),
        (&m.gte, ">=", |a, b| a >= b),
        (&m.lt, "<", |a, b| a < b),
        (&m.lte, "<=", |a, b| a <= b),
    ];
    for (bound, op, cmp) in comparisons {
        if let Some(bound) = bound.as_ref().and_then(|b| operand(b, scope, reasons)) {
            match (v.as_f64(), bound.as_f64()) {
                (Some(a), Some(b)) if cmp(a, b) => {}
                (_, Some(b)) => fail(reasons, format!("a number {op} {b}")),
                (_, None) => reasons.push(format!("{label}: bound {bound} is not a number")),
            }
        }
    }
    type TimeCmp = fn(time::OffsetDateTime, time::OffsetDateTime) -> bool;
    let instants: [(&Option<Value>, &str, TimeCmp); 3] = [
        (&m.same_instant, "the same instant as", |a, b| a == b),
        (&m.not_before, "an instant not before", |a, b| a >= b),
        (&m.not_after, "an instant not after", |a, b| a <= b),
    ];
    for (bound, what, cmp) in instants {
        if let Some(bound) = bound.as_ref().and_then(|b| operand(b, scope, reasons)) {
            let parse = |v: &Value| {
                v.as_str()
                    .and_then(|s| oap_wire::time::parse_rfc3339(s).ok())
            };
            match (parse(v), parse(&bound)) {
                (Some(a), Some(b)) if cmp(a, b) => {}
                (_, Some(_)) => fail(reasons, format!("{what} {}", short(Some(&bound)))),
                (_, None) => reasons.push(format!("{label}: {bound} is not an RFC 3339 time")),
            }
        }
    }
    if let Some(len) = m.length.as_ref().and_then(|l| operand(l, scope, reasons)) {
        let got = match v {
            Value::Array(a) => Some(a.len()),
            Value::Object(o) => Some(o.len()),
            Value::String(s) => Some(s.chars().count()),
            _ => None,
        };
        if got.map(|g| g as u64) != len.as_u64() {
            fail(reasons, format!("length {len}"));
        }
    }
    for (pattern, negate) in [(&m.contains, false), (&m.not_contains, true)] {
        if let Some(p) = pattern.as_ref().and_then(|p| operand(p, scope, reasons)) {
            let hit = v
                .as_array()
                .is_some_and(|items| items.iter().any(|item| subset(item, &p)));
            if hit == negate {
                let word = if negate {
                    "no element like"
                } else {
                    "an element like"
                };
                fail(reasons, format!("{word} {}", short(Some(&p))));
            }
        }
    }
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

/// A short rendering of a value for messages (long values are cut).
pub fn short(v: Option<&Value>) -> String {
    let Some(v) = v else {
        return "absent".into();
    };
    let s = v.to_string();
    if s.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}… ({} bytes)", &s[..cut], s.len())
    } else {
        s
    }
}

/// The actual body with every pinned value of `outcome` put in place.
pub fn expected_view(outcome: &Outcome, actual: &Actual<'_>, scope: &mut dyn Scope) -> Value {
    let mut body = actual.json.cloned().unwrap_or(Value::Null);
    if let Some(code) = &outcome.code {
        set_pointer(&mut body, "/code", Value::String(code.clone()));
        set_pointer(
            &mut body,
            "/type",
            Value::String(format!("{PROBLEM_TYPE_PREFIX}{code}")),
        );
        set_pointer(&mut body, "/status", Value::from(outcome.status.first()));
    }
    for m in &outcome.matchers {
        if m.absent == Some(true) || m.exists == Some(false) {
            remove_pointer(&mut body, &m.path);
        }
        let pinned = match (&m.equals, &m.eq_var) {
            (Some(e), _) => expand_value(e, scope).ok(),
            (None, Some(name)) => scope.var(name),
            _ => None,
        };
        if let Some(v) = pinned {
            set_pointer(&mut body, &m.path, v);
        }
    }
    let status = if outcome.status.accepts(actual.status) {
        actual.status
    } else {
        outcome.status.first()
    };
    serde_json::json!({ "status": status, "body": body })
}
