//! The committed seed corpus (`fuzz/seeds/<target>/`), generated here from the published
//! vectors (`external-vectors/`), the profile's examples (`docs/profile.md`) and the oracle
//! fixtures. `cargo test --manifest-path fuzz/Cargo.toml` fails when the committed files differ
//! from what this module generates (except the seeds taken from the suite's own `vectors/amp/`,
//! a snapshot that changes with the vectors); `OAP_FUZZ_BLESS=1` rewrites them.
//!
//! The structure-aware targets read their first byte as a mode (even: raw header values or a raw
//! document; odd: a generated case), so their raw seeds are real values prefixed by `\0`, and
//! their structured seeds are fixed pseudo-random bytes prefixed by `\x01`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oap_wire::{didkey, digest, httpsig};
use serde_json::{Value, json};

use crate::oracle::fixtures;

/// Seeds by target, then by file name.
pub type Seeds = BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>;

/// `external-vectors/` in this repository.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../external-vectors")
}

fn read(rel: &str) -> Result<Vec<u8>, String> {
    let p = vectors_dir().join(rel);
    std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))
}

fn read_json(rel: &str) -> Result<Value, String> {
    serde_json::from_slice(&read(rel)?).map_err(|e| format!("{rel}: {e}"))
}

/// Fixed pseudo-random bytes (xorshift64*), so structured seeds are reproducible.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_be_bytes()[0]
        })
        .collect()
}

fn strings_with(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.starts_with(prefix) && !out.contains(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings_with(i, prefix, out)),
        Value::Object(m) => m.values().for_each(|i| strings_with(i, prefix, out)),
        _ => {}
    }
}

/// The profile's example bodies (`docs/profile.md` §4 to §7), with real identifiers.
fn profile_examples() -> Vec<(&'static str, Value)> {
    let ses = fixtures::SESSIONS[0];
    let trn = "trn_01HZY3K7Q8W9X0ABCDEFGHJKMN";
    let did = fixtures::key(1).did;
    let admission = fixtures::credentials()[0].doc.clone();
    let revocation = fixtures::credentials()[1].doc.clone();
    let handoff = fixtures::credentials()[2].doc.clone();
    vec![
        (
            "envelope",
            json!({ "envelope_version": "1.0",
            "session": { "session_id": ses, "expected_version": 12, "turn_id": trn },
            "action": "echo", "input": {} }),
        ),
        (
            "create",
            json!({ "envelope_version": "1.0", "input": { "ttl_seconds": 3600,
            "scope": { "ccc": "internal", "clearance": "confidential" },
            "state": { "title": "t", "step": 0, "conformance": {} }, "turn_id": trn } }),
        ),
        (
            "join",
            json!({ "envelope_version": "1.0", "input": { "admission": admission } }),
        ),
        (
            "leave-revocation",
            json!({ "envelope_version": "1.0", "input": { "revocation": revocation } }),
        ),
        (
            "handoff",
            json!({ "envelope_version": "1.0", "input": { "handoff": handoff } }),
        ),
        (
            "update",
            json!({ "envelope_version": "1.0",
            "session": { "session_id": ses, "expected_version": 3, "turn_id": trn },
            "input": { "patch": { "title": null, "conformance": { "a": [1, 2.5, "x"] } } } }),
        ),
        (
            "invoke",
            json!({ "envelope_version": "1.0", "action": "echo", "input": { "x": 1 } }),
        ),
        (
            "data-delete",
            json!({ "envelope_version": "1.0", "input": { "session_id": ses } }),
        ),
        (
            "problem",
            json!({ "type": "urn:oap:problem:version_conflict", "title": "Version conflict",
            "status": 409, "detail": "expected 3, current 4", "code": "version_conflict",
            "current_version": 4 }),
        ),
        (
            "state",
            json!({ "session_id": ses, "state_version": 0, "status": "active", "convener": did,
            "participants": [{ "did": did, "role": "convener",
                "scope": { "ccc": "internal", "clearance": "confidential" } }],
            "ccc": "internal", "created_at": "2025-01-01T00:00:00Z",
            "expires_at": "2025-01-01T01:00:00Z", "state": {} }),
        ),
    ]
}

