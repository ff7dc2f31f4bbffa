//! Concurrent updates: recorded histories, a sequential model of a session, and the checkers
//! that decide whether a history could have come from a correct Tool.
//!
//! Sequential vectors cannot show a lost update: a Tool that reads, compares and writes without
//! serialising passes every one of them. This module judges what many clients saw when they
//! raced: a [`History`] of operations with their invoke and return instants, outcomes kept as
//! they came (a timeout stays [`Ret::Indeterminate`], never guessed), checked against the
//! [`SessionModel`] for linearizability of the versioned state, justified conflicts, and a
//! receipt log consistent with every acknowledgement ([`check()`]). A violation names its rule,
//! the sub-history that shows it and the workload's seed.
//!
//! - [`history`]: operations, outcomes and histories;
//! - [`events`]: histories assembled from per-client invoke and return events;
//! - [`fingerprint`]: 128-bit state fingerprints kept up to date under merge patches;
//! - [`model`]: the sequential specification;
//! - [`check()`]: the checkers, `O(n log n)`;
//! - [`rule`]: the rules, named and tied to profile requirements;
//! - [`violation`]: violations and their sub-histories;
//! - [`overlap`]: how much the operations really overlapped;
//! - [`synth`]: correct histories generated from the model;
//! - [`faults`]: single faults injected into them, each with the rule that must catch it;
//! - [`plan`]: seeded, proptest-drawn workloads (who does what);
//! - [`answer`]: a Tool's answers read into outcomes (no I/O: what the recorders parse);
//! - [`wire`]: a session's operations over HTTP (`net`), each answer read by [`answer`];
//! - [`workload`]: the driver that races participants against a live Tool and records;
//! - [`mod@stress`]: the `oap-conform stress` entry point, recording, checking and summarising;
//! - [`amp_wire`], [`amp_workload`]: the same for the AMP binding, racing `SESSION_MSG`s;
//!   an AMP history ([`History::amp`]) is checked against the AMP rules (`check::amp`);
//! - [`scenario`]: the bounded, seeded races every `oap-conform run` performs as vectors.

#[cfg(feature = "net")]
pub mod amp_wire;
#[cfg(feature = "net")]
pub mod amp_workload;
pub mod answer;
pub mod check;
pub mod events;
pub mod faults;
pub mod fingerprint;
pub mod history;
pub mod model;
pub mod overlap;
pub mod plan;
pub mod rule;
pub mod scenario;
#[cfg(feature = "net")]
pub mod stress;
pub mod synth;
pub mod violation;
#[cfg(feature = "net")]
pub mod wire;
#[cfg(feature = "net")]
pub mod workload;

pub use check::{CheckOptions, CheckReport, Stats, check, check_with};
pub use events::{Event, HistoryError};
pub use fingerprint::Fingerprint;
pub use history::{
    AmpBase, Base, ClientId, History, HistoryEntry, LogEntry, LogPage, Nanos, Op, OpId, Operation,
    Ret, Snapshot, StateRead, Status, TurnKey, TurnOk,
};
pub use model::SessionModel;
pub use overlap::Overlap;
pub use scenario::{Scenario, scenario_seed};
#[cfg(feature = "net")]
pub use scenario::{ScenarioOutcome, run_scenario};
#[cfg(feature = "net")]
pub use stress::{StressOptions, StressSummary, stress, stress_with};
pub use violation::{Rule, Violation, ViolationKind};
