//! Suite power: every fault switch of the reference Tool is caught.
//!
//! For every [`Fault`] of `oap-ref`, the whole vector set runs against the
//! bundled Tool with that one switch on, exactly as `oap-conform run --fault
//! NAME` would run it. The test asserts that the verdict fails and that the
//! failing requirements include the ones the fault is declared to break
//! ([`DECLARED`]); against the clean Tool it asserts a pass. A fault with no
//! declaration fails the test, so a new switch cannot go unchecked; the few
//! faults the suite cannot catch yet are listed, with the reason, in
//! [`EXCEPTIONS`], and the test fails when one of them is caught.
//!
//! The same runs generate `docs/kill-matrix.md` (fault -> failing vectors and
//! requirements). The test fails when the committed file's verdicts and
//! declarations differ from what the runs produce (its counts and lists are
//! those of one run); regenerate it with
//!
//! ```text
//! UPDATE_KILL_MATRIX=1 cargo test -p oap-conform --test kill_matrix
//! ```
//!
//! Durability faults are exercised through the bundled Tool's in-process
//! restart, like the restart vectors do in every run. The runs are
//! concurrent, at most [`PARALLEL_TOOLS`] Tools at a time, each running its
//! vectors [`JOBS`] at a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../src/bundled.rs"]
#[allow(dead_code)]
mod bundled;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use oap_conform::client::ClientConfig;
use oap_conform::report::{RequirementStatus, RunReport, Status, VerdictResult};
use oap_conform::run::{
    RunOptions, declared_bindings, default_catalogue, execute, load_catalogue, prepare,
};
use oap_conform::target::{HttpTarget, Target};
use oap_conform::vector::{self, VectorSet};
use oap_ref::{Fault, FaultSet};

/// Bundled Tools running the suite at once.
const PARALLEL_TOOLS: usize = 4;
/// Vectors in flight at once against one Tool.
const JOBS: usize = 16;
/// Seed of every run, so the matrix does not depend on the draw.
const SEED: u64 = 4;

/// The requirements each fault is declared to break: the suite must name each
/// of them among the failing requirements when the fault is on.
const DECLARED: &[(&str, &[&str])] = &[
    ("skip-expected-version-check", &["PRF-TURN-4", "OAP-3.2-3"]),
    // Lost updates show only under concurrent turns: the `race` vectors
    // (concurrency scenarios drawn from the run's seed) catch it.
    (
        "unserialised-read-modify-write",
        &["PRF-TURN-2", "OAP-3.2-2"],
    ),
    ("double-version-bump", &["PRF-TURN-2", "PRF-RCPT-7"]),
    ("apply-replayed-turn-id", &["PRF-TURN-3"]),
    ("wrong-previous-turn-id", &["PRF-RCPT-7", "OAP-3.5-2"]),
    ("broken-hash-link", &["PRF-RCPT-7", "OAP-3.5-4"]),
    ("unsigned-receipts", &["PRF-RCPT-1", "PRF-RCPT-5"]),
    ("skip-credential-proof-check", &["PRF-CRED-5"]),
    ("accept-credential-for-other-session", &["PRF-CRED-7"]),
    ("accept-credential-for-other-subject", &["PRF-CRED-8"]),
    ("participant-convener-ops", &["PRF-LIFE-12"]),
    ("old-convener-keeps-authority", &["PRF-CRED-12"]),
    ("admit-revoked-subject", &["PRF-CRED-13"]),
    ("accept-non-participant", &["PRF-HIJ-1", "OAP-5-1"]),
    ("existence-oracle", &["PRF-HIJ-2"]),
    ("accept-reused-nonce", &["PRF-AUTH-8"]),
    ("accept-stale-created", &["PRF-AUTH-7"]),
    (
        "accept-non-canonical-signatures",
        &["PRF-SIG-1", "PRF-AUTH-5"],
    ),
    ("ignore-ccc", &["PRF-CCC-3", "OAP-3.7-2"]),
    ("ignore-session-quota", &["PRF-QUOTA-1", "OAP-5-3"]),
    ("ignore-max-participants", &["PRF-QUOTA-2", "PRF-AMP-16"]),
    ("write-closed-sessions", &["PRF-LIFE-15"]),
    ("write-expired-sessions", &["PRF-LIFE-14"]),
    ("write-paused-sessions", &["PRF-LIFE-16"]),
    ("skip-state-schema", &["PRF-LIFE-6"]),
    ("parser-500-on-deep-nesting", &["PRF-ENV-1", "PRF-ENV-6"]),
    ("parser-500-on-big-numbers", &["PRF-ENV-6", "PRF-JSON-1"]),
    (
        "manifest-missing-sessions-block",
        &["OAP-3.3-1", "PRF-MAN-1"],
    ),
    ("log-gap", &["PRF-RCPT-8"]),
    ("reuse-admission-nonce", &["PRF-CRED-10"]),
    ("skip-content-digest-check", &["PRF-AUTH-2", "PRF-AUTH-6"]),
    ("close-not-idempotent", &["PRF-LIFE-7"]),
    ("ack-before-durable", &["PRF-DUR-2"]),
    ("amp-illegal-transitions", &["PRF-AMP-14"]),
    ("amp-history-gap", &["PRF-AMP-25"]),
    ("amp-apply-duplicates", &["PRF-AMP-28"]),
    ("amp-accept-outsiders", &["PRF-AMP-23"]),
    ("amp-ignore-expiry", &["PRF-AMP-15"]),
    ("amp-expiry-off-by-one", &["PRF-AMP-15"]),
    // Caught alone by amp.state.003, and under concurrency by the AMP `race` vectors.
    ("amp-skip-expected-seq-check", &["PRF-AMP-26"]),
    // Shows only under concurrent messages: the AMP `race` vectors catch it.
    ("amp-unserialised-messages", &["PRF-AMP-25"]),
];

