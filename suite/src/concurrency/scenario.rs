//! Concurrency scenarios: small seeded races that every `oap-conform run` performs as vectors.
//!
//! A scenario vector has one `race` check step whose `scenario` member gives the shape of the
//! race: how many sessions, how many participants in each (the convener included, all
//! admitted through `join`), and how many planned steps each participant takes. The plan is
//! drawn from a seed derived from the run's seed and the vector's id ([`scenario_seed`]), so
//! `oap-conform run --seed N` replays the same plan, and two scenarios of one run do not race
//! the same plan.
//!
//! [`run_scenario`] races the plan, checks every history and judges:
//!
//! - any broken rule fails the vector; the reason names each rule with its requirement, the
//!   minimal sub-history that shows it, and both seeds;
//! - a race whose turns did not overlap at least `min_turn_pairs` times proves nothing: it is
//!   run again (same plan, fresh sessions), at most [`ATTEMPTS`] times, and then the vector
//!   is an error, never a pass;
//! - a Tool that cannot create the sessions or admit the participants fails.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[cfg(feature = "net")]
use {
    super::plan::PlanConfig,
    super::stress::{AnyPlan, StressOptions, StressSummary, race, summarise},
    super::wire::SessionClient,
    crate::client::HttpClient,
    crate::vector::Binding,
    serde_json::Value,
};

/// Most operations one scenario may plan (sessions × participants × steps).
pub const MAX_OPERATIONS: usize = 1024;
/// Most sessions one scenario may race.
pub const MAX_SESSIONS: usize = 4;
/// Races run before a scenario without enough contention is reported as an error.
pub const ATTEMPTS: usize = 3;
/// Violations reported in full per session.
pub const MAX_REPORTED: usize = 3;

/// The shape of a scenario, as written in a vector's `race` step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Sessions raced at the same time (1 to [`MAX_SESSIONS`]).
    pub sessions: usize,
    /// Participants per session, the convener included (2 to 16; fewer when the manifest's
    /// `sessions.max_participants` is lower).
    pub participants: usize,
    /// Planned steps per participant.
    pub steps: usize,
    /// Pairs of turns whose request windows must overlap, over all sessions, for the race to
    /// count.
    pub min_turn_pairs: u64,
}

impl Scenario {
    /// Operations the plan holds (before the final reads).
    pub fn operations(&self) -> usize {
        self.sessions
            .saturating_mul(self.participants)
            .saturating_mul(self.steps)
    }

    /// Whether the shape is within the suite's bounds.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_SESSIONS).contains(&self.sessions) {
            return Err(format!("sessions must be 1 to {MAX_SESSIONS}"));
        }
        if !(2..=16).contains(&self.participants) {
            return Err("participants must be 2 to 16".into());
        }
        if self.steps == 0 {
            return Err("steps must be at least 1".into());
        }
        if self.operations() > MAX_OPERATIONS {
            return Err(format!(
                "{} operations planned, more than the suite's {MAX_OPERATIONS}",
                self.operations()
            ));
        }
        Ok(())
    }
}

/// The plan seed of the scenario `vector_id` in a run seeded `run_seed`: the first eight bytes
/// of SHA-256 over a label, the run seed and the id.
pub fn scenario_seed(run_seed: u64, vector_id: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(b"oap-conform scenario\0");
    h.update(run_seed.to_be_bytes());
    h.update(vector_id.as_bytes());
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_be_bytes(first)
}

/// How a scenario ended.
#[cfg(feature = "net")]
#[derive(Debug)]
pub enum ScenarioOutcome {
    /// No rule broken, with the required contention.
    Pass(Box<StressSummary>),
    /// Rules broken.
    Violations(Box<StressSummary>),
    /// No rule broken, but the turns never overlapped enough (after [`ATTEMPTS`] races).
    NoContention(Box<StressSummary>),
    /// The sessions could not be set up (the Tool refused or did not answer).
    Setup(String),
    /// The scenario's shape is out of bounds, or no plan could be drawn.
    Invalid(String),
}

/// Races `scenario` in `binding` against the Tool at `base` (whose manifest is `manifest`)
/// with the plan drawn from `seed`, checks it and judges it.
#[cfg(feature = "net")]
pub async fn run_scenario(
    http: HttpClient,
    base: &str,
    manifest: &Value,
    binding: Binding,
    scenario: &Scenario,
    seed: u64,
) -> ScenarioOutcome {
    if let Err(e) = scenario.validate() {
        return ScenarioOutcome::Invalid(e);
    }
    let limit = manifest
        .pointer("/sessions/max_participants")
        .and_then(Value::as_u64)
        .map_or(16, |m| usize::try_from(m).unwrap_or(16));
    let participants = scenario.participants.min(limit).max(2);
    let cfg = PlanConfig {
        sessions: scenario.sessions,
        participants: participants..=participants,
        steps: scenario.steps,
    };
    let plan = match AnyPlan::draw(binding, seed, &cfg) {
        Ok(p) => p,
        Err(e) => return ScenarioOutcome::Invalid(e.to_string()),
    };
    let base = base.trim_end_matches('/');
    let clients = scenario.sessions * participants;
    // An AMP step sends at most two messages (a twin).
    let budget = match binding {
        Binding::Oap => scenario.operations(),
        Binding::Amp => scenario.operations().saturating_mul(2),
    };
    let mut opts = StressOptions::new(base, clients, budget, seed);
    opts.max_reported = MAX_REPORTED;
    opts.binding = binding;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let client = SessionClient::new(http.clone(), base);
        let recorded = match race(client, manifest, &plan, &opts).await {
            Ok(r) => r,
            Err(e) => return ScenarioOutcome::Setup(e.to_string()),
        };
        let summary = summarise(&recorded, seed, clients, MAX_REPORTED);
        if !summary.passed() {
            return ScenarioOutcome::Violations(Box::new(summary));
        }
        if summary.overlap.turn_pairs >= scenario.min_turn_pairs {
            return ScenarioOutcome::Pass(Box::new(summary));
        }
        last = Some(summary);
    }
    match last {
        Some(s) => ScenarioOutcome::NoContention(Box::new(s)),
        None => ScenarioOutcome::Invalid("no race was run".into()),
    }
}

/// How to replay a scenario: the plan seed, and the run seed and vector it came from.
pub fn replay_hint(seed: u64, run_seed: u64, vector_id: &str) -> String {
    format!(
        "plan seed {seed} (run seed {run_seed}; replay: oap-conform run --seed {run_seed} --filter {vector_id})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_by_run_and_vector() {
        let a = scenario_seed(1, "oap.concurrency.100");
        assert_eq!(a, scenario_seed(1, "oap.concurrency.100"));
        assert_ne!(a, scenario_seed(2, "oap.concurrency.100"));
        assert_ne!(a, scenario_seed(1, "oap.concurrency.101"));
    }

    #[test]
    fn shapes_are_bounded() {
        let ok = Scenario {
            sessions: 2,
            participants: 8,
            steps: 10,
            min_turn_pairs: 1,
        };
        assert!(ok.validate().is_ok());
        for bad in [
            Scenario {
                sessions: 0,
                ..ok.clone()
            },
            Scenario {
                sessions: 5,
                ..ok.clone()
            },
            Scenario {
                participants: 1,
                ..ok.clone()
            },
            Scenario {
                participants: 17,
                ..ok.clone()
            },
            Scenario {
                steps: 0,
                ..ok.clone()
            },
            Scenario {
                steps: 100,
                ..ok.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
