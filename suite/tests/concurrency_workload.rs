//! The workload driver and `stress` against the bundled reference Tool, in process: the correct
//! Tool passes with real contention, and each concurrency fault switch is caught by its rule.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use oap_conform::concurrency::{Rule, StressSummary, stress};
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

async fn stress_against(faults: FaultSet, clients: usize, ops: usize, seed: u64) -> StressSummary {
    let tool = start(faults).await;
    let summary = stress(&tool.running.url, clients, ops, seed, None)
        .await
        .unwrap();
    tool.running.shutdown().await;
    eprintln!("{summary}");
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_tool_passes_under_real_contention() {
    let s = stress_against(FaultSet::none(), 8, 400, 1).await;
    assert!(s.passed(), "{s}");
    assert!(s.ops >= 400);
    assert!(s.acknowledged > 20, "{s}");
    assert!(s.conflicts > 0, "no contention: {s}");
    assert!(s.overlap.turn_pairs > 100, "writes did not overlap: {s}");
    assert!(s.overlap.max_in_flight >= 4, "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_tool_passes_with_sixteen_clients_over_two_sessions() {
    let s = stress_against(FaultSet::none(), 16, 480, 2).await;
    assert!(s.passed(), "{s}");
    assert_eq!(s.sessions, 2);
}

async fn caught(fault: Fault, rules: &[Rule], seed: u64) {
    let s = stress_against(FaultSet::one(fault), 8, 300, seed).await;
    assert!(
        rules.iter().any(|r| s.counts.contains_key(r)),
        "{fault:?}: expected one of {rules:?}, got {:?}",
        s.counts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unserialised_read_modify_write_is_caught() {
    caught(
        Fault::UnserialisedReadModifyWrite,
        &[Rule::LostUpdate, Rule::DuplicateVersion],
        3,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_version_bump_is_caught() {
    caught(Fault::DoubleVersionBump, &[Rule::DoubleIncrement], 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_turn_id_is_caught() {
    caught(
        Fault::ApplyReplayedTurnId,
        &[Rule::ReplayedTurn, Rule::ConflictForAppliedTurn],
        5,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_expected_version_check_is_caught() {
    caught(Fault::SkipExpectedVersionCheck, &[Rule::VersionMismatch], 6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_gap_is_caught() {
    caught(Fault::LogGap, &[Rule::LogGap], 7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_links_are_caught() {
    caught(Fault::BrokenHashLink, &[Rule::BrokenLink], 8).await;
    caught(Fault::WrongPreviousTurnId, &[Rule::BrokenLink], 9).await;
}