/// Faults the vector set cannot catch yet, with the reason. Each entry is a
/// gap in the suite's power, not a feature: remove it as soon as the suite
/// catches the fault. The test fails when an exception is caught, except for
/// those marked sporadic (caught in some runs, by timing).
const EXCEPTIONS: &[Exception] = &[
    // Empty: every fault switch is caught. (`ack-before-durable` was listed as
    // sporadic until the fault wrote behind by a fixed delay: now the restart
    // vectors lose its last turn in every run.)
];

/// A fault the suite cannot catch yet.
#[allow(dead_code)] // constructed only while EXCEPTIONS lists a fault
struct Exception {
    fault: &'static str,
    why: &'static str,
    sporadic: bool,
}

/// What one run against one Tool produced.
struct Outcome {
    /// `None` for the clean Tool.
    fault: Option<Fault>,
    report: RunReport,
}

impl Outcome {
    fn failing_vectors(&self) -> Vec<(&str, &str)> {
        self.report
            .vectors
            .iter()
            .filter(|v| v.status.is_failure())
            .map(|v| (v.path.as_str(), v.id.as_str()))
            .collect()
    }

    fn failing_requirements(&self) -> BTreeSet<&str> {
        self.report
            .requirements
            .iter()
            .filter(|r| r.status == RequirementStatus::Fail)
            .map(|r| r.id.as_str())
            .collect()
    }
}

async fn run_against(fault: Option<Fault>, set: Arc<VectorSet>) -> Outcome {
    let (catalogue, digest) = load_catalogue(&default_catalogue()).expect("the catalogue loads");
    let faults = fault.map(FaultSet::one).unwrap_or_else(FaultSet::none);
    let tool = bundled::Bundled::start(faults)
        .await
        .expect("the bundled Tool starts");
    let target: Arc<dyn Target> =
        Arc::new(HttpTarget::new(&tool.url, Some(Arc::clone(&tool.restart))).expect("its URL"));
    let ctx = prepare(
        target,
        ClientConfig::default(),
        &set,
        Duration::from_secs(60),
        SEED,
    )
    .await
    .expect("the bundled Tool answers");
    let opts = RunOptions {
        bindings: declared_bindings(&ctx.manifest),
        filter: None,
        jobs: JOBS,
        vector_timeout: Duration::from_secs(60),
    };
    let output = execute(ctx, &set, &catalogue, digest, &opts, None, None).await;
    tool.shutdown().await;
    let slowest = output
        .report
        .vectors
        .iter()
        .max_by_key(|v| v.duration_ms)
        .map(|v| format!("{} {} ms", v.path, v.duration_ms))
        .unwrap_or_default();
    eprintln!(
        "{}: {} ms (slowest {slowest})",
        fault.map(Fault::name).unwrap_or("clean"),
        output.report.duration_ms
    );
    Outcome {
        fault,
        report: output.report,
    }
}

/// The requirements the fault is declared to break.
fn declared(fault: Fault) -> Option<&'static [&'static str]> {
    DECLARED
        .iter()
        .find(|(name, _)| *name == fault.name())
        .map(|(_, reqs)| *reqs)
}

