//! `stress`: a seeded concurrent workload against a Tool, recorded and checked, summarised.
//!
//! [`stress`] is what `oap-conform stress` runs: it reads the Tool's manifest (its DID, whether
//! it declares pause, its participant limit), draws a plan from the seed, spreads the clients
//! over sessions of up to eight participants, races them until the operation budget or the
//! duration runs out, checks every session's history and returns a [`StressSummary`]: how much
//! was done and how fast, how much really overlapped, and every rule the Tool broke with the
//! sub-history that shows it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::amp_workload::{AmpPlan, draw_amp, run_amp};
use super::check::{CheckOptions, check_with};
use super::overlap::Overlap;
use super::plan::{Plan, PlanConfig, PlanError, draw};
use super::violation::{Rule, Violation};
use super::wire::{SessionClient, SetupError};
use super::workload::{Progress, Recorded, RunOptions, run};
use crate::client::{ClientBuildError, ClientConfig, HttpClient};
use crate::target::{TargetError, capability, fetch_manifest};
use crate::vector::Binding;

/// Most participants per session (the convener included) a stress run uses.
pub const PARTICIPANTS_PER_SESSION: usize = 8;

/// Everything [`stress_with`] needs.
#[derive(Clone)]
pub struct StressOptions {
    /// The Tool's base URL.
    pub target: String,
    /// Concurrent clients (participants), over all sessions.
    pub clients: usize,
    /// Operation budget, over all sessions.
    pub ops: usize,
    /// Seed of the plan.
    pub seed: u64,
    /// Stop issuing operations after this long.
    pub duration: Option<Duration>,
    /// Deadline of one request; past it the operation is indeterminate.
    pub request_timeout: Duration,
    /// Keep state values in the histories (`false`: fingerprints only, for long runs).
    pub keep_states: bool,
    /// Called after each operation.
    pub progress: Option<Progress>,
    /// Violations reported in full per session.
    pub max_reported: usize,
    /// The binding raced: OAP turns, or AMP `SESSION_MSG`s.
    pub binding: Binding,
}

impl StressOptions {
    /// Options with the usual defaults (10 s per request, states kept, 20 violations).
    pub fn new(target: &str, clients: usize, ops: usize, seed: u64) -> Self {
        Self {
            target: target.to_owned(),
            clients,
            ops,
            seed,
            duration: None,
            request_timeout: Duration::from_secs(10),
            keep_states: true,
            progress: None,
            max_reported: 20,
            binding: Binding::Oap,
        }
    }
}

