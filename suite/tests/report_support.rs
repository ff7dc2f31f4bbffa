//! A synthetic run shared by the `report_*` tests: passes, failures with
//! transcripts (one of them from a hostile Tool trying to inject markup),
//! an error, a skip, not-applicable vectors, and a catalogue with a gap.
//!
//! Included by the other report tests with `#[path]`; compiled on its own it
//! holds no tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;

use oap_conform::report::{
    EnvironmentInfo, Exchange, Level, RequirementEntry, RunReport, Status, SuiteInfo, TargetInfo,
    Testable, VectorResult, Verdict, VerdictResult, apply_verdict,
};
use serde_json::json;

/// Markup a hostile Tool might put in a response to break out of a report.
pub const HOSTILE: &str = "</pre></td><script>alert('pwn')</script><img src=x onerror=alert(1)>]]>&amp;\"'`|*_[link](javascript:alert(1))\u{1}\u{7f}";

/// A requirement entry.
pub fn req(id: &str, level: Level, binding: &str, testable: Testable) -> RequirementEntry {
    RequirementEntry {
        id: id.to_owned(),
        source: "RFC 0001".to_owned(),
        section: Some("3.2".to_owned()),
        text: format!("text of {id}"),
        level,
        binding: binding.to_owned(),
        testable,
        note: None,
    }
}

/// A vector result without transcript.
pub fn vector(id: &str, binding: &str, reqs: &[&str], status: Status) -> VectorResult {
    VectorResult {
        id: id.to_owned(),
        path: format!("{binding}/envelope/{id}.json"),
        title: format!("title of {id}"),
        binding: binding.to_owned(),
        requirements: reqs.iter().map(|r| (*r).to_owned()).collect(),
        level: Level::Must,
        status,
        duration_ms: 12,
        reason: match status {
            Status::Pass => None,
            Status::Fail => Some("expected status 400, got 200".to_owned()),
            Status::Skip => Some("needs --restart-cmd".to_owned()),
            Status::NotApplicable => Some("manifest does not declare supports_pause".to_owned()),
            Status::Error => Some("timed out after 10 s".to_owned()),
        },
        expected_failure: None,
        transcript: Vec::new(),
    }
}

/// One exchange whose response is `body`.
pub fn exchange(step: usize, body: &str) -> Exchange {
    Exchange {
        step,
        method: "POST".to_owned(),
        url: "http://127.0.0.1:8080/oap/session/ses_01J0000000000000000000000A/update".to_owned(),
        request_headers: vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("authorization".to_owned(), "[redacted]".to_owned()),
        ],
        request_body: Some(r#"{"envelope_version":"1.0","action":"echo","input":{"it's":"quoted"}}"#.to_owned()),
        status: Some(200),
        response_headers: vec![("content-type".to_owned(), "text/html".to_owned())],
        response_body: Some(body.to_owned()),
        expected: Some(json!({"status": 400, "code": "malformed_envelope"})),
        diff: Some("-status: 400\n+status: 200\n".to_owned()),
        curl: "curl -sS -X POST 'http://127.0.0.1:8080/oap/session/ses_01J0000000000000000000000A/update' -H 'content-type: application/json' --data-raw '{\"envelope_version\":\"1.0\",\"action\":\"echo\",\"input\":{\"it'\\''s\":\"quoted\"}}'".to_owned(),
        note: Some("status 200 is not one of the acceptable outcomes".to_owned()),
    }
}

/// The catalogue of the sample run.
pub fn catalogue() -> Vec<RequirementEntry> {
    vec![
        req("OAP-3.2-1", Level::Must, "oap", Testable::Yes),
        req("OAP-3.2-2", Level::Must, "oap", Testable::Yes),
        req("OAP-3.4-1", Level::Should, "oap", Testable::Yes),
        req("OAP-5-1", Level::Must, "oap", Testable::Yes),
        req("OAP-6-1", Level::May, "oap", Testable::Yes),
        req("PRF-auth-1", Level::Must, "both", Testable::Yes),
        req(
            "PRF-store-1",
            Level::Must,
            "both",
            Testable::No("needs access to the Tool's store".to_owned()),
        ),
        req("AMP-4-1", Level::Must, "amp", Testable::Yes),
        req("AMP-4-2", Level::Must, "amp", Testable::Yes),
    ]
}

