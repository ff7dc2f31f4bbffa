//! Restart with many receipts on disk: a data directory is filled through HTTP, then the Tool
//! is started on it again and must serve the same sessions, states and chains.
//!
//! This test checks correctness at 2,000 receipts and times nothing. The 100,000-receipt
//! figure of `docs/benchmarks.md` comes from the load generator, which fills a directory the
//! same way and times `serve()` to the first successful `GET state`:
//!
//! ```text
//! cargo build --release -p oap-ref --bins
//! target/release/oap-ref-load restart --sessions 100 --updates 999 --runs 3
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Client;
use oap_ref::{Config, Running};
use oap_wire::Keypair;

fn config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_owned(),
        ..Config::default()
    }
}

/// Creates `sessions` sessions (one convener each) and applies `updates` updates to each,
/// all sessions concurrently. Returns the sessions; the Tool is shut down cleanly.
async fn fill(dir: &Path, sessions: usize, updates: u64) -> (Vec<(Keypair, String)>, String) {
    let running = oap_ref::serve(config(dir)).await.expect("serve");
    let client = Client::new(&running.url);
    let tool_did = client.tool_did().await;
    let mut tasks = Vec::new();
    for _ in 0..sessions {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let key = Keypair::generate();
            let sid = client.create(&key).await;
            for v in 0..updates {
                let req = Client::update_request(&sid, v, v + 1);
                let (status, body) = client.send(&key, &req).await;
                assert_eq!(status, 200, "{body}");
            }
            (key, sid)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("filler"));
    }
    running.shutdown().await;
    (out, tool_did)
}

/// Starts the Tool on `dir` and waits for the first successful `GET state` of `session`;
/// returns the running Tool and the time from `serve()` to that answer.
async fn time_to_first_state(dir: &Path, session: &(Keypair, String)) -> (Running, Duration) {
    let t0 = Instant::now();
    let running = oap_ref::serve(config(dir)).await.expect("serve");
    let client = Client::new(&running.url);
    loop {
        let (status, _) = client.state(&session.0, &session.1).await;
        if status == 200 {
            return (running, t0.elapsed());
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "never served");
    }
}

async fn check_all(
    running: &Running,
    sessions: &[(Keypair, String)],
    tool_did: &str,
    updates: u64,
) {
    let client = Client::new(&running.url);
    for (key, sid) in sessions {
        let (status, st) = client.state(key, sid).await;
        assert_eq!(status, 200, "{st}");
        assert_eq!(st["state_version"].as_u64(), Some(updates));
        assert_eq!(st["state"]["step"].as_u64(), Some(updates));
        let log = client.full_log(key, sid).await;
        assert_eq!(log.len() as u64, updates + 1);
        oap_wire::receipt::verify_chain(&log, sid, Some(tool_did)).expect("chain");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_2000_receipts() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 4 sessions × (genesis + 499 updates) = 2,000 receipts.
    let (sessions, tool_did) = fill(dir.path(), 4, 499).await;
    let (running, _) = time_to_first_state(dir.path(), &sessions[0]).await;
    check_all(&running, &sessions, &tool_did, 499).await;
    // The chains go on after the restart.
    let client = Client::new(&running.url);
    let (key, sid) = &sessions[1];
    let (status, body) = client
        .send(key, &Client::update_request(sid, 499, 500))
        .await;
    assert_eq!(status, 200, "{body}");
    running.shutdown().await;
}
