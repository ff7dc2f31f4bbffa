//! Properties of the suite's own parsers of untrusted bytes (`oap-conform`, built without its
//! `net` feature, so with no HTTP or TLS stack):
//!
//! * [`vector_file`]: a vector file through the loader `oap-conform run` uses
//!   ([`Loader::parse`]): never a panic; an accepted vector serialises and loads again as the
//!   same vector;
//! * [`tool_response`]: a Tool's answer (status, headers, body) judged against the expected
//!   outcomes of a real vector step ([`judge`]), and read by the concurrency recorders
//!   ([`answer`]): never a panic, never a pass or an outcome the answer does not bear out.
//!
//! A `tool_response` input is text: a first line naming the step (`VECTOR-ID STEP-INDEX`; any
//! other line picks a step by its bytes), a status line, header lines (`name: value`) up to an
//! empty line, then the body.

use std::sync::OnceLock;

use arbitrary::Unstructured;
use oap_conform::client::InResponse;
use oap_conform::concurrency::answer;
use oap_conform::concurrency::{Ret, Status};
use oap_conform::vector::matcher::{Actual, PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_PREFIX, judge};
use oap_conform::vector::template::{Scope, TemplateError, has_expression};
use oap_conform::vector::{
    Binding, Loader, Outcome, SchemaStore, StatusSpec, Step, Vector, default_root,
};
use serde_json::Value;

/// Largest body the runner reads (its default cap is far larger; inputs are at most 8 KiB).
const MAX_BODY: usize = 1 << 20;

/// The loader of `vectors/` (schemas read once).
pub fn loader() -> &'static Loader {
    static LOADER: OnceLock<Loader> = OnceLock::new();
    LOADER.get_or_init(|| {
        Loader::new(&default_root()).unwrap_or_else(|e| panic!("vector schema: {e}"))
    })
}

/// The file name a vector of `binding` is loaded under (the loader checks the directory).
pub fn file_name(binding: Binding) -> &'static str {
    match binding {
        Binding::Oap => "oap/fuzz/000-fuzz.json",
        Binding::Amp => "amp/fuzz/000-fuzz.json",
    }
}

/// `vector_file`: the first byte is a mode. Bit 1 set: the rest drives structural edits of a
/// real vector file ([`edited_vector`]); clear: the rest is the file itself, loaded under
/// `amp/` when bit 0 is set, else `oap/`. Loading never panics; an accepted vector,
/// serialised, loads again unchanged.
pub fn vector_file(data: &[u8]) {
    let Some((&first, file)) = data.split_first() else {
        return;
    };
    if first & 2 == 2 {
        vector_file_edited(file);
        return;
    }
    let binding = if first & 1 == 1 {
        Binding::Amp
    } else {
        Binding::Oap
    };
    load_round_trip(binding, file);
}

/// Loads `file` as a vector of `binding`; when accepted, checks the round trip.
pub fn load_round_trip(binding: Binding, file: &[u8]) -> Option<Vector> {
    let vector = loader().parse(file_name(binding), file).ok()?;
    assert_eq!(vector.binding, binding, "loaded under the wrong directory");
    let again = serde_json::to_vec(&vector)
        .unwrap_or_else(|e| panic!("an accepted vector does not serialise: {e}"));
    match loader().parse(file_name(binding), &again) {
        Ok(reloaded) => assert_eq!(
            reloaded, vector,
            "an accepted vector changed through serialisation"
        ),
        Err(e) => panic!(
            "an accepted vector, serialised, is refused: {e}\n{}",
            String::from_utf8_lossy(&again)
        ),
    }
    Some(vector)
}

/// One request step of a published vector: where it is and what it accepts.
#[derive(Debug)]
pub struct StepRef {
    /// The vector's id.
    pub vector: String,
    /// The step's index in the vector.
    pub index: usize,
    /// Its acceptable outcomes.
    pub outcomes: Vec<Outcome>,
}

/// Every request step of the suite's vectors, in vector then step order.
pub fn steps() -> &'static [StepRef] {
    static STEPS: OnceLock<Vec<StepRef>> = OnceLock::new();
    STEPS.get_or_init(|| {
        let set =
            oap_conform::vector::load(&default_root()).unwrap_or_else(|e| panic!("vectors: {e}"));
        let mut out = Vec::new();
        for v in &set.vectors {
            for (index, step) in v.vector.steps.iter().enumerate() {
                if let Step::Request(r) = step {
                    out.push(StepRef {
                        vector: v.vector.id.clone(),
                        index,
                        outcomes: r.expect.outcomes().to_vec(),
                    });
                }
            }
        }
        out
    })
}