fn json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap_or_default()
}

/// Every seed, generated afresh.
pub fn generate() -> Result<Seeds, String> {
    let mut seeds = Seeds::new();
    let mut put = |target: &'static str, name: String, data: Vec<u8>| {
        seeds.entry(target).or_default().insert(name, data);
    };

    // strict_json: JCS test data, the W3C example, the profile's bodies, receipts, edge cases.
    let jcs_dir = vectors_dir().join("jcs-cyberphone/input");
    let mut jcs: Vec<_> = std::fs::read_dir(&jcs_dir)
        .map_err(|e| format!("{}: {e}", jcs_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    jcs.sort();
    for p in jcs {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let data = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        put("strict_json", format!("jcs-{name}"), data);
    }
    let rfc8785 = read_json("rfc8785/rfc8785-examples.json")?;
    for section in ["primitive_serialization_and_sorting", "property_sorting"] {
        if let Some(text) = rfc8785[section]["input_json_text"].as_str() {
            put(
                "strict_json",
                format!("rfc8785-{section}.json"),
                text.as_bytes().to_vec(),
            );
        }
    }
    let numbers: Vec<&str> = rfc8785["number_serialization"]["samples"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["expected_json"].as_str())
        .filter(|n| n.parse::<f64>().is_ok_and(f64::is_finite))
        // Integer literals beyond 2^53 make the strict parser refuse the whole array.
        .filter(|n| n.contains(['.', 'e']) || n.len() < 16)
        .collect();
    put(
        "strict_json",
        "rfc8785-number-samples.json".into(),
        format!("[{}]", numbers.join(",")).into_bytes(),
    );
    for file in ["signedJCS.json", "unsigned.json"] {
        put(
            "strict_json",
            format!("w3c-{file}"),
            read(&format!("vc-di-eddsa-jcs-2022/{file}"))?,
        );
    }
    for (name, v) in profile_examples() {
        put(
            "strict_json",
            format!("profile-{name}.json"),
            json_bytes(&v),
        );
    }
    for (i, r) in fixtures::chains()[0].receipts.iter().enumerate() {
        put("strict_json", format!("receipt-{i}.json"), json_bytes(r));
    }
    let edge: [(&str, String); 6] = [
        (
            "depth-64.json",
            format!("{}{}", "[".repeat(64), "]".repeat(64)),
        ),
        (
            "depth-65.json",
            format!("{}{}", "[".repeat(65), "]".repeat(65)),
        ),
        ("depth-10000.json", "{\"a\":".repeat(10_000)),
        (
            "duplicate-escaped.json",
            r#"{"input":{"a":1,"\u0061":2}}"#.into(),
        ),
        (
            "integers.json",
            "[9007199254740991,-9007199254740991,9007199254740992,1e300,-0,0.1]".into(),
        ),
        (
            "strings.json",
            r#"["\ud83d\ude00","\u2028","\/","\u0000","é"]"#.into(),
        ),
    ];
    for (name, text) in edge {
        put("strict_json", format!("edge-{name}"), text.into_bytes());
    }

    // envelope_structured, oap_ref_envelope, receipt_chain and engine_model: generated cases only.
    for i in 0..24u64 {
        for target in ["envelope_structured", "oap_ref_envelope"] {
            put(
                target,
                format!("noise-{i:02}"),
                noise(i, 64 + 24 * i as usize),
            );
        }
        put(
            "receipt_chain",
            format!("noise-{i:02}"),
            noise(100 + i, 8 + 4 * i as usize),
        );
        put(
            "engine_model",
            format!("noise-{i:02}"),
            noise(400 + i, 32 + 16 * i as usize),
        );
    }

    // httpsig_headers: RFC 9421 B.2.6 and B.4, requests signed the profile's way, noise.
    let rfc9421 = read_json("rfc9421/rfc9421-ed25519-vectors.json")?;
    for section in [
        "b_2_6_signing_a_request_using_ed25519",
        "b_4_transformations",
    ] {
        let s = &rfc9421[section];
        if let (Some(i), Some(sig)) = (
            s["signature_input_header"].as_str(),
            s["signature_header"].as_str(),
        ) {
            put(
                "httpsig_headers",
                format!("raw-rfc9421-{section}"),
                format!("\0{i}\n{sig}").into_bytes(),
            );
        }
    }
    for (i, (method, path, body)) in [
        (
            "POST",
            "/oap/session/create",
            Some(&b"{\"envelope_version\":\"1.0\",\"input\":{}}"[..]),
        ),
        (
            "GET",
            "/oap/session/ses_01HZY3K7Q8W9X0ABCDEFGHJKMN/log?from=0",
            None,
        ),
        ("POST", "/oap/invoke", Some(&b"{}"[..])),
    ]
    .into_iter()
    .enumerate()
    {
        let key = fixtures::signer(i as u8);
        let digest = body.map(digest::content_digest);
        let target = format!("http://localhost:8080{path}");
        let h = httpsig::sign(
            key,
            &httpsig::SignRequest {
                method,
                target_uri: &target,
                content_type: body.map(|_| "application/json"),
                content_digest: digest.as_deref(),
                created: 1_735_689_600,
                nonce: "AAAAAAAAAAAAAAAAAAAAAA",
                label: "sig1",
            },
        );
        put(
            "httpsig_headers",
            format!("raw-profile-{i}"),
            format!("\0{}\n{}", h.signature_input, h.signature).into_bytes(),
        );
    }
    for i in 0..16u64 {
        let mut data = vec![1];
        data.extend(noise(200 + i, 48 + 8 * i as usize));
        put("httpsig_headers", format!("noise-{i:02}"), data);
    }

    // credential_proof: every signed document the fixtures know, and noise.
    for (i, doc) in fixtures::known_documents().iter().enumerate() {
        let mut data = vec![0];
        data.extend(json_bytes(doc));
        put(
            "credential_proof",
            format!("raw-document-{i:02}.json"),
            data,
        );
    }
    for i in 0..16u64 {
        let mut data = vec![1];
        data.extend(noise(300 + i, 16 + 8 * i as usize));
        put("credential_proof", format!("noise-{i:02}"), data);
    }

    // oap_ref_amp_message: every message body the AMP vectors post, with their placeholders
    // filled in, and the raw bodies they send.
    for (name, data) in amp_bodies()? {
        put("oap_ref_amp_message", name, data);
    }

    // vector_file and tool_response: the suite's own vectors, and answers of every kind the
    // concurrency recorders read.
    for (name, data) in vector_file_seeds() {
        put("vector_file", name, data);
    }
    for (name, data) in tool_response_seeds() {
        put("tool_response", name, data);
    }

    // didkey: every did:key of the published examples, the fixtures' DIDs and methods.
    let mut dids = Vec::new();
    for file in [
        "did-key/did-key-spec-examples.json",
        "did-key/ed25519-x25519.json",
    ] {
        let v = read_json(file)?;
        strings_with(&v, "did:key:", &mut dids);
        strings_with(&v, "z6Mk", &mut dids);
    }
    for seed in 1..=4 {
        let did = fixtures::key(seed).did;
        dids.push(didkey::verification_method(&did));
        dids.push(did);
    }
    for (i, did) in dids.iter().enumerate() {
        put("didkey", format!("did-{i:02}"), did.clone().into_bytes());
    }

    // ids: the fixtures' identifiers and their near misses.
    for (i, id) in [
        fixtures::SESSIONS[0],
        fixtures::SESSIONS[1],
        "trn_01HZY3K7Q8W9X0ABCDEFGH1000",
        "ses_8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "ses_01hzy3k7q8w9x0abcdefghjkmn",
        "trn_01HZY3K7Q8W9X0ABCDEFGHJKMU",
        "ses_",
    ]
    .into_iter()
    .enumerate()
    {
        put("ids", format!("id-{i:02}"), id.as_bytes().to_vec());
    }

    // content_digest: RFC 9530's examples (header, line feed, body) and the profile's bodies.
    let rfc9530 = read_json("rfc9530/rfc9530-digest-examples.json")?;
    for case in rfc9530["cases"].as_array().into_iter().flatten() {
        if let (Some(id), Some(alg), Some(sf), Some(body)) = (
            case["id"].as_str(),
            case["algorithm"].as_str(),
            case["expected_sf_byte_sequence"].as_str(),
            case["input_utf8"].as_str(),
        ) {
            put(
                "content_digest",
                format!("rfc9530-{id}"),
                format!("{alg}={sf}\n{body}").into_bytes(),
            );
        }
    }
    for (name, v) in profile_examples().into_iter().take(3) {
        let body = serde_json::to_vec(&v).unwrap_or_default();
        let mut data = format!("sha-512=:AAAA:, {}\n", digest::content_digest(&body)).into_bytes();
        data.extend(body);
        put("content_digest", format!("profile-{name}"), data);
    }
    Ok(seeds)
}

/// The bodies `POST /amp/session` steps of `vectors/amp/` send, by `amp-<vector id>-<step>`:
/// `raw_body` as is, `body` with each `${...}` placeholder filled in (an actor's did:key from
/// the fixture keys, the session id from the fixtures, other expressions as `1`).
fn amp_bodies() -> Result<Vec<(String, Vec<u8>)>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/amp");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut actors: Vec<String> = Vec::new();
    let mut fill = |v: &Value| -> Value {
        fn walk(v: &Value, f: &mut dyn FnMut(&str) -> Value) -> Value {
            match v {
                Value::String(s) if s.starts_with("${") && s.ends_with('}') => f(s),
                Value::Array(a) => Value::Array(a.iter().map(|x| walk(x, f)).collect()),
                Value::Object(m) => {
                    Value::Object(m.iter().map(|(k, x)| (k.clone(), walk(x, f))).collect())
                }
                other => other.clone(),
            }
        }
        walk(v, &mut |s: &str| {
            let expr = &s[2..s.len() - 1];
            if let Some(name) = expr.strip_prefix("did:") {
                let i = actors.iter().position(|a| a == name).unwrap_or_else(|| {
                    actors.push(name.to_owned());
                    actors.len() - 1
                });
                Value::String(fixtures::key(10 + (i % 200) as u8).did.clone())
            } else if expr == "sid" || expr.starts_with("session_id") {
                Value::String(fixtures::SESSIONS[0].to_owned())
            } else {
                json!(1)
            }
        })
    };
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for file in files {
        let v: Value = serde_json::from_slice(
            &std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?,
        )
        .map_err(|e| format!("{}: {e}", file.display()))?;
        let id = v["id"].as_str().unwrap_or("vector").to_owned();
        for (i, step) in v["steps"].as_array().into_iter().flatten().enumerate() {
            if step["method"] != "POST" || step["path"] != "/amp/session" {
                continue;
            }
            let data = match (step.get("raw_body"), step.get("body")) {
                (Some(Value::String(raw)), _) => raw.as_bytes().to_vec(),
                (_, Some(body)) => json_bytes(&fill(body)),
                _ => continue,
            };
            if !out.iter().any(|(_, d)| *d == data) {
                out.push((format!("amp-{id}-{i:02}"), data));
            }
        }
    }
    Ok(out)
}

