//! The concurrency scenarios of `oap-conform run` (the `race` vectors under
//! `vectors/oap/concurrency/` and `vectors/amp/concurrency/`) and their power, against the
//! bundled reference Tool in process: the correct Tool passes every scenario in 100 of 100
//! seeded runs, the unserialised read-modify-write fault is caught in 100 of 100 (OAP) and its
//! AMP counterpart, `amp-unserialised-messages`, in 100 of 100 (AMP), and the other concurrency
//! faults (double increments, replayed turns, log gaps and broken links; AMP history gaps,
//! duplicates applied again and `SESSION_STATE`s applied on a stale `expected_seq`) are caught too. Each seeded run goes through the runner exactly as
//! `oap-conform run --seed N` does, file vectors left out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../src/bundled.rs"]
#[allow(dead_code)]
mod bundled;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use oap_conform::client::ClientConfig;
use oap_conform::concurrency::Rule;
use oap_conform::report::Status;
use oap_conform::run::prepare;
use oap_conform::runner::run_vector;
use oap_conform::target::{HttpTarget, Target};
use oap_conform::vector::{self, Binding, CheckKind, LoadedVector, Step, VectorSet};
use oap_ref::{Fault, FaultSet};

/// Seeded runs of the scenarios in flight at once.
const PARALLEL: usize = 4;

/// The scenarios of `binding` (every binding with `None`).
fn scenarios(binding: Option<Binding>) -> (VectorSet, Vec<LoadedVector>) {
    let set = vector::load(&vector::default_root()).unwrap();
    let races: Vec<LoadedVector> = set
        .vectors
        .iter()
        .filter(|v| binding.is_none_or(|b| v.vector.binding == b))
        .filter(|v| {
            v.vector
                .steps
                .iter()
                .any(|s| matches!(s, Step::Check(c) if c.check == CheckKind::Race))
        })
        .cloned()
        .collect();
    assert!(
        races.len() >= 2,
        "the run has at least two scenarios per binding"
    );
    (set, races)
}

/// One seeded run of one scenario.
struct Outcome {
    seed: u64,
    path: String,
    status: Status,
    reason: String,
}

/// Runs the scenarios once per seed against the bundled Tool with `faults` on; with
/// `until_failure`, a seeded run stops at its first failing scenario, as the run's verdict is
/// then decided.
async fn sweep(
    faults: FaultSet,
    binding: Option<Binding>,
    seeds: std::ops::Range<u64>,
    until_failure: bool,
) -> Vec<Outcome> {
    let (set, races) = scenarios(binding);
    let tool = bundled::Bundled::start(faults).await.unwrap();
    let target: Arc<dyn Target> = Arc::new(HttpTarget::new(&tool.url, None).unwrap());
    let set = &set;
    let races = &races;
    let out: Vec<Outcome> = futures::stream::iter(seeds)
        .map(|seed| {
            let target = Arc::clone(&target);
            async move {
                let ctx = prepare(
                    target,
                    ClientConfig::default(),
                    set,
                    Duration::from_secs(60),
                    seed,
                )
                .await
                .unwrap();
                let mut runs = Vec::new();
                for v in races {
                    let r = run_vector(&ctx, v).await;
                    let failed = r.status == Status::Fail;
                    runs.push(Outcome {
                        seed,
                        path: r.path,
                        status: r.status,
                        reason: r.reason.unwrap_or_default(),
                    });
                    if failed && until_failure {
                        break;
                    }
                }
                runs
            }
        })
        .buffer_unordered(PARALLEL)
        .flat_map(futures::stream::iter)
        .collect()
        .await;
    tool.shutdown().await;
    out
}

fn describe(o: &Outcome) -> String {
    format!(
        "seed {} {}: {}\n{}",
        o.seed,
        o.path,
        o.status.as_str(),
        o.reason
    )
}

fn is_amp_rule(r: &Rule) -> bool {
    r.requirement().starts_with("PRF-AMP-")
}