/// The schemas under `vectors/schema/`.
pub fn schemas() -> &'static SchemaStore {
    static SCHEMAS: OnceLock<SchemaStore> = OnceLock::new();
    SCHEMAS.get_or_init(|| SchemaStore::new(default_root().join("schema")))
}

/// A scope in which every variable and every template function has a fixed value, named after
/// itself, so that the same step judges the same answer alike on every run.
#[derive(Debug, Default)]
pub struct FixedScope;

impl Scope for FixedScope {
    fn var(&self, name: &str) -> Option<Value> {
        Some(Value::String(format!("<{name}>")))
    }

    fn call(&mut self, kind: &str, argument: &str) -> Result<Value, TemplateError> {
        Ok(Value::String(format!("<{kind}:{argument}>")))
    }
}

/// A `tool_response` input, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseInput<'a> {
    /// The step named by the first line (or picked by its bytes).
    pub step: &'a str,
    /// The answer.
    pub response: InResponse,
}

/// Splits a `tool_response` input (see the module's documentation).
pub fn split_response(data: &[u8]) -> ResponseInput<'_> {
    let mut lines = data.splitn(3, |&b| b == b'\n');
    let step = std::str::from_utf8(lines.next().unwrap_or_default()).unwrap_or("");
    let status = std::str::from_utf8(lines.next().unwrap_or_default())
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok())
        .unwrap_or(200);
    let rest = lines.next().unwrap_or_default();
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None if rest.first() == Some(&b'\n') => (&rest[..0], &rest[1..]),
        None => (rest, &rest[rest.len()..]),
    };
    let headers = head
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let l = String::from_utf8_lossy(l);
            match l.split_once(':') {
                Some((n, v)) => (n.trim().to_ascii_lowercase(), v.trim().to_owned()),
                None => (l.trim().to_ascii_lowercase(), String::new()),
            }
        })
        .collect();
    ResponseInput {
        step,
        response: InResponse {
            status,
            headers,
            body: body.to_vec(),
        },
    }
}

/// The inverse of [`split_response`] (for seeds).
pub fn join_response(step: &str, resp: &InResponse) -> Vec<u8> {
    let mut out = format!("{step}\n{}\n", resp.status).into_bytes();
    for (n, v) in &resp.headers {
        out.extend(format!("{n}: {v}\n").bytes());
    }
    out.push(b'\n');
    out.extend(&resp.body);
    out
}

/// The step a first line names: `VECTOR-ID STEP-INDEX`, or else one picked by its bytes.
pub fn pick_step(line: &str) -> &'static StepRef {
    let all = steps();
    let named = line.split_once(' ').and_then(|(id, i)| {
        let i: usize = i.trim().parse().ok()?;
        all.iter().find(|s| s.vector == id && s.index == i)
    });
    named.unwrap_or_else(|| {
        let h = line.bytes().fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        &all[h % all.len().max(1)]
    })
}

/// `tool_response`: judging and reading a Tool's answer never panics, and what it concludes
/// the answer bears out.
pub fn tool_response(data: &[u8]) {
    let input = split_response(data);
    let step = pick_step(input.step);
    judge_response(&step.outcomes, &input.response);
    read_answers(&input.response);
}

/// Judges `resp` against `outcomes` as the runner does; an outcome said to be satisfied is
/// checked predicate by predicate where the predicate is cheap to restate.
pub fn judge_response(outcomes: &[Outcome], resp: &InResponse) -> Option<usize> {
    let (json, json_error) = match resp.strict_json(MAX_BODY) {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    let actual = Actual {
        status: resp.status,
        headers: &resp.headers,
        json: json.as_ref(),
        json_error: json_error.as_deref(),
    };
    match judge(outcomes, &actual, &mut FixedScope, schemas()) {
        Ok(i) => {
            let outcome = &outcomes[i];
            satisfied(outcome, resp, json.as_ref());
            Some(i)
        }
        Err(mismatch) => {
            assert!(!mismatch.reasons.is_empty(), "a mismatch without a reason");
            None
        }
    }
}

/// The media type of `content-type`, without parameters, lower case.
fn media_type(resp: &InResponse) -> Option<String> {
    resp.header("content-type").map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

/// JSON equality with integers compared exactly and other numbers as doubles.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let int = |n: &serde_json::Number| {
                n.as_i64()
                    .map(i128::from)
                    .or_else(|| n.as_u64().map(i128::from))
            };
            match (int(x), int(y)) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn literal(v: &Value) -> bool {
    match v {
        Value::String(s) => !has_expression(s),
        Value::Array(a) => a.iter().all(literal),
        Value::Object(m) => m.iter().all(|(k, v)| !has_expression(k) && literal(v)),
        _ => true,
    }
}

fn at<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        Some(doc)
    } else {
        doc.pointer(path)
    }
}