/// `vector_file` seeds: the first file (by path) of every area of `vectors/` that fits the
/// fuzzers' input cap, loaded under its own binding, and structured inputs (real files edited).
fn vector_file_seeds() -> Vec<(String, Vec<u8>)> {
    let root = oap_conform::vector::default_root();
    let mut out = Vec::new();
    let mut areas = Vec::new();
    for (path, binding, _) in crate::suite::vector_files() {
        let area: Vec<&str> = path.split('/').take(2).collect();
        if areas.contains(&area) {
            continue;
        }
        let Ok(bytes) = std::fs::read(root.join(path)) else {
            continue;
        };
        if bytes.len() >= 8000 {
            continue;
        }
        areas.push(area);
        let mut data = vec![u8::from(*binding == oap_conform::vector::Binding::Amp)];
        data.extend(bytes);
        out.push((format!("raw-{}", path.replace('/', "-")), data));
    }
    for i in 0..16u64 {
        let mut data = vec![2];
        data.extend(noise(500 + i, 16 + 8 * i as usize));
        out.push((format!("edited-{i:02}"), data));
    }
    out
}

/// `tool_response` seeds: for every request step of the suite's vectors, the answer its first
/// outcome pins (status, media type, the expected view of an empty body), one per distinct
/// answer; then answers of every kind the concurrency recorders read.
fn tool_response_seeds() -> Vec<(String, Vec<u8>)> {
    use oap_conform::client::InResponse;
    use oap_conform::vector::matcher::{Actual, PROBLEM_MEDIA_TYPE, expected_view};
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let empty = json!({});
    for step in crate::suite::steps() {
        let Some(outcome) = step.outcomes.first() else {
            continue;
        };
        let status = outcome.status.first();
        let media = match (&outcome.content_type, &outcome.code) {
            (Some(ct), _) => ct.clone(),
            (None, Some(_)) => PROBLEM_MEDIA_TYPE.to_owned(),
            (None, None) => "application/json".to_owned(),
        };
        let headers = vec![("content-type".to_owned(), media)];
        let actual = Actual {
            status,
            headers: &headers,
            json: Some(&empty),
            json_error: None,
        };
        let view = expected_view(outcome, &actual, &mut crate::suite::FixedScope);
        let resp = InResponse {
            status,
            headers,
            body: serde_json::to_vec(&view["body"]).unwrap_or_default(),
        };
        let key = crate::suite::join_response("", &resp);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let line = format!("{} {}", step.vector, step.index);
        out.push((
            format!("step-{}-{:02}", step.vector, step.index),
            crate::suite::join_response(&line, &resp),
        ));
    }
    let receipts = &fixtures::chains()[0].receipts;
    let last = receipts.last().cloned().unwrap_or_default();
    let state = profile_examples()
        .into_iter()
        .find(|(n, _)| *n == "state")
        .map(|(_, v)| v)
        .unwrap_or_default();
    let problem = |code: &str, status: u16, extra: Value| {
        let mut p = json!({ "type": format!("urn:oap:problem:{code}"), "title": code,
            "status": status, "code": code });
        if let (Some(p), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
            p.extend(extra.clone());
        }
        (status, PROBLEM_MEDIA_TYPE, p)
    };
    let answers: Vec<(&str, (u16, &str, Value))> = vec![
        (
            "turn",
            (
                200,
                "application/json",
                json!({ "session_id": fixtures::SESSIONS[0],
                "state_version": 3, "status": "active", "state": { "step": 3 },
                "receipt": last }),
            ),
        ),
        ("state", (200, "application/json", state)),
        (
            "log-complete",
            (
                200,
                "application/json",
                json!({ "receipts": receipts, "next": null }),
            ),
        ),
        (
            "log-next",
            (
                200,
                "application/json",
                json!({ "receipts": &receipts[..2], "next": 2 }),
            ),
        ),
        (
            "conflict",
            problem("version_conflict", 409, json!({ "current_version": 4 })),
        ),
        ("duplicate-turn", problem("duplicate_turn", 409, json!({}))),
        ("forbidden", problem("not_a_participant", 403, json!({}))),
        ("unavailable", problem("unavailable", 503, json!({}))),
        (
            "amp-ack",
            (
                200,
                "application/json",
                json!({ "type": "SESSION_ACK", "id": "m1",
                "session_id": fixtures::SESSIONS[0], "seq": 5, "duplicate": true }),
            ),
        ),
        (
            "amp-history",
            (
                200,
                "application/json",
                json!({ "session_id": fixtures::SESSIONS[0],
                "history": [
                    { "seq": 1, "from": fixtures::key(1).did, "id": "m1", "body": {} },
                    { "seq": 2, "from": fixtures::key(2).did, "id": "m2", "body": { "x": 1 } }
                ] }),
            ),
        ),
        (
            "amp-error",
            (
                401,
                "application/json",
                json!({ "type": "SESSION_ERROR", "code": 3001,
                "reason": "missing_signature" }),
            ),
        ),
    ];
    for (name, (status, media, body)) in answers {
        let resp = InResponse {
            status,
            headers: vec![("content-type".to_owned(), media.to_owned())],
            body: json_bytes(&body),
        };
        out.push((
            format!("answer-{name}"),
            crate::suite::join_response(&format!("answer {name}"), &resp),
        ));
    }
    out
}

/// `fuzz/seeds/`.
pub fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
}
