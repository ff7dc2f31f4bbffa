//! Crash test: the real `oap-ref` binary is killed with SIGKILL in the middle of concurrent
//! signed updates, restarted on the same data directory, and every turn it acknowledged before
//! the kill must be in the log with its receipt, the versions contiguous, the chain verifying,
//! and the nonces of answered requests still spent.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Client, Sent, ToolProcess};
use oap_wire::Keypair;
use serde_json::Value;

const SESSIONS: usize = 6;
/// The load stops itself after this many updates per session…
const MAX_OPS_PER_SESSION: u64 = 2_000;
/// …or after this long.
const MAX_LOAD: Duration = Duration::from_secs(20);
/// The kill comes once this many updates were acknowledged (or after `KILL_AFTER`).
const KILL_AT_ACKS: u64 = 300;
const KILL_AFTER: Duration = Duration::from_secs(8);

/// A turn the Tool answered 200 before the kill.
struct Acked {
    version: u64,
    turn_id: String,
    receipt_hash: String,
    request: Sent,
}

struct SessionRun {
    key: Keypair,
    sid: String,
    acked: Vec<Acked>,
    /// Requests that got no answer (in flight at the kill): their outcome is unknown.
    unanswered: u64,
}

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_oap-ref"))
}

/// Runs updates on `SESSIONS` sessions, kills the Tool mid-load, and returns what was
/// acknowledged, with the data directory.
async fn load_and_kill(dir: &Path, faults: &[&str]) -> (Vec<SessionRun>, String) {
    let tool = ToolProcess::start(bin(), dir, faults);
    let client = Client::new(tool.url());
    let tool_did = client.tool_did().await;
    let acks = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..SESSIONS {
        let key = Keypair::generate();
        let sid = client.create(&key).await;
        let (client, acks, stop) = (client.clone(), acks.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut run = SessionRun {
                key,
                sid,
                acked: Vec::new(),
                unanswered: 0,
            };
            let mut version = 0u64;
            while version < MAX_OPS_PER_SESSION
                && started.elapsed() < MAX_LOAD
                && !stop.load(Ordering::Relaxed)
            {
                let req = Client::update_request(&run.sid, version, version + 1);
                match client.try_send(&run.key, &req).await {
                    Ok((200, body)) => {
                        let receipt = &body["receipt"];
                        version = body["state_version"].as_u64().expect("state_version");
                        run.acked.push(Acked {
                            version,
                            turn_id: receipt["turn_id"].as_str().expect("turn_id").to_owned(),
                            receipt_hash: receipt["receipt_hash"]
                                .as_str()
                                .expect("receipt_hash")
                                .to_owned(),
                            request: req,
                        });
                        acks.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok((status, body)) => panic!("update refused before the kill: {status} {body}"),
                    Err(_) => {
                        // The Tool is gone: this request's outcome is unknown.
                        run.unanswered += 1;
                        break;
                    }
                }
            }
            run
        }));
    }
    let started = Instant::now();
    while acks.load(Ordering::Relaxed) < KILL_AT_ACKS && started.elapsed() < KILL_AFTER {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Mid-load: every worker has an update in flight or about to be sent.
    tool.kill();
    stop.store(true, Ordering::Relaxed);
    let mut runs = Vec::new();
    for w in workers {
        runs.push(w.await.expect("worker"));
    }
    (runs, tool_did)
}

/// What the restarted Tool shows about one session.
struct Found {
    acked: usize,
    in_log: usize,
    missing_or_different: usize,
    chain_ok: bool,
}

async fn inspect(client: &Client, tool_did: &str, run: &SessionRun) -> Found {
    let log = client.full_log(&run.key, &run.sid).await;
    let chain_ok = oap_wire::receipt::verify_chain(&log, &run.sid, Some(tool_did)).is_ok();
    let missing_or_different = run
        .acked
        .iter()
        .filter(|a| {
            let r = log.get(a.version as usize).unwrap_or(&Value::Null);
            r["state_version"].as_u64() != Some(a.version)
                || r["turn_id"].as_str() != Some(a.turn_id.as_str())
                || r["receipt_hash"].as_str() != Some(a.receipt_hash.as_str())
        })
        .count();
    Found {
        acked: run.acked.len(),
        in_log: log.len().saturating_sub(1),
        missing_or_different,
        chain_ok,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_loses_no_acknowledged_turn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (runs, tool_did) = load_and_kill(dir.path(), &[]).await;
    let total: usize = runs.iter().map(|r| r.acked.len()).sum();
    assert!(total > 0, "nothing was acknowledged before the kill");
    assert!(
        runs.iter().any(|r| r.unanswered > 0),
        "the kill came after the load ended: it was not mid-load"
    );

    let tool = ToolProcess::start(bin(), dir.path(), &[]);
    let client = Client::new(tool.url());
    assert_eq!(client.tool_did().await, tool_did, "the Tool's key survives");
    for run in &runs {
        let found = inspect(&client, &tool_did, run).await;
        assert!(
            found.chain_ok,
            "{}: the receipt chain does not verify",
            run.sid
        );
        assert_eq!(
            found.missing_or_different, 0,
            "{}: acknowledged turns missing after the crash",
            run.sid
        );
        // One update in flight per session: at most one more turn than acknowledged.
        assert!(
            found.in_log == found.acked || found.in_log == found.acked + 1,
            "{}: {} turns in the log for {} acknowledged",
            run.sid,
            found.in_log,
            found.acked
        );
        let (status, st) = client.state(&run.key, &run.sid).await;
        assert_eq!(status, 200, "{st}");
        assert_eq!(st["state_version"].as_u64(), Some(found.in_log as u64));
        // Requests answered before the kill stay spent: the first and the last one.
        for a in [run.acked.first(), run.acked.last()].into_iter().flatten() {
            let (status, body) = client.send(&run.key, &a.request).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (401, Some("replayed_request")),
                "{body}"
            );
        }
        // The session goes on from where the log ends.
        let next = Client::update_request(&run.sid, found.in_log as u64, 0);
        assert_eq!(client.send(&run.key, &next).await.0, 200);
    }
    eprintln!(
        "crash: {total} acknowledged turns over {} sessions, all present after SIGKILL",
        runs.len()
    );
    tool.kill();
}

/// The same scenario with `ack-before-durable` on: the crash test's oracle must fail. That
/// broken Tool answers first and hands each write to its store half a second later, so the
/// turns (and sessions) it acknowledged in the last half second before the SIGKILL are gone
/// after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_ack_before_durable_loses_acknowledged_turns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (runs, tool_did) = load_and_kill(dir.path(), &["ack-before-durable"]).await;
    let tool = ToolProcess::start(bin(), dir.path(), &[]);
    let client = Client::new(tool.url());
    let (mut acked, mut lost, mut sessions_lost) = (0, 0, 0);
    for run in &runs {
        acked += run.acked.len();
        let probe = format!("/oap/session/{}/log?from=0&limit=1", run.sid);
        if client.call(&run.key, "GET", &probe, None).await.0 == 404 {
            sessions_lost += 1;
            lost += run.acked.len();
            continue;
        }
        lost += inspect(&client, &tool_did, run).await.missing_or_different;
    }
    eprintln!(
        "ack-before-durable under SIGKILL: {acked} acknowledged, {lost} missing after restart \
         ({sessions_lost} sessions gone)"
    );
    assert!(
        lost > 0,
        "the fault lost no acknowledged turn ({acked} acknowledged): the oracle did not fail"
    );
    tool.kill();
}
