//! `oap-conform fuzz` against the bundled reference Tool, in process: the correct Tool gives no
//! finding over a bounded request count, and each bad-input fault switch is found, minimised and
//! written as a vector that fails against the broken Tool and passes against the correct one.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use oap_conform::client::{ClientConfig, HttpClient};
use oap_conform::fuzz::{Driver, FindingKind, FuzzOptions, FuzzReport, fuzz, report};
use oap_conform::report::Status;
use oap_conform::target::HttpTarget;
use oap_conform::vector::{LoadedVector, SchemaStore, Vector, VectorSet, default_root};
use oap_ref::{Config, Fault, FaultSet, Running};

struct Tool {
    running: Running,
    _dir: tempfile::TempDir,
}

async fn start(faults: FaultSet) -> Tool {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        faults,
        ..Config::default()
    };
    Tool {
        running: oap_ref::serve(config).await.unwrap(),
        _dir: dir,
    }
}

fn client() -> HttpClient {
    HttpClient::new(ClientConfig {
        request_timeout: Duration::from_secs(30),
        ..ClientConfig::default()
    })
    .unwrap()
}

async fn fuzz_tool(tool: &Tool, requests: u64, seed: u64, max_findings: usize) -> FuzzReport {
    let driver = Driver::new(client(), &tool.running.url);
    let opts = FuzzOptions {
        requests: Some(requests),
        seed,
        workers: 8,
        max_findings,
        ..FuzzOptions::default()
    };
    fuzz(&driver, &opts).await.unwrap()
}

/// Runs one vector file (as a JSON value) against the Tool at `url`.
async fn run_vector(url: &str, vector: &serde_json::Value) -> Status {
    let set = VectorSet {
        root: default_root(),
        vectors: Vec::new(),
        digest: String::new(),
    };
    let target = Arc::new(HttpTarget::new(url, None).unwrap());
    let ctx = oap_conform::run::prepare(
        target,
        ClientConfig::default(),
        &set,
        Duration::from_secs(60),
        0,
    )
    .await
    .unwrap();
    let v: Vector = serde_json::from_value(vector.clone()).unwrap();
    let loaded = LoadedVector {
        path: "oap/fuzz/001-finding.json".into(),
        vector: v,
    };
    let run = oap_conform::runner::run_vector(&ctx, &loaded).await;
    eprintln!("{}: {:?} {:?}", loaded.path, run.status, run.reason);
    run.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_tool_gives_no_finding() {
    let tool = start(FaultSet::none()).await;
    let r = fuzz_tool(&tool, 1_200, 11, 20).await;
    tool.running.shutdown().await;
    eprintln!("{}", report::to_markdown(&r));
    assert!(r.passed(), "{:#?}", r.findings);
    assert!(r.requests >= 1_200, "{}", r.requests);
    assert!(r.must_reject > 300 && r.accepted > 20 && r.unsigned > 20);
    assert!(r.probes >= 8, "{}", r.probes);
    for kind in [
        "delete",
        "replace",
        "raw_number",
        "nest",
        "duplicate_member",
        "invalid_utf8",
    ] {
        assert!(r.mutations.get(kind).is_some_and(|n| *n > 0), "{kind}");
    }
    for kind in [
        "oversize",
        "truncate",
        "signature",
        "drop_header",
        "content_type",
        "unsigned",
    ] {
        assert!(r.mutations.get(kind).is_some_and(|n| *n > 0), "{kind}");
    }
    // Every answer is a 2xx or a 4xx; `closed_oversized` is the fuzzer's name for a
    // body over the limit refused by closing the connection (413 and close), which
    // the run counts as a refusal, not a finding.
    assert!(
        r.statuses
            .keys()
            .all(|s| s.starts_with('2') || s.starts_with('4') || s == "closed_oversized"),
        "{:?}",
        r.statuses
    );
}

/// Fuzzes the Tool with `fault` on until the first finding, checks its kind, and checks that its
/// vector is valid, fails against the broken Tool and passes against the correct one.
async fn found(fault: Fault, kind: FindingKind, seed: u64) {
    let tool = start(FaultSet::one(fault)).await;
    let r = fuzz_tool(&tool, 3_000, seed, 1).await;
    eprintln!("{fault}: {}", report::to_markdown(&r));
    let f = r
        .findings
        .first()
        .unwrap_or_else(|| panic!("{fault} not found in {} requests", r.requests));
    assert_eq!(f.kind, kind, "{fault}: {f:#?}");
    assert!(f.reproduced, "{fault}: {f:#?}");
    assert!(!f.minimised.is_empty() && f.minimised.len() <= f.mutations.len() + 8);
    assert!(f.curl.as_ref().is_some_and(|c| c.starts_with("curl ")));
    let vector = f.vector.clone().unwrap();
    let schemas = SchemaStore::new(default_root().join("schema"));
    let violations = schemas
        .violations("vector.schema.json", &vector, 10)
        .unwrap();
    assert!(violations.is_empty(), "{violations:?}\n{vector:#}");
    let on_broken = run_vector(&tool.running.url, &vector).await;
    tool.running.shutdown().await;
    assert!(
        on_broken.is_failure(),
        "{fault}: the vector passes on the broken Tool\n{vector:#}"
    );
    let clean = start(FaultSet::none()).await;
    let on_clean = run_vector(&clean.running.url, &vector).await;
    clean.running.shutdown().await;
    assert_eq!(
        on_clean,
        Status::Pass,
        "{fault}: the vector fails on the correct Tool\n{vector:#}"
    );

    let dir = tempfile::tempdir().unwrap();
    let written = report::write(&r, dir.path()).unwrap();
    assert_eq!(written.vectors.len(), 1);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&written.json).unwrap()).unwrap();
    assert_eq!(json["findings"][0]["kind"], kind.as_str());
    assert_fits_report_schema(&json);
}