fn exception(fault: Fault) -> Option<&'static Exception> {
    EXCEPTIONS.iter().find(|e| e.fault == fault.name())
}

/// What a kill matrix must keep from run to run: for each fault, its row's
/// name, verdict and declared requirements, and the clean Tool's verdict. The
/// counts and lists come from one run: a fault's incidental failures (a
/// vector on a deadline under load, a race) may differ in another.
fn stable_part(md: &str) -> String {
    let sporadic = |name: &str| EXCEPTIONS.iter().any(|e| e.fault == name && e.sporadic);
    let mut out = String::new();
    for line in md.lines() {
        if line.starts_with("Clean Tool:") {
            // The verdict, not the counts: adding a vector does not make the matrix stale.
            out.push_str(line.split(',').next().unwrap_or_default());
            out.push('\n');
        }
        let Some(rest) = line.strip_prefix("| [`") else {
            continue;
        };
        let cells: Vec<&str> = rest.split(" | ").collect();
        let name = rest.split('`').next().unwrap_or_default();
        let (caught, declared) = match cells.as_slice() {
            [_, caught, declared, ..] => (*caught, *declared),
            _ => ("", ""),
        };
        let caught = if sporadic(name) { "(varies)" } else { caught };
        out.push_str(&format!("{name} | {caught} | {declared}\n"));
    }
    out
}

/// Everything wrong with one run, as lines for the test's failure message.
fn problems(o: &Outcome) -> Vec<String> {
    let Some(fault) = o.fault else {
        if o.report.verdict.result == VerdictResult::Pass {
            return Vec::new();
        }
        return vec![format!(
            "clean Tool: verdict fails: {}",
            o.report.verdict.reasons.join("; ")
        )];
    };
    let name = fault.name();
    if let Some(Exception { why, sporadic, .. }) = exception(fault) {
        // An exception that no longer applies is stale: the list must shrink.
        return match o.report.verdict.result {
            VerdictResult::Fail if !sporadic => vec![format!(
                "{name}: listed in EXCEPTIONS ({why}) but the suite now catches it; \
                 remove the exception and declare its requirements"
            )],
            VerdictResult::Fail | VerdictResult::Pass => Vec::new(),
        };
    }
    let Some(reqs) = declared(fault) else {
        return vec![format!(
            "{name}: no requirement declared in DECLARED (it fails {:?})",
            o.failing_requirements()
        )];
    };
    let mut out = Vec::new();
    if reqs.is_empty() {
        out.push(format!("{name}: DECLARED lists no requirement"));
    }
    if o.report.verdict.result != VerdictResult::Fail {
        out.push(format!(
            "{name}: the verdict passes; the fault is not caught"
        ));
    }
    let failing = o.failing_requirements();
    for r in reqs.iter().filter(|r| !failing.contains(*r)) {
        out.push(format!(
            "{name}: declared to break {r}, but {r} does not fail (failing: {failing:?})"
        ));
    }
    out
}