/// Restates the cheap predicates of an outcome the judge found satisfied.
fn satisfied(outcome: &Outcome, resp: &InResponse, json: Option<&Value>) {
    let accepted = match &outcome.status {
        StatusSpec::One(s) => *s == resp.status,
        StatusSpec::AnyOf(v) => v.contains(&resp.status),
    };
    assert!(accepted, "passed with status {}", resp.status);
    if let Some(want) = &outcome.content_type {
        assert_eq!(
            media_type(resp).as_deref(),
            Some(want.to_ascii_lowercase().as_str()),
            "passed with another content-type"
        );
    }
    if let Some(code) = &outcome.code {
        let body = json.unwrap_or_else(|| panic!("passed problem {code} without a JSON body"));
        assert_eq!(media_type(resp).as_deref(), Some(PROBLEM_MEDIA_TYPE));
        assert_eq!(
            body.get("code").and_then(Value::as_str),
            Some(code.as_str())
        );
        assert_eq!(
            body.get("type").and_then(Value::as_str),
            Some(format!("{PROBLEM_TYPE_PREFIX}{code}").as_str())
        );
        assert_eq!(
            body.get("status").and_then(Value::as_u64),
            Some(u64::from(resp.status))
        );
        assert!(body.get("title").is_some_and(Value::is_string));
    }
    if outcome.schema.is_some() || !outcome.matchers.is_empty() {
        assert!(json.is_some(), "passed body predicates without a JSON body");
    }
    for m in &outcome.matchers {
        let Some(body) = json else { break };
        let found = at(body, &m.path);
        if m.absent == Some(true) || m.exists == Some(false) {
            assert!(found.is_none(), "passed {}: absent, but present", m.path);
            continue;
        }
        let found = found.unwrap_or_else(|| panic!("passed {}: present, but absent", m.path));
        if let Some(want) = m.equals.as_ref().filter(|w| literal(w)) {
            assert!(same(found, want), "passed {}: {found} for {want}", m.path);
        }
        if let Some(t) = &m.json_type {
            let ok = match t.as_str() {
                "null" => found.is_null(),
                "boolean" => found.is_boolean(),
                "integer" => found.is_i64() || found.is_u64(),
                "number" => found.is_number(),
                "string" => found.is_string(),
                "array" => found.is_array(),
                "object" => found.is_object(),
                _ => false,
            };
            assert!(ok, "passed {}: {found} as a {t}", m.path);
        }
    }
    for (name, m) in &outcome.headers {
        let found = resp.header(name);
        if m.absent == Some(true) || m.exists == Some(false) {
            assert!(found.is_none(), "passed header {name}: absent, but present");
            continue;
        }
        let found = found.unwrap_or_else(|| panic!("passed header {name}: present, but absent"));
        if let Some(want) = m.equals.as_ref().filter(|w| literal(w)) {
            assert!(
                same(&Value::String(found.to_owned()), want),
                "passed header {name}: {found:?} for {want}"
            );
        }
    }
}