/// `fuzz.json` is the `fuzz` member of `report.json` (`$defs/fuzz` of its schema).
fn assert_fits_report_schema(fuzz_json: &serde_json::Value) {
    let text = std::fs::read_to_string(default_root().join("schema/report.schema.json")).unwrap();
    let mut schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let defs = schema["$defs"].take();
    let sub = serde_json::json!({ "$defs": defs, "$ref": "#/$defs/fuzz" });
    let validator = jsonschema::draft202012::new(&sub).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(fuzz_json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parser_500_on_deep_nesting_is_found() {
    found(Fault::Parser500OnDeepNesting, FindingKind::ServerError, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parser_500_on_big_numbers_is_found() {
    found(Fault::Parser500OnBigNumbers, FindingKind::ServerError, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_content_digest_check_is_found() {
    found(
        Fault::SkipContentDigestCheck,
        FindingKind::AcceptedInvalid,
        3,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_created_is_found() {
    found(Fault::AcceptStaleCreated, FindingKind::AcceptedInvalid, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_canonical_signatures_are_found() {
    found(
        Fault::AcceptNonCanonicalSignatures,
        FindingKind::AcceptedInvalid,
        5,
    )
    .await;
}

/// How [`proxy`] breaks the connections it relays.
#[derive(Clone, Copy, Debug)]
enum Breaks {
    /// Closes a connection, unanswered, when a second request arrives on it: what a client sees
    /// when a Tool closes a kept-alive connection just as the next request is written on it.
    SecondRequest,
    /// Resets every connection on which an update request arrives: a Tool that really drops
    /// requests.
    Updates,
}

/// A TCP proxy to `upstream` that breaks connections as `breaks` says; returns its base URL.
async fn proxy(upstream: &str, breaks: Breaks) -> String {
    use tokio::net::TcpListener;
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(relay(client, upstream.clone(), breaks));
        }
    });
    format!("http://{addr}")
}

async fn relay(mut client: tokio::net::TcpStream, upstream: String, breaks: Breaks) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
        return;
    };
    let (mut up, mut down) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    // The client writes a request only once the previous answer is in (no pipelining), so its
    // first bytes after answer bytes start a new request.
    let (mut answered, mut requests) = (true, 0u32);
    loop {
        tokio::select! {
            n = client.read(&mut up) => {
                let Ok(n @ 1..) = n else { return };
                if answered {
                    answered = false;
                    requests += 1;
                    let head = String::from_utf8_lossy(&up[..n.min(200)]).into_owned();
                    let line = head.lines().next().unwrap_or_default();
                    match breaks {
                        Breaks::SecondRequest if requests >= 2 => return,
                        Breaks::Updates if line.starts_with("POST ") && line.contains("/update ") => {
                            #[allow(deprecated)]
                            let _ = client.set_linger(Some(Duration::ZERO));
                            return;
                        }
                        _ => {}
                    }
                }
                if server.write_all(&up[..n]).await.is_err() {
                    return;
                }
            }
            n = server.read(&mut down) => {
                let Ok(n @ 1..) = n else { return };
                answered = true;
                if client.write_all(&down[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A kept-alive connection closed as the next request arrives is not a finding: the request is
/// sent again on a new connection, and the retries are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_before_reuse_is_retried_not_a_finding() {
    let tool = start(FaultSet::none()).await;
    let url = proxy(&tool.running.url, Breaks::SecondRequest).await;
    let driver = Driver::new(client(), &url);
    let opts = FuzzOptions {
        requests: Some(400),
        seed: 12,
        workers: 4,
        ..FuzzOptions::default()
    };
    let r = fuzz(&driver, &opts).await.unwrap();
    tool.running.shutdown().await;
    eprintln!("{}", report::to_markdown(&r));
    assert!(r.passed(), "{:#?}", r.findings);
    assert!(r.requests >= 400, "{}", r.requests);
    assert!(r.retried >= 100, "{}", r.retried);
}

/// A Tool that drops every update, also on a new connection, is found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_dropping_connections_is_found() {
    let tool = start(FaultSet::none()).await;
    let url = proxy(&tool.running.url, Breaks::Updates).await;
    let driver = Driver::new(client(), &url);
    let opts = FuzzOptions {
        requests: Some(400),
        seed: 13,
        workers: 4,
        max_findings: 1,
        ..FuzzOptions::default()
    };
    let r = fuzz(&driver, &opts).await.unwrap();
    tool.running.shutdown().await;
    eprintln!("{}", report::to_markdown(&r));
    let f = r
        .findings
        .first()
        .unwrap_or_else(|| panic!("dropped connections not found in {} requests", r.requests));
    assert_eq!(f.kind, FindingKind::Transport, "{f:#?}");
    assert!(f.reproduced, "{f:#?}");
    assert!(r.retried > 0, "{}", r.retried);
    let dir = tempfile::tempdir().unwrap();
    let written = report::write(&r, dir.path()).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&written.json).unwrap()).unwrap();
    assert_eq!(json["retried"], serde_json::json!(r.retried));
    assert_fits_report_schema(&json);
}