fn render(outcomes: &[Outcome]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Kill matrix\n");
    let _ = writeln!(
        md,
        "Generated by `suite/tests/kill_matrix.rs`; do not edit by hand. Regenerate with\n\n\
         ```sh\nUPDATE_KILL_MATRIX=1 cargo test -p oap-conform --test kill_matrix\n```\n"
    );
    let _ = writeln!(
        md,
        "For every fault switch of the reference Tool (`reference-impl/src/faults.rs`), the whole \
         vector set ran against the bundled Tool with that one switch on (seed {SEED}), as \
         `oap-conform run --fault NAME` runs it. A fault is *caught* when the L4 verdict fails; \
         the test also requires the requirements the fault is declared to break to be among the \
         failing ones. Failing vectors are those \
         with status `fail` or `error`. Faults listed as exceptions are gaps the suite cannot \
         catch yet; the test fails as soon as it catches one, so the list only shrinks. Counts \
         and lists are those of one run: the test keeps this file's verdicts and declarations \
         current, while incidental failures (a vector on a deadline under load) may differ \
         between runs.\n"
    );
    let caught = outcomes
        .iter()
        .filter(|o| o.fault.is_some() && o.report.verdict.result == VerdictResult::Fail)
        .count();
    let faults = outcomes.iter().filter(|o| o.fault.is_some()).count();
    if let Some(clean) = outcomes.iter().find(|o| o.fault.is_none()) {
        let n = |s: Status| {
            clean
                .report
                .vectors
                .iter()
                .filter(|v| v.status == s)
                .count()
        };
        let _ = writeln!(
            md,
            "Clean Tool: verdict **{}**, {} vectors pass, {} fail, {} not applicable.\n",
            clean.report.verdict.result.as_str(),
            n(Status::Pass),
            n(Status::Fail) + n(Status::Error),
            n(Status::NotApplicable),
        );
    }
    let _ = writeln!(md, "Faults caught: **{caught} of {faults}**.\n");
    let _ = writeln!(
        md,
        "| fault | caught | declared requirements | failing requirements | failing vectors |"
    );
    let _ = writeln!(md, "| --- | --- | --- | ---: | ---: |");
    for o in outcomes {
        let Some(f) = o.fault else { continue };
        let caught = match (o.report.verdict.result, exception(f)) {
            (VerdictResult::Fail, Some(_)) => "yes (exception)",
            (VerdictResult::Fail, None) => "yes",
            (VerdictResult::Pass, Some(_)) => "no (exception)",
            (VerdictResult::Pass, None) => "**no**",
        };
        let _ = writeln!(
            md,
            "| [`{0}`](#{0}) | {caught} | {1} | {2} | {3} |",
            f.name(),
            declared(f).map(|r| r.join(", ")).unwrap_or_default(),
            o.failing_requirements().len(),
            o.failing_vectors().len(),
        );
    }
    for o in outcomes {
        let Some(f) = o.fault else { continue };
        let _ = writeln!(md, "\n## {}\n\n{}.\n", f.name(), f.description());
        if let Some(e) = exception(f) {
            let _ = writeln!(md, "Exception: {}.\n", e.why);
        }
        let reqs = o.failing_requirements();
        if reqs.is_empty() {
            let _ = writeln!(md, "Failing requirements: none.");
        } else {
            let list: Vec<String> = reqs.iter().map(|r| format!("`{r}`")).collect();
            let _ = writeln!(md, "Failing requirements: {}.", list.join(", "));
        }
        let vectors = o.failing_vectors();
        if vectors.is_empty() {
            let _ = writeln!(md, "\nFailing vectors: none.");
        } else {
            let _ = writeln!(md, "\nFailing vectors:\n");
            for (path, id) in vectors {
                let _ = writeln!(md, "- `{path}` ({id})");
            }
        }
    }
    md
}

#[test]
fn every_fault_is_caught_and_the_kill_matrix_is_current() {
    let set = Arc::new(vector::load(&vector::default_root()).expect("the vector set loads"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let start = Instant::now();
    let runs: Vec<Option<Fault>> = std::iter::once(None)
        .chain(Fault::all().iter().copied().map(Some))
        .collect();
    let mut outcomes: Vec<Outcome> = rt.block_on(
        futures::stream::iter(runs)
            .map(|f| {
                let set = Arc::clone(&set);
                // Each run on its own task, so runs use every worker thread.
                async move {
                    tokio::spawn(run_against(f, set))
                        .await
                        .expect("a run completes")
                }
            })
            .buffer_unordered(PARALLEL_TOOLS)
            .collect(),
    );
    outcomes.sort_by_key(|o| o.fault);
    eprintln!(
        "kill matrix: {} runs in {:.1} s",
        outcomes.len(),
        start.elapsed().as_secs_f64()
    );

    let md = render(&outcomes);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/kill-matrix.md");
    let update = std::env::var_os("UPDATE_KILL_MATRIX").is_some_and(|v| v == "1");
    if update {
        std::fs::write(&path, &md).expect("writing docs/kill-matrix.md");
    }
    let fresh = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kill-matrix.md");
    let _ = std::fs::write(&fresh, &md);

    let mut all: Vec<String> = outcomes.iter().flat_map(problems).collect();
    let known: BTreeSet<&str> = Fault::all().iter().map(|f| f.name()).collect();
    let listed: BTreeMap<&str, usize> = DECLARED
        .iter()
        .map(|(n, _)| *n)
        .chain(EXCEPTIONS.iter().map(|e| e.fault))
        .fold(BTreeMap::new(), |mut m, n| {
            *m.entry(n).or_default() += 1;
            m
        });
    for (name, count) in listed {
        if !known.contains(name) {
            all.push(format!("{name}: listed, but oap-ref has no such fault"));
        }
        if count > 1 {
            all.push(format!("{name}: listed {count} times"));
        }
    }
    if !update {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if stable_part(&committed) != stable_part(&md) {
            all.push(format!(
                "docs/kill-matrix.md is stale (this run's is {}): regenerate it with \
                 `UPDATE_KILL_MATRIX=1 cargo test -p oap-conform --test kill_matrix`",
                fresh.display()
            ));
        }
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}
