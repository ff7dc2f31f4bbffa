//! What each participant of a workload will do, drawn by proptest from a seed.
//!
//! A plan is data: per session, per participant, a list of [`Step`]s. It is drawn once, before
//! any request is sent, from proptest strategies driven by a ChaCha generator seeded with the
//! workload's seed, so the same seed gives the same plan (and a failing run names the seed that
//! replays it). The timing of a run against a real Tool is not reproducible; the plan is.
//!
//! The mix puts contention first: most steps are updates built on the participant's last
//! observed version, so whenever two participants observed the same version they race for the
//! next one. Deliberately stale updates, replays of earlier turns, reads of state and log,
//! leaving and joining again, and pause/resume (where the manifest declares it) complete it.

use std::ops::RangeInclusive;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

/// One planned step of a participant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// An update with the last observed version.
    Update {
        /// Which patch (see [`patch`]).
        patch: u8,
    },
    /// An update with a version `back` behind the last observed one.
    StaleUpdate {
        /// Which patch.
        patch: u8,
        /// How far behind.
        back: u8,
    },
    /// One of the participant's earlier updates sent again: with its original
    /// `expected_version` (a retry) or with the last observed one (a replay that a Tool must
    /// still refuse as `duplicate_turn`).
    Replay {
        /// Which earlier update (modulo how many there are).
        pick: u8,
        /// Send it with the last observed version instead of the original.
        refresh: bool,
    },
    /// `GET state`.
    Read,
    /// `GET log` from `back` versions before the last observed one.
    ReadLog {
        /// How far back.
        back: u8,
    },
    /// Leave, then join again with a fresh admission (not the convener).
    Rejoin,
    /// Pause, then resume (the convener, when pause is declared).
    PauseResume,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        45 => any::<u8>().prop_map(|patch| Step::Update { patch }),
        6 => (any::<u8>(), 1u8..4).prop_map(|(patch, back)| Step::StaleUpdate { patch, back }),
        5 => (any::<u8>(), any::<bool>()).prop_map(|(pick, refresh)| Step::Replay { pick, refresh }),
        25 => Just(Step::Read),
        8 => (0u8..32).prop_map(|back| Step::ReadLog { back }),
        2 => Just(Step::Rejoin),
        2 => Just(Step::PauseResume),
    ]
}

/// The shape of a workload.
#[derive(Clone, Debug)]
pub struct PlanConfig {
    /// Sessions, run at the same time.
    pub sessions: usize,
    /// Participants per session, the convener included (drawn from this range, within 2 to 16).
    pub participants: RangeInclusive<usize>,
    /// Steps per participant.
    pub steps: usize,
}

/// A drawn plan: `sessions[s][p]` is the list of steps of participant `p` (0 is the convener)
/// in session `s`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Steps per session and participant.
    pub sessions: Vec<Vec<Vec<Step>>>,
    /// The seed it was drawn from.
    pub seed: u64,
}

/// Why a plan could not be drawn (a strategy rejected every value; not expected).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot draw a workload plan: {0}")]
pub struct PlanError(String);

/// The deterministic proptest runner for `seed`.
pub fn runner(seed: u64) -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&(!seed).to_le_bytes());
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

/// Draws the plan for `seed`.
pub fn draw(seed: u64, cfg: &PlanConfig) -> Result<Plan, PlanError> {
    let lo = (*cfg.participants.start()).clamp(2, 16);
    let hi = (*cfg.participants.end()).clamp(lo, 16);
    let session = (lo..=hi).prop_flat_map({
        let steps = cfg.steps;
        move |n| vec(vec(step(), steps..=steps), n..=n)
    });
    Ok(Plan {
        sessions: draw_sessions(seed, cfg, session)?,
        seed,
    })
}

/// `cfg.sessions` values of `session` (one per session), drawn from `seed`.
pub(crate) fn draw_sessions<S: Strategy>(
    seed: u64,
    cfg: &PlanConfig,
    session: S,
) -> Result<Vec<S::Value>, PlanError> {
    let sessions = cfg.sessions.max(1);
    let strategy = vec(session, sessions..=sessions);
    let mut runner = runner(seed);
    let tree = strategy
        .new_tree(&mut runner)
        .map_err(|e| PlanError(e.to_string()))?;
    Ok(tree.current())
}

/// The merge patch for a step's `patch` byte, written by `client` as its `seq`-th update: one
/// of eight top-level members set to a value no other write uses (so a lost write shows in the
/// state), and now and then deleted.
pub fn patch(which: u8, client: u32, seq: usize) -> Value {
    let key = format!("k{}", which % 8);
    if which % 16 == 15 {
        json!({ key: null })
    } else {
        json!({ key: format!("c{client}-{seq}") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_plan() {
        let cfg = PlanConfig {
            sessions: 2,
            participants: 2..=16,
            steps: 20,
        };
        let a = draw(7, &cfg);
        let b = draw(7, &cfg);
        assert!(a.is_ok());
        assert_eq!(a.ok(), b.ok());
        let plan = draw(7, &cfg).ok().unwrap_or_else(|| Plan {
            sessions: Vec::new(),
            seed: 7,
        });
        assert_eq!(plan.sessions.len(), 2);
        for s in &plan.sessions {
            assert!((2..=16).contains(&s.len()));
            assert!(s.iter().all(|p| p.len() == 20));
        }
    }
}