/// Why a stress run could not be carried out (as opposed to a Tool that failed it).
#[derive(Debug, thiserror::Error)]
pub enum StressError {
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] ClientBuildError),
    /// The manifest could not be read.
    #[error(transparent)]
    Manifest(#[from] TargetError),
    /// No plan could be drawn.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A session could not be created or a participant admitted.
    #[error("setting up the sessions: {0}")]
    Setup(#[from] SetupError),
}

/// What a stress run did and found.
#[derive(Clone, Debug)]
pub struct StressSummary {
    /// The seed of the plan.
    pub seed: u64,
    /// Sessions raced.
    pub sessions: usize,
    /// Participants, over all sessions.
    pub clients: usize,
    /// Operations recorded (the final reads included).
    pub ops: usize,
    /// From the release of the participants to the end of the final reads.
    pub elapsed: Duration,
    /// `ops / elapsed`.
    pub ops_per_sec: f64,
    /// Turns acknowledged.
    pub acknowledged: usize,
    /// `version_conflict` answers.
    pub conflicts: usize,
    /// `duplicate_turn` answers.
    pub duplicates: usize,
    /// Other refusals.
    pub refused: usize,
    /// Operations with an unknown outcome.
    pub indeterminate: usize,
    /// Indeterminate turns the log shows applied.
    pub indeterminate_applied: usize,
    /// Overlap, summed over sessions (`max_in_flight`: the largest).
    pub overlap: Overlap,
    /// Violations per rule, over all sessions.
    pub counts: BTreeMap<Rule, usize>,
    /// The first violations of each session, with their sub-histories.
    pub violations: Vec<Violation>,
    /// Time spent checking.
    pub check_time: Duration,
}

impl StressSummary {
    /// No rule was broken.
    pub fn passed(&self) -> bool {
        self.counts.is_empty()
    }

    /// Violations found, reported in full or not.
    pub fn total_violations(&self) -> usize {
        self.counts.values().sum()
    }

    /// The summary as JSON (`oap-conform stress --json`): the counts, the overlap, violations
    /// per rule with the requirement each tests, and every reported violation as text.
    pub fn to_json(&self) -> Value {
        let rules: Vec<Value> = self
            .counts
            .iter()
            .map(|(rule, n)| {
                serde_json::json!({
                    "rule": rule.slug(),
                    "requirement": rule.requirement(),
                    "count": n,
                })
            })
            .collect();
        serde_json::json!({
            "passed": self.passed(),
            "seed": self.seed,
            "sessions": self.sessions,
            "clients": self.clients,
            "ops": self.ops,
            "elapsed_ms": u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX),
            "ops_per_sec": self.ops_per_sec,
            "acknowledged": self.acknowledged,
            "conflicts": self.conflicts,
            "duplicates": self.duplicates,
            "refused": self.refused,
            "indeterminate": self.indeterminate,
            "indeterminate_applied": self.indeterminate_applied,
            "overlap": {
                "pairs": self.overlap.pairs,
                "turn_pairs": self.overlap.turn_pairs,
                "max_in_flight": self.overlap.max_in_flight,
            },
            "violations": self.total_violations(),
            "rules": rules,
            "reported": self.violations.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "check_ms": u64::try_from(self.check_time.as_millis()).unwrap_or(u64::MAX),
        })
    }
}

impl fmt::Display for StressSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} operations in {:.2} s ({:.0} ops/s), {} clients over {} sessions, seed {}",
            self.ops,
            self.elapsed.as_secs_f64(),
            self.ops_per_sec,
            self.clients,
            self.sessions,
            self.seed
        )?;
        writeln!(
            f,
            "{} acknowledged, {} conflicts, {} duplicates, {} refused, {} indeterminate ({} applied)",
            self.acknowledged,
            self.conflicts,
            self.duplicates,
            self.refused,
            self.indeterminate,
            self.indeterminate_applied
        )?;
        writeln!(
            f,
            "overlap: {} pairs of operations, {} pairs of turns, up to {} in flight",
            self.overlap.pairs, self.overlap.turn_pairs, self.overlap.max_in_flight
        )?;
        if self.passed() {
            return write!(
                f,
                "no violations (checked in {:.2} s)",
                self.check_time.as_secs_f64()
            );
        }
        write!(f, "{} violations:", self.total_violations())?;
        for (rule, n) in &self.counts {
            write!(f, "\n  {rule} ({}): {n}", rule.requirement())?;
        }
        for v in &self.violations {
            write!(f, "\n{v}")?;
        }
        Ok(())
    }
}

/// Runs a stress workload of `clients` participants and `ops` operations (or `duration`,
/// whichever ends first) against the Tool at `target_url`, and checks it.
pub async fn stress(
    target_url: &str,
    clients: usize,
    ops: usize,
    seed: u64,
    duration: Option<Duration>,
) -> Result<StressSummary, StressError> {
    let mut opts = StressOptions::new(target_url, clients, ops, seed);
    opts.duration = duration;
    stress_with(opts).await
}

/// [`stress`] with every option.
pub async fn stress_with(opts: StressOptions) -> Result<StressSummary, StressError> {
    let http = HttpClient::new(ClientConfig {
        request_timeout: opts.request_timeout,
        ..ClientConfig::default()
    })?;
    let base = opts.target.trim_end_matches('/').to_owned();
    let manifest = fetch_manifest(&http, &base).await?;
    let limit = manifest
        .pointer("/sessions/max_participants")
        .and_then(Value::as_u64)
        .map_or(16, |m| usize::try_from(m).unwrap_or(16));
    let per_session = opts
        .clients
        .clamp(2, PARTICIPANTS_PER_SESSION.min(limit.max(2)));
    let sessions = opts.clients.max(2).div_ceil(per_session);
    let clients = sessions * per_session;
    let cfg = PlanConfig {
        sessions,
        participants: per_session..=per_session,
        steps: opts.ops.div_ceil(clients).max(1),
    };
    let plan = AnyPlan::draw(opts.binding, opts.seed, &cfg)?;
    let recorded = race(SessionClient::new(http, &base), &manifest, &plan, &opts).await?;
    Ok(summarise(&recorded, opts.seed, clients, opts.max_reported))
}

