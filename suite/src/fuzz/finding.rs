//! Findings: minimised, then written as a vector file and a `curl` line.
//!
//! Minimisation replays the case on fresh sessions: first each mutation is
//! dropped in turn, then each member of the valid body is deleted (parents
//! first), keeping every change under which the failure still shows. The
//! result becomes a vector for `vectors/oap/` (valid against
//! `vectors/schema/vector.schema.json`): a control create where the endpoint
//! needs a session, a snapshot, the fuzzed request expecting a 4xx, a check
//! that nothing changed, and a valid update that must still succeed.

use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::mutate::{Case, Endpoint, Mutation, member_paths};
use super::{Driver, RawFinding};
use crate::client::OutRequest;

/// Replays spent on minimising one finding, at most.
const MINIMISE_BUDGET: usize = 48;
/// The session id written into a vector's body where `${session_id}` goes.
const SESSION_MARK: &str = "ses_01ARZ3NDEKTSV4RRFFQ69G5FAV";
/// The turn id written into a vector's body where `${turn_id:new}` goes.
const TURN_MARK: &str = "trn_01ARZ3NDEKTSV4RRFFQ69G5FAV";
/// The 4xx statuses of the profile's problem table, accepted by a finding's vector.
const FOUR_XX: [u16; 11] = [400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 429];

/// What rule a finding breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A 5xx (or another status that is neither 2xx nor 4xx).
    ServerError,
    /// A dropped connection, a malformed answer or a timeout.
    Transport,
    /// A 2xx to a request the profile requires to be refused.
    AcceptedInvalid,
    /// A refused request changed `state_version` or the log.
    StateChanged,
    /// The session no longer takes a valid update.
    Unusable,
}

impl FindingKind {
    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::ServerError => "server_error",
            FindingKind::Transport => "transport",
            FindingKind::AcceptedInvalid => "accepted_invalid",
            FindingKind::StateChanged => "state_changed",
            FindingKind::Unusable => "unusable",
        }
    }
}

/// One minimised finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `fuzz-NNN`.
    pub id: String,
    /// The rule broken.
    pub kind: FindingKind,
    /// What the Tool did.
    pub detail: String,
    /// The endpoint of the request, when one request shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
    /// The mutations before minimisation.
    pub mutations: Vec<String>,
    /// The mutations left after minimisation.
    pub minimised: Vec<String>,
    /// Whether the minimised case showed the failure again on a fresh session.
    pub reproduced: bool,
    /// Requirement IDs the finding breaks.
    pub requirements: Vec<String>,
    /// A vector file reproducing it (ready for `vectors/oap/fuzz/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<Value>,
    /// Replays the exact request sent (its signature expires with the window).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curl: Option<String>,
    /// The exact body sent, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

/// Minimises a raw finding and turns it into a [`Finding`] numbered `n`.
pub async fn finish(driver: &Driver, raw: RawFinding, n: usize, seed: u64) -> Finding {
    let id = format!("fuzz-{n:03}");
    let requirements = requirements(raw.kind, raw.case.as_ref());
    let Some(case) = raw.case else {
        return Finding {
            id,
            kind: raw.kind,
            detail: raw.detail,
            endpoint: None,
            mutations: Vec::new(),
            minimised: Vec::new(),
            reproduced: false,
            requirements,
            vector: None,
            curl: None,
            body_base64: None,
        };
    };
    let (small, sent) = minimise(driver, &case, raw.kind).await;
    let reproduced = sent.is_some();
    let vector = to_vector(&small, raw.kind, n, seed, &raw.detail);
    let curl = sent.as_ref().map(|r| curl_line(r, &format!("{id}.body")));
    let body_base64 = sent
        .as_ref()
        .and_then(|r| r.body.as_ref())
        .map(|b| base64::engine::general_purpose::STANDARD.encode(b));
    Finding {
        id,
        kind: raw.kind,
        detail: raw.detail,
        endpoint: Some(case.endpoint),
        mutations: case.describe(),
        minimised: small.describe(),
        reproduced,
        requirements: requirements_for(raw.kind, &small),
        vector: Some(vector),
        curl,
        body_base64,
    }
}