/// Reads `resp` as every kind of answer the concurrency recorders read; each outcome is
/// checked against the body it came from.
pub fn read_answers(resp: &InResponse) {
    let body: Option<Value> = serde_json::from_slice(&resp.body).ok();
    let get = |name: &str| body.as_ref().and_then(|b| b.get(name));
    let failure_ok = |ret: &Ret, amp: bool| match ret {
        Ret::Indeterminate { .. } => {}
        Ret::Refused { status, code } => {
            assert_eq!(*status, resp.status);
            assert!(
                (400..500).contains(&resp.status),
                "HTTP {} read as a refusal (only a 4xx is one)",
                resp.status
            );
            let member = if amp { "reason" } else { "code" };
            if !(resp.status == 409 && code == "version_conflict without current_version") {
                assert_eq!(
                    code.as_str(),
                    get(member).and_then(Value::as_str).unwrap_or(""),
                    "refusal code not the body's"
                );
            }
        }
        Ret::Conflict { current_version } if !amp => {
            assert_eq!(resp.status, 409);
            assert_eq!(
                get("code").and_then(Value::as_str),
                Some("version_conflict")
            );
            assert_eq!(
                get("current_version").and_then(Value::as_u64),
                Some(*current_version)
            );
        }
        Ret::DuplicateTurn if !amp => {
            assert_eq!(resp.status, 409);
            assert_eq!(get("code").and_then(Value::as_str), Some("duplicate_turn"));
        }
        other => panic!("HTTP {} read as {other:?}", resp.status),
    };
    let status_of = |v: Option<&Value>| v.and_then(Value::as_str).and_then(Status::parse);

    for keep in [true, false] {
        match answer::turn(resp, keep) {
            Ret::Turn(ok) => {
                assert_eq!(resp.status, 200);
                assert_eq!(
                    get("state_version").and_then(Value::as_u64),
                    Some(ok.version)
                );
                assert_eq!(ok.status, status_of(get("status")));
                assert_eq!(ok.state.is_some(), get("state").is_some());
                if let Some(r) = &ok.receipt {
                    let raw = get("receipt").unwrap_or(&Value::Null);
                    assert_eq!(
                        raw.get("state_version").and_then(Value::as_u64),
                        Some(r.version)
                    );
                    assert_eq!(
                        raw.get("receipt_hash").and_then(Value::as_str),
                        Some(&*r.receipt_hash)
                    );
                }
            }
            ret if resp.status == 200 => {
                assert!(ret.is_indeterminate(), "a 200 turn read as {ret:?}");
            }
            ret => failure_ok(&ret, false),
        }
        match answer::state(resp, keep) {
            Ret::State(read) => {
                assert_eq!(resp.status, 200);
                assert_eq!(
                    get("state_version").and_then(Value::as_u64),
                    Some(read.version)
                );
                assert_eq!(read.status, status_of(get("status")));
                assert!(get("state").is_some());
            }
            ret if resp.status == 200 => {
                assert!(ret.is_indeterminate(), "a 200 state read as {ret:?}");
            }
            ret => failure_ok(&ret, false),
        }
    }
    let (ret, raw) = answer::log_page(resp, 7);
    match ret {
        Ret::Log(page) => {
            assert_eq!(resp.status, 200);
            let receipts = get("receipts").and_then(Value::as_array);
            assert_eq!(receipts.map(Vec::len), Some(page.entries.len()));
            assert_eq!(raw.len(), page.entries.len());
            assert_eq!(page.from, 7);
            assert_eq!(page.complete, get("next") == Some(&Value::Null));
            for (e, r) in page.entries.iter().zip(&raw) {
                assert_eq!(
                    r.get("state_version").and_then(Value::as_u64),
                    Some(e.version)
                );
                assert_eq!(r.get("turn_id").and_then(Value::as_str), Some(&*e.turn_id));
            }
        }
        ret if resp.status == 200 => assert!(ret.is_indeterminate(), "a 200 log read as {ret:?}"),
        ret => {
            assert!(raw.is_empty());
            failure_ok(&ret, false);
        }
    }
    match answer::amp_ack(resp) {
        Ret::Ack { seq, duplicate } => {
            assert_eq!(resp.status, 200);
            assert_eq!(get("type").and_then(Value::as_str), Some("SESSION_ACK"));
            assert_eq!(get("seq").and_then(Value::as_u64), Some(seq));
            assert_eq!(duplicate, get("duplicate") == Some(&Value::Bool(true)));
        }
        ret if resp.status == 200 => assert!(ret.is_indeterminate(), "a 200 ack read as {ret:?}"),
        ret => failure_ok(&ret, true),
    }
    match answer::amp_state_ack(resp) {
        Ret::Ack { seq, .. } => {
            assert_eq!(resp.status, 200);
            assert_eq!(get("type").and_then(Value::as_str), Some("SESSION_ACK"));
            assert_eq!(get("seq").and_then(Value::as_u64), Some(seq));
        }
        Ret::Conflict { current_version } => {
            assert_eq!(resp.status, 409);
            assert_eq!(
                get("reason").and_then(Value::as_str),
                Some("version_conflict")
            );
            assert_eq!(
                get("current_seq").and_then(Value::as_u64),
                Some(current_version)
            );
        }
        ret if resp.status == 200 => {
            assert!(ret.is_indeterminate(), "a 200 state ack read as {ret:?}");
        }
        ret => failure_ok(&ret, true),
    }
    match answer::amp_history(resp) {
        Ret::History(entries) => {
            assert_eq!(resp.status, 200);
            let history = get("history").and_then(Value::as_array);
            assert_eq!(history.map(Vec::len), Some(entries.len()));
            for (e, h) in entries.iter().zip(history.into_iter().flatten()) {
                assert_eq!(h.get("seq").and_then(Value::as_u64), Some(e.seq));
                assert_eq!(h.get("from").and_then(Value::as_str), Some(&*e.from));
                assert_eq!(h.get("id").and_then(Value::as_str), Some(&*e.id));
            }
        }
        ret if resp.status == 200 => {
            assert!(ret.is_indeterminate(), "a 200 history read as {ret:?}");
        }
        ret => failure_ok(&ret, true),
    }
}

