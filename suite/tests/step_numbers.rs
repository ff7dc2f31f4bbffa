//! Steps are numbered from 1 everywhere: a failing vector's reason
//! (`step 3: ...`), the `step` of its transcript's exchanges in `report.json`,
//! and the transcripts in `report.html`, `report.md` and `junit.xml` name the
//! same step. Checked on a real failing run (the bundled Tool with a fault).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../src/bundled.rs"]
#[allow(dead_code)]
mod bundled;

use std::sync::Arc;
use std::time::Duration;

use oap_conform::client::ClientConfig;
use oap_conform::report::Status;
use oap_conform::run::{RunOptions, default_catalogue, execute, load_catalogue, prepare};
use oap_conform::target::{HttpTarget, Target};
use oap_conform::vector::{self, Binding};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasons_transcripts_and_report_files_name_the_same_step() {
    let set = vector::load(&vector::default_root()).unwrap();
    let faults = "write-closed-sessions".parse().unwrap();
    let tool = bundled::Bundled::start(faults).await.unwrap();
    let target: Arc<dyn Target> =
        Arc::new(HttpTarget::new(&tool.url, Some(Arc::clone(&tool.restart))).unwrap());
    let ctx = prepare(
        target,
        ClientConfig::default(),
        &set,
        Duration::from_secs(60),
        7,
    )
    .await
    .unwrap();
    let opts = RunOptions {
        bindings: vec![Binding::Oap],
        filter: Some("oap/lifecycle/013-".into()),
        jobs: 1,
        vector_timeout: Duration::from_secs(60),
    };
    let (catalogue, digest) = load_catalogue(&default_catalogue()).unwrap();
    let out = execute(ctx, &set, &catalogue, digest, &opts, None, None).await;
    tool.shutdown().await;

    let [v] = out.report.vectors.as_slice() else {
        panic!("one vector selected");
    };
    assert_eq!(v.status, Status::Fail, "{:?}", v.reason);
    let reason = v.reason.clone().unwrap();
    let n: usize = reason
        .strip_prefix("step ")
        .and_then(|r| r.split([':', ' ']).next())
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("reason names its step: {reason}"));
    let vector = set.find(&v.id).unwrap();
    assert!(
        (1..=vector.vector.steps.len()).contains(&n),
        "step {n} of {}",
        vector.vector.steps.len()
    );
    // The failing step sent the last request; every exchange is numbered from 1.
    let last = v.transcript.last().expect("a transcript");
    assert_eq!(last.step, n, "{reason}");
    assert!(v.transcript.iter().all(|e| (1..=n).contains(&e.step)));
    let first = v.transcript.first().unwrap();
    assert_eq!(first.step, 1, "the vector's first step is step 1");

    let dir = tempfile::tempdir().unwrap();
    let files = oap_conform::report::write_all(&out.report, dir.path(), None).unwrap();
    let text = |p: &std::path::Path| std::fs::read_to_string(p).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text(&files.report_json)).unwrap();
    let steps: Vec<u64> = json["vectors"][0]["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps.last().copied(), Some(n as u64));
    let html = text(&files.report_html);
    assert!(html.contains(&format!("step {n} ·")), "report.html");
    assert!(!html.contains("step 0 ·"), "report.html");
    let junit = text(&files.junit_xml);
    assert!(junit.contains(&format!("step {n}: ")), "junit.xml");
    assert!(!junit.contains("step 0:"), "junit.xml");
    let md = text(&files.report_md);
    assert!(md.contains(&format!("step {n}")), "report.md");
}