/// Drops mutations, then deletes body members, while the failure persists.
/// Returns the smallest case and the request that last showed the failure.
pub async fn minimise(
    driver: &Driver,
    case: &Case,
    kind: FindingKind,
) -> (Case, Option<OutRequest>) {
    let Some(mut sent) = driver.reproduce(case, kind).await else {
        return (case.clone(), None);
    };
    let mut best = case.clone();
    let mut budget = MINIMISE_BUDGET;
    let mut i = 0;
    while i < best.mutations.len() && budget > 0 {
        let mut trial = best.clone();
        trial.mutations.remove(i);
        budget -= 1;
        match driver.reproduce(&trial, kind).await {
            Some(req) => {
                best = trial;
                sent = req;
            }
            None => i += 1,
        }
    }
    let base = best.endpoint.base_body(SESSION_MARK, 0, TURN_MARK);
    for path in member_paths(&base) {
        if budget == 0 {
            break;
        }
        let deleted_above = best
            .mutations
            .iter()
            .any(|m| matches!(m, Mutation::Delete { path: p } if path.starts_with(p)));
        if deleted_above {
            continue;
        }
        let mut trial = best.clone();
        trial.mutations.insert(0, Mutation::Delete { path });
        budget -= 1;
        if let Some(req) = driver.reproduce(&trial, kind).await {
            best = trial;
            sent = req;
        }
    }
    (best, Some(sent))
}

fn requirements(kind: FindingKind, case: Option<&Case>) -> Vec<String> {
    match case {
        Some(c) => requirements_for(kind, c),
        None => vec!["PRF-ENV-9".to_owned()],
    }
}

/// The requirements a finding of `kind` on `case` breaks.
pub fn requirements_for(kind: FindingKind, case: &Case) -> Vec<String> {
    let ids: &[&str] = match kind {
        FindingKind::ServerError | FindingKind::Transport => &["PRF-ENV-9", "PRF-ERR-3"],
        FindingKind::StateChanged => &["PRF-ENV-9", "PRF-AUTH-10"],
        FindingKind::Unusable => &["PRF-ENV-9"],
        FindingKind::AcceptedInvalid => {
            let mut ids = Vec::new();
            for m in &case.mutations {
                ids.push(match m {
                    Mutation::Unsigned => "PRF-AUTH-4",
                    Mutation::DropHeader { name } if name.starts_with("Signature") => "PRF-AUTH-4",
                    Mutation::DropHeader { name } if name == "Content-Digest" => "PRF-AUTH-6",
                    Mutation::Sign { options } if options.created_offset.is_some() => "PRF-AUTH-7",
                    Mutation::Sign { options } if options.digest.is_some() => "PRF-AUTH-6",
                    Mutation::Sign { .. } => "PRF-AUTH-5",
                    Mutation::ContentType { .. } | Mutation::DropHeader { .. } => "PRF-ENV-8",
                    Mutation::Pad { .. } => "PRF-ENV-7",
                    Mutation::PathId { .. } => "PRF-ENV-3",
                    _ => "PRF-ENV-6",
                });
            }
            ids.sort_unstable();
            ids.dedup();
            return ids.into_iter().map(str::to_owned).collect();
        }
    };
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// The vector file reproducing a finding.
pub fn to_vector(case: &Case, kind: FindingKind, n: usize, seed: u64, detail: &str) -> Value {
    let described = case.describe().join("; ");
    let mut steps = Vec::new();
    let needs_session = case.endpoint.is_session_write();
    steps.push(json!({
        "name": "control",
        "actor": "convener",
        "method": "POST",
        "path": "/oap/session/create",
        "body": Endpoint::Create.base_body("", 0, ""),
        "expect": { "status": 201 },
        "capture": { "session_id": "/session_id" }
    }));
    steps.push(json!({ "check": "snapshot", "actor": "convener", "as": "before" }));
    let mut step = Map::new();
    step.insert("name".into(), json!("fuzzed"));
    step.insert("note".into(), json!(format!("mutations: {described}")));
    if case.unsigned() {
        step.insert("unsigned".into(), json!(true));
    } else {
        step.insert("actor".into(), json!("convener"));
    }
    step.insert("method".into(), json!("POST"));
    let path = case.endpoint.path(case.path_id("${session_id}"));
    step.insert("path".into(), json!(path));
    let body = case.render_body(&case.endpoint.base_body(SESSION_MARK, 0, TURN_MARK));
    match String::from_utf8(body) {
        Ok(text) => {
            let text = compress_runs(&text.replace("${", "$${"))
                .replace(SESSION_MARK, "${session_id}")
                .replace(TURN_MARK, "${turn_id:new}");
            step.insert("raw_body".into(), json!(text));
        }
        Err(e) => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(e.as_bytes());
            step.insert("raw_body_base64".into(), json!(b64));
        }
    }
    let ct = case.content_type();
    if ct != crate::actors::signer::JSON {
        step.insert("content_type".into(), json!(ct));
    }
    let opts = case.sign_options();
    if opts != Default::default()
        && !case.unsigned()
        && let Ok(v) = serde_json::to_value(&opts)
    {
        step.insert("sign".into(), v);
    }
    let dropped: Map<String, Value> = case
        .dropped_headers()
        .map(|h| (h.to_owned(), Value::Null))
        .collect();
    if !dropped.is_empty() {
        step.insert("headers".into(), Value::Object(dropped));
    }
    step.insert("expect".into(), json!({ "status": FOUR_XX }));
    steps.push(Value::Object(step));
    steps.push(
        json!({ "check": "state_unchanged_since", "actor": "convener", "snapshot": "before" }),
    );
    if needs_session || kind == FindingKind::Unusable {
        steps.push(json!({
            "name": "still_usable",
            "actor": "convener",
            "method": "POST",
            "path": "/oap/session/${session_id}/update",
            "body": {
                "envelope_version": "1.0",
                "session": { "session_id": "${session_id}", "expected_version": 0, "turn_id": "${turn_id:new}" },
                "input": { "patch": { "conformance": { "k": "v" } } }
            },
            "expect": { "status": 200, "match": [ { "path": "/state_version", "equals": 1 } ] }
        }));
    }
    let title = match kind {
        FindingKind::ServerError => "A mutated request is answered 4xx, never 5xx",
        FindingKind::Transport => {
            "A mutated request is answered 4xx, never by a dropped connection or silence"
        }
        FindingKind::AcceptedInvalid => {
            "A request the profile requires to be refused is answered 4xx"
        }
        FindingKind::StateChanged => {
            "A refused mutated request changes neither state_version nor the log"
        }
        FindingKind::Unusable => "A session stays usable after a refused mutated request",
    };
    let mut tags = vec!["fuzz", "negative"];
    tags.push(kind.as_str());
    json!({
        "id": format!("oap.fuzz.{:03}", n % 1000),
        "title": title,
        "description": format!(
            "Found by `oap-conform fuzz --seed {seed}` ({detail}). Mutations of a valid {} request: {described}.",
            endpoint_name(case.endpoint)
        ),
        "requirements": requirements_for(kind, case),
        "level": "MUST",
        "binding": "oap",
        "actors": ["convener"],
        "tags": tags,
        "steps": steps,
    })
}