/// The suite's vector files, read once: `(path relative to vectors/, binding, content)`.
pub fn vector_files() -> &'static [(String, Binding, Value)] {
    static FILES: OnceLock<Vec<(String, Binding, Value)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let root = default_root();
        let set = oap_conform::vector::load(&root).unwrap_or_else(|e| panic!("vectors: {e}"));
        set.vectors
            .iter()
            .filter_map(|v| {
                let bytes = std::fs::read(root.join(&v.path)).ok()?;
                let value = serde_json::from_slice(&bytes).ok()?;
                Some((v.path.clone(), v.vector.binding, value))
            })
            .collect()
    })
}

/// Values an edit may put in place of a node.
fn replacement(u: &mut Unstructured<'_>, doc: &Value) -> arbitrary::Result<Value> {
    Ok(match u.int_in_range(0..=7)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => Value::from(u.int_in_range(0..=600u16)?),
        4 => Value::String(u.arbitrary()?),
        5 => {
            let words = [
                "${sid}",
                "${v+1}",
                "${did:alice}",
                "${",
                "$${x}",
                "${repeat:a:9}",
            ];
            Value::String((*u.choose(&words)?).to_owned())
        }
        6 => Value::Array(Vec::new()),
        _ => {
            let mut nodes = Vec::new();
            collect_nodes(doc, &mut nodes);
            (*u.choose(&nodes)?).clone()
        }
    })
}

fn collect_nodes<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(v);
    match v {
        Value::Array(a) => a.iter().for_each(|x| collect_nodes(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect_nodes(x, out)),
        _ => {}
    }
}

/// Applies one edit to the node numbered `target` in pre-order (`*seen` counts the nodes
/// passed): replace it, or, inside an object or array, delete or duplicate one of its members.
fn edit(v: &mut Value, target: usize, seen: &mut usize, with: &Value, op: u8) -> bool {
    if *seen == target {
        match (op, &mut *v) {
            (0, Value::Object(m)) if !m.is_empty() => {
                let key = m.keys().nth(target % m.len()).cloned().unwrap_or_default();
                m.remove(&key);
            }
            (0, Value::Array(a)) if !a.is_empty() => {
                a.remove(target % a.len());
            }
            (1, Value::Object(m)) => {
                let key = m
                    .keys()
                    .nth(target % m.len().max(1))
                    .cloned()
                    .unwrap_or_default();
                m.insert(format!("{key}_"), with.clone());
            }
            (1, Value::Array(a)) => a.push(with.clone()),
            _ => *v = with.clone(),
        }
        return true;
    }
    *seen += 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|x| edit(x, target, seen, with, op)),
        Value::Object(m) => m.values_mut().any(|x| edit(x, target, seen, with, op)),
        _ => false,
    }
}

/// A real vector file with up to eight structural edits, and its binding.
pub fn edited_vector(u: &mut Unstructured<'_>) -> arbitrary::Result<(Binding, Value)> {
    let (_, binding, original) = u.choose(vector_files())?;
    let mut doc = original.clone();
    for _ in 0..u.int_in_range(1..=8u8)? {
        let mut count = Vec::new();
        collect_nodes(&doc, &mut count);
        let n = count.len();
        let target = u.choose_index(n)?;
        let with = replacement(u, &doc)?;
        let op = u.int_in_range(0..=2u8)?;
        edit(&mut doc, target, &mut 0, &with, op);
    }
    Ok((*binding, doc))
}

/// `vector_file` on a structured input: a real vector file, edited, through the loader.
pub fn vector_file_edited(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok((binding, doc)) = edited_vector(&mut u) {
        let bytes = serde_json::to_vec(&doc).unwrap_or_default();
        load_round_trip(binding, &bytes);
    }
}