#[test]
fn scenarios_name_the_requirements_of_their_rules() {
    let (_, races) = scenarios(None);
    // Pause rules are left out: a Tool without pause never exercises them, and a scenario's
    // pass must not claim them.
    let pause = [Rule::WriteWhilePaused, Rule::InvalidTransition];
    let mut oap: BTreeSet<&str> = Rule::all()
        .iter()
        .filter(|r| !pause.contains(r) && !is_amp_rule(r))
        .map(|r| r.requirement())
        .collect();
    oap.extend(["OAP-3.2-2", "OAP-3.2-3", "OAP-3.4-2", "OAP-3.4-3"]);
    let amp: BTreeSet<&str> = Rule::all()
        .iter()
        .filter(|r| is_amp_rule(r))
        .map(|r| r.requirement())
        .collect();
    let mut bindings = BTreeSet::new();
    for v in &races {
        let (wanted, dir) = match v.vector.binding {
            Binding::Oap => (&oap, "oap/concurrency/"),
            Binding::Amp => (&amp, "amp/concurrency/"),
        };
        bindings.insert(v.vector.binding);
        let named: BTreeSet<&str> = v.vector.requirements.iter().map(String::as_str).collect();
        let missing: Vec<_> = wanted.difference(&named).collect();
        assert!(missing.is_empty(), "{}: missing {missing:?}", v.path);
        assert!(
            v.path.starts_with(dir),
            "{}: scenarios of this binding live under {dir}",
            v.path
        );
    }
    assert_eq!(bindings.len(), 2, "both bindings have scenarios");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_tool_passes_every_scenario_in_100_seeded_runs() {
    let out = sweep(FaultSet::none(), None, 0..100, false).await;
    let bad: Vec<String> = out
        .iter()
        .filter(|o| o.status != Status::Pass)
        .map(describe)
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {}:\n{}",
        bad.len(),
        out.len(),
        bad.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unserialised_read_modify_write_is_caught_in_100_seeded_runs() {
    let out = sweep(
        FaultSet::one(Fault::UnserialisedReadModifyWrite),
        Some(Binding::Oap),
        0..100,
        true,
    )
    .await;
    // Per seeded run: the run fails when any of its scenarios fails.
    let mut caught = BTreeSet::new();
    for o in &out {
        if o.status == Status::Fail {
            assert!(
                o.reason.contains("lost-update") || o.reason.contains("duplicate-version"),
                "{}",
                describe(o)
            );
            caught.insert(o.seed);
        }
    }
    let missed: Vec<u64> = (0..100).filter(|s| !caught.contains(s)).collect();
    assert!(missed.is_empty(), "missed in seeded runs {missed:?}");
}

/// The fault is caught, by the expected rule, in each of `seeds` seeded runs.
async fn caught(fault: Fault, rules: &[Rule], seeds: std::ops::Range<u64>) {
    let binding = if rules.iter().all(is_amp_rule) {
        Binding::Amp
    } else {
        Binding::Oap
    };
    let out = sweep(FaultSet::one(fault), Some(binding), seeds.clone(), true).await;
    for seed in seeds {
        let hit = out.iter().any(|o| {
            o.seed == seed
                && o.status == Status::Fail
                && rules.iter().any(|r| o.reason.contains(r.slug()))
        });
        let runs: Vec<String> = out
            .iter()
            .filter(|o| o.seed == seed)
            .map(describe)
            .collect();
        assert!(
            hit,
            "{fault:?} not caught by {rules:?} in seeded run {seed}:\n{}",
            runs.join("\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_version_bump_is_caught() {
    caught(Fault::DoubleVersionBump, &[Rule::DoubleIncrement], 0..5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_turn_id_is_caught() {
    caught(
        Fault::ApplyReplayedTurnId,
        &[Rule::ReplayedTurn, Rule::ConflictForAppliedTurn],
        0..5,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_faults_are_caught() {
    caught(Fault::LogGap, &[Rule::LogGap], 0..5).await;
    caught(Fault::BrokenHashLink, &[Rule::BrokenLink], 0..5).await;
    caught(Fault::WrongPreviousTurnId, &[Rule::BrokenLink], 0..5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_names_rule_requirement_sub_history_and_seeds() {
    let out = sweep(
        FaultSet::one(Fault::DoubleVersionBump),
        Some(Binding::Oap),
        7..8,
        true,
    )
    .await;
    let failed = out
        .iter()
        .find(|o| o.status == Status::Fail)
        .expect("the fault is caught");
    let r = &failed.reason;
    assert!(r.contains("double-increment (PRF-TURN-2)"), "{r}");
    assert!(r.contains("run seed 7"), "{r}");
    assert!(r.contains("--seed 7 --filter oap.concurrency."), "{r}");
    // The sub-history: operations marked `*` are the ones that show the violation.
    assert!(r.lines().any(|l| l.trim_start().starts_with('*')), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amp_unserialised_messages_is_caught_in_100_seeded_runs() {
    let out = sweep(
        FaultSet::one(Fault::AmpUnserialisedMessages),
        Some(Binding::Amp),
        0..100,
        true,
    )
    .await;
    let mut caught = BTreeSet::new();
    for o in &out {
        if o.status == Status::Fail {
            assert!(
                [
                    "lost-message",
                    "duplicate-seq",
                    "ack-seq-mismatch",
                    "stale-state-applied"
                ]
                .iter()
                .any(|r| o.reason.contains(r)),
                "{}",
                describe(o)
            );
            caught.insert(o.seed);
        }
    }
    let missed: Vec<u64> = (0..100).filter(|s| !caught.contains(s)).collect();
    assert!(missed.is_empty(), "missed in seeded runs {missed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amp_history_faults_are_caught() {
    caught(Fault::AmpHistoryGap, &[Rule::HistoryGap], 0..5).await;
    caught(
        Fault::AmpApplyDuplicates,
        &[Rule::MessageAppliedTwice],
        0..5,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amp_lost_state_updates_are_caught() {
    caught(
        Fault::AmpSkipExpectedSeqCheck,
        &[Rule::StaleStateApplied],
        0..5,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amp_failure_names_rule_requirement_sub_history_and_seeds() {
    let out = sweep(
        FaultSet::one(Fault::AmpApplyDuplicates),
        Some(Binding::Amp),
        7..8,
        true,
    )
    .await;
    let failed = out
        .iter()
        .find(|o| o.status == Status::Fail)
        .expect("the fault is caught");
    let r = &failed.reason;
    assert!(r.contains("message-applied-twice (PRF-AMP-28)"), "{r}");
    assert!(r.contains("run seed 7"), "{r}");
    assert!(r.contains("--seed 7 --filter amp.concurrency."), "{r}");
    assert!(r.lines().any(|l| l.trim_start().starts_with('*')), "{r}");
}