fn endpoint_name(e: Endpoint) -> &'static str {
    match e {
        Endpoint::Create => "create",
        Endpoint::Update => "update",
        Endpoint::Invoke => "invoke",
    }
}

/// Writes runs of more than 64 equal characters (`aaaa…`, `[[[[…`) as
/// `${repeat:C:N}`, for the characters a repeat template can hold.
fn compress_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(1 << 16));
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut j = i;
        while j < chars.len() && chars[j] == c {
            j += 1;
        }
        let run = j - i;
        if run > 64 && (c.is_ascii_alphanumeric() || c == '[' || c == ']') {
            out.push_str(&format!("${{repeat:{c}:{run}}}"));
        } else {
            out.extend(&chars[i..j]);
        }
        i = j;
    }
    out
}

/// A `curl` command replaying `req` with its body read from `body_file`.
pub fn curl_line(req: &OutRequest, body_file: &str) -> String {
    let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = format!("curl -sS -i -X {} {}", req.method, q(&req.url));
    for (n, v) in &req.headers {
        line.push_str(&format!(" -H {}", q(&format!("{n}: {v}"))));
    }
    if req.body.is_some() {
        line.push_str(&format!(" --data-binary @{}", q(body_file)));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_compressed_and_short_text_is_kept() {
        assert_eq!(compress_runs("ab"), "ab");
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(compress_runs(&deep), "${repeat:[:100}1${repeat:]:100}");
        assert_eq!(compress_runs(&"$".repeat(70)), "$".repeat(70));
    }

    #[test]
    fn curl_quotes_single_quotes() {
        let req = OutRequest {
            method: "POST".into(),
            url: "http://127.0.0.1:1/x".into(),
            headers: vec![("A".into(), "it's".into())],
            body: Some(b"{}".to_vec()),
        };
        assert_eq!(
            curl_line(&req, "b.body"),
            r"curl -sS -i -X POST 'http://127.0.0.1:1/x' -H 'A: it'\''s' --data-binary @'b.body'"
        );
    }
}