/// A run report with every status, judged against [`catalogue`].
pub fn sample_report() -> RunReport {
    let mut failing = vector("oap-envelope-002", "oap", &["OAP-3.2-2"], Status::Fail);
    failing.transcript = vec![exchange(1, "{\"ok\":true}"), exchange(2, HOSTILE)];
    failing.reason = Some(format!("step 2: expected status 400, got 200: {HOSTILE}"));
    let mut erroring = vector("oap-lifecycle-001", "oap", &["OAP-3.4-1"], Status::Error);
    erroring.level = Level::Should;
    let mut e = exchange(1, "");
    e.status = None;
    e.response_body = None;
    e.response_headers.clear();
    e.note = Some("no response within 10 s".to_owned());
    erroring.transcript = vec![e];
    let mut known = vector("amp-session-002", "amp", &["AMP-4-2"], Status::Fail);
    known.expected_failure = Some("tracked upstream".to_owned());
    known.transcript = vec![exchange(1, "{}")];
    let vectors = vec![
        vector(
            "oap-envelope-001",
            "oap",
            &["OAP-3.2-1", "PRF-auth-1"],
            Status::Pass,
        ),
        failing,
        vector("oap-envelope-003", "oap", &["OAP-3.2-1"], Status::Pass),
        erroring,
        vector("oap-pause-001", "oap", &["OAP-6-1"], Status::NotApplicable),
        vector("oap-durable-001", "oap", &["OAP-3.2-1"], Status::Skip),
        vector(
            "amp-session-001",
            "amp",
            &["AMP-4-1", "PRF-auth-1"],
            Status::Pass,
        ),
        known,
    ];
    let placeholder = Verdict {
        level: "L4".to_owned(),
        result: VerdictResult::Fail,
        reasons: vec!["not judged".to_owned()],
        warnings: Vec::new(),
    };
    let mut report = RunReport {
        suite: SuiteInfo {
            name: "oap-conform".to_owned(),
            version: "0.1.0".to_owned(),
            vectors_digest: "a".repeat(64),
            requirements_digest: "b".repeat(64),
        },
        target: TargetInfo {
            url: "http://127.0.0.1:8080".to_owned(),
            manifest: Some(
                json!({"oap_version": "1.1", "name": HOSTILE, "bindings": ["oap", "amp"]}),
            ),
            manifest_digest: Some("c".repeat(64)),
        },
        environment: EnvironmentInfo {
            os: "linux".to_owned(),
            arch: "x86_64".to_owned(),
            hostname: Some("ci-runner".to_owned()),
        },
        seed: 42,
        started_at: "2025-06-01T12:00:00Z".to_owned(),
        duration_ms: 4321,
        bindings: vec!["amp".to_owned(), "oap".to_owned()],
        vectors,
        requirements: Vec::new(),
        verdict: placeholder,
        verdicts_by_binding: BTreeMap::new(),
        fuzz: Some(json!({
            "target": "http://127.0.0.1:1", "seed": 7, "started_at": "2026-01-01T00:00:00Z",
            "duration_ms": 500, "workers": 4, "requests": 1000, "requests_per_second": 2000.0,
            "unsigned": 90, "must_reject": 700, "accepted": 80, "probes": 30,
            "statuses": {"400": 600, "401": 320, "200": 80}, "mutations": {"delete": 250},
            "findings": []
        })),
        concurrency: None,
        proof: None,
    };
    apply_verdict(&mut report, &catalogue());
    report
}

/// A report in which every applicable requirement passes.
pub fn passing_report() -> RunReport {
    let mut report = sample_report();
    report
        .vectors
        .retain(|v| v.status == Status::Pass || v.status == Status::NotApplicable);
    for v in &mut report.vectors {
        v.requirements.retain(|r| r != "OAP-3.2-2");
    }
    report.vectors.push(vector(
        "oap-envelope-004",
        "oap",
        &["OAP-3.2-2", "OAP-3.4-1", "OAP-5-1"],
        Status::Pass,
    ));
    report
        .vectors
        .push(vector("amp-session-003", "amp", &["AMP-4-2"], Status::Pass));
    apply_verdict(&mut report, &catalogue());
    report
}
