//! The `oap-conform` binary as a CI gate sees it: exit codes, report files,
//! known failures and stale expectations, redaction of gateway headers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn oap_conform(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oap-conform"))
        .args(args)
        .env("GATEWAY_TOKEN", "s3cret-token-value")
        .output()
        .expect("the binary runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_filtered_run_against_the_bundled_tool_passes_and_writes_a_verifiable_report() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let o = oap_conform(&[
        "run",
        "--filter",
        "oap/manifest/",
        "--out",
        dir,
        "--header-env",
        "X-Gateway=GATEWAY_TOKEN",
        "--header",
        "X-Other: literal-secret",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    for f in ["report.json", "junit.xml", "report.md", "report.html"] {
        assert!(out.path().join(f).is_file(), "{f} written");
    }
    let report = std::fs::read_to_string(out.path().join("report.json")).unwrap();
    assert!(!report.contains("s3cret-token-value") && !report.contains("literal-secret"));
    let v = oap_conform(&["verify-report", &format!("{dir}/report.json")]);
    assert_eq!(code(&v), 0, "{}", text(&v));

    // Any edited byte fails verification.
    let edited = out.path().join("edited.json");
    std::fs::write(&edited, report.replacen("\"pass\"", "\"fail\"", 1)).unwrap();
    let v = oap_conform(&["verify-report", edited.to_str().unwrap()]);
    assert_eq!(code(&v), 1, "{}", text(&v));
}

#[test]
fn a_listed_vector_that_passes_is_stale_and_fails_the_gate() {
    let out = tempfile::tempdir().unwrap();
    let exp = out.path().join("expectations.json");
    std::fs::write(&exp, r#"{"oap.manifest.003": "pretend it fails"}"#).unwrap();
    let o = oap_conform(&[
        "run",
        "--filter",
        "oap/manifest/003",
        "--expectations",
        exp.to_str().unwrap(),
        "--out",
        out.path().join("r").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("stale expectation"), "{}", text(&o));
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    assert_eq!(code(&oap_conform(&["run", "--jobs", "many"])), 2);
    assert_eq!(code(&oap_conform(&["frobnicate"])), 2);
    let o = oap_conform(&["run", "--header", "no colon here", "--out", "/tmp/unused"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let o = oap_conform(&[
        "run",
        "--header-env",
        "X=OAP_CONFORM_UNSET_VAR",
        "--out",
        "/tmp/unused",
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let o = oap_conform(&["run", "--expectations", "/nonexistent/expectations.json"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
}

#[test]
fn an_unreachable_target_exits_3() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = tempfile::tempdir().unwrap();
    let o = oap_conform(&[
        "run",
        "--target",
        &format!("http://127.0.0.1:{port}"),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(!Path::new(&out.path().join("report.json")).exists());
}

#[test]
fn list_and_explain() {
    let o = oap_conform(&["list"]);
    assert_eq!(code(&o), 0);
    let listing = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(listing.lines().count() >= 150, "{listing}");
    assert!(listing.contains("oap/lifecycle/001-create.json\toap.lifecycle.001\tMUST\t"));
    let o = oap_conform(&["explain", "PRF-AUTH-8"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("oap.replay.001"));
    let o = oap_conform(&["explain", "oap.replay.001"]);
    assert_eq!(code(&o), 0);
    // A requirement's note (how it is tested) is part of the explanation.
    let o = oap_conform(&["explain", "PRF-DUR-2"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("note: Tested by the restart vectors"),
        "{}",
        text(&o)
    );
    assert_eq!(code(&oap_conform(&["explain", "NOPE-1"])), 2);
}

#[test]
fn stress_against_the_bundled_tool_passes_and_summarises() {
    let o = oap_conform(&["stress", "--clients", "4", "--ops", "200", "--seed", "1"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("ops/s") && t.contains("conflicts"), "{t}");
    assert!(t.contains("no violations"), "{t}");
}

#[test]
fn stress_catches_the_race_fault_and_exits_one_with_a_json_summary() {
    let o = oap_conform(&[
        "stress",
        "--fault",
        "unserialised-read-modify-write",
        "--clients",
        "8",
        "--ops",
        "200",
        "--seed",
        "2",
        "--json",
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["passed"], false);
    assert_eq!(summary["seed"], 2);
    let rules: Vec<&str> = summary["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["rule"].as_str())
        .collect();
    assert!(
        rules.contains(&"lost-update") || rules.contains(&"duplicate-version"),
        "{rules:?}"
    );
    assert!(summary["overlap"]["turn_pairs"].as_u64().unwrap() > 0);
}

#[test]
fn stress_exit_codes_for_usage_and_unreachable_targets() {
    let o = oap_conform(&["stress", "--clients", "1"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let o = oap_conform(&["stress", "--target", "not a url"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let o = oap_conform(&["stress", "--duration", "-1"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    // A loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = oap_conform(&["stress", "--target", &format!("http://127.0.0.1:{port}")]);
    assert_eq!(code(&o), 3, "{}", text(&o));
}

#[test]
fn list_shows_the_concurrency_scenarios_with_their_requirements() {
    let o = oap_conform(&["list", "--filter", "oap/concurrency/"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let t = text(&o);
    let line = t
        .lines()
        .find(|l| l.contains("oap.concurrency.016"))
        .unwrap_or_else(|| panic!("{t}"));
    assert!(
        line.contains("OAP-3.2-3") && line.contains("PRF-TURN-2"),
        "{line}"
    );
}

#[test]
fn a_caught_scenario_is_a_failed_vector_in_every_report_format() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let o = oap_conform(&[
        "run",
        "--fault",
        "double-version-bump",
        "--filter",
        "oap/concurrency/01[678]-*",
        "--seed",
        "3",
        "--out",
        dir,
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["seed"], 3);
    let failed: Vec<&serde_json::Value> = report["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["status"] == "fail")
        .collect();
    assert!(!failed.is_empty(), "{}", text(&o));
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(reason.contains("double-increment (PRF-TURN-2)"), "{reason}");
    assert!(
        reason.contains("--seed 3 --filter oap.concurrency.01"),
        "{reason}"
    );
    let id = failed[0]["id"].as_str().unwrap();
    // The report's concurrency member summarises every scenario that raced.
    let scenarios = report["concurrency"]["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 3, "{scenarios:?}");
    let caught = scenarios.iter().find(|s| s["vector"] == id).unwrap();
    assert_eq!(caught["passed"], false);
    assert_eq!(caught["run_seed"], 3);
    assert!(caught["violations"].as_u64().unwrap() > 0);
    assert!(caught["ops"].as_u64().unwrap() > 0);
    for f in ["junit.xml", "report.md", "report.html"] {
        let body = std::fs::read_to_string(out.path().join(f)).unwrap();
        assert!(body.contains(id), "{f} names {id}");
        assert!(
            body.contains("double-increment"),
            "{f} carries the evidence"
        );
    }
}