/// A plan for either binding.
#[derive(Clone, Debug)]
pub(crate) enum AnyPlan {
    /// OAP turns.
    Oap(Plan),
    /// AMP messages.
    Amp(AmpPlan),
}

impl AnyPlan {
    /// Draws the plan of `binding` for `seed`.
    pub(crate) fn draw(binding: Binding, seed: u64, cfg: &PlanConfig) -> Result<Self, PlanError> {
        Ok(match binding {
            Binding::Oap => AnyPlan::Oap(draw(seed, cfg)?),
            Binding::Amp => AnyPlan::Amp(draw_amp(seed, cfg)?),
        })
    }
}

/// Races the participants of `plan` against the Tool whose manifest is `manifest`, recording
/// one history per session (`opts` gives the duration, the operation budget, whether to keep
/// states and the progress callback).
pub(crate) async fn race(
    client: SessionClient,
    manifest: &Value,
    plan: &AnyPlan,
    opts: &StressOptions,
) -> Result<Recorded, SetupError> {
    let run_opts = RunOptions {
        duration: opts.duration,
        max_ops: Some(opts.ops),
        supports_pause: capability(manifest, "sessions.supports_pause"),
        tool_did: manifest
            .get("tool_did")
            .and_then(Value::as_str)
            .map(str::to_owned),
        keep_states: opts.keep_states,
        progress: opts.progress.clone(),
    };
    match plan {
        AnyPlan::Oap(plan) => run(client, plan, run_opts).await,
        AnyPlan::Amp(plan) => run_amp(client, plan, run_opts).await,
    }
}

/// Checks every history of a recorded run and sums up what was done and what was broken
/// (at most `max_reported` violations in full per session).
pub(crate) fn summarise(
    recorded: &Recorded,
    seed: u64,
    clients: usize,
    max_reported: usize,
) -> StressSummary {
    let started = Instant::now();
    let check_opts = CheckOptions {
        max_reported,
        ..CheckOptions::default()
    };
    let mut summary = StressSummary {
        seed,
        sessions: recorded.histories.len(),
        clients,
        ops: 0,
        elapsed: recorded.elapsed,
        ops_per_sec: 0.0,
        acknowledged: 0,
        conflicts: 0,
        duplicates: 0,
        refused: 0,
        indeterminate: 0,
        indeterminate_applied: 0,
        overlap: Overlap::default(),
        counts: BTreeMap::new(),
        violations: Vec::new(),
        check_time: Duration::ZERO,
    };
    for history in &recorded.histories {
        let report = check_with(history, &check_opts);
        let s = &report.stats;
        summary.ops += s.ops;
        summary.acknowledged += s.acknowledged;
        summary.conflicts += s.conflicts;
        summary.duplicates += s.duplicates;
        summary.refused += s.refused;
        summary.indeterminate += s.indeterminate;
        summary.indeterminate_applied += s.indeterminate_applied;
        summary.overlap.pairs += report.overlap.pairs;
        summary.overlap.turn_pairs += report.overlap.turn_pairs;
        summary.overlap.max_in_flight = summary
            .overlap
            .max_in_flight
            .max(report.overlap.max_in_flight);
        for (rule, n) in report.counts {
            *summary.counts.entry(rule).or_default() += n;
        }
        summary.violations.extend(report.violations);
    }
    summary.check_time = started.elapsed();
    summary.ops_per_sec = summary.ops as f64 / recorded.elapsed.as_secs_f64().max(1e-9);
    summary
}
