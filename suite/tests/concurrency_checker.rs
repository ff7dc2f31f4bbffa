//! The concurrency checkers against hand-written histories with known verdicts, and against
//! histories generated from the sequential model: every valid one accepted, every single
//! injected fault rejected by the rule that names it.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use oap_conform::concurrency::faults::{HistoryFault, inject};
use oap_conform::concurrency::synth::{SynthConfig, synthesize};
use oap_conform::concurrency::{
    Base, CheckOptions, Event, History, LogEntry, LogPage, Op, OpId, Operation, Ret, Rule,
    Snapshot, StateRead, Status, TurnOk, check, check_with,
};
use proptest::prelude::*;
use rand::SeedableRng;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// A small language for hand-written histories.

fn key(s: &str) -> Arc<str> {
    Arc::from(s)
}

/// A receipt chain over `turns`, from a genesis receipt `g` at version 0, correctly linked.
fn chain(turns: &[&str]) -> Vec<Arc<LogEntry>> {
    let mut out: Vec<Arc<LogEntry>> = vec![Arc::new(LogEntry {
        version: 0,
        turn_id: key("g"),
        previous_turn_id: key("g-prev"),
        receipt_hash: key("h0"),
        prev_receipt_hash: None,
        state_digest: None,
    })];
    for (i, t) in turns.iter().enumerate() {
        let prev = out[i].clone();
        out.push(Arc::new(LogEntry {
            version: i as u64 + 1,
            turn_id: key(t),
            previous_turn_id: prev.turn_id.clone(),
            receipt_hash: key(&format!("h{}-{t}", i + 1)),
            prev_receipt_hash: Some(prev.receipt_hash.clone()),
            state_digest: None,
        }));
    }
    out
}

fn ok(version: u64) -> Ret {
    Ret::Turn(TurnOk {
        version,
        status: None,
        state: None,
        receipt: None,
    })
}

fn ok_with_state(version: u64, state: Value) -> Ret {
    Ret::Turn(TurnOk {
        version,
        status: None,
        state: Some(Snapshot::new(state)),
        receipt: None,
    })
}

fn lost() -> Ret {
    Ret::Indeterminate {
        reason: "timeout".into(),
    }
}

fn conflict(current_version: u64) -> Ret {
    Ret::Conflict { current_version }
}

struct H(History);

impl H {
    fn new() -> Self {
        H(History::new(Base::default(), Vec::new()))
    }

    fn push(&mut self, client: u32, at: [u64; 2], op: Op, ret: Ret) -> OpId {
        self.0.ops.push(Operation {
            client,
            op,
            ret,
            invoked: at[0],
            returned: at[1],
        });
        self.0.ops.len() as OpId - 1
    }

    fn update(
        &mut self,
        c: u32,
        at: [u64; 2],
        expected: u64,
        turn: &str,
        patch: Value,
        ret: Ret,
    ) -> OpId {
        let op = Op::Update {
            expected_version: expected,
            turn_id: key(turn),
            patch: Arc::new(patch),
        };
        self.push(c, at, op, ret)
    }

    fn replay(
        &mut self,
        c: u32,
        at: [u64; 2],
        expected: u64,
        turn: &str,
        patch: Value,
        ret: Ret,
    ) -> OpId {
        let op = Op::Replay {
            expected_version: expected,
            turn_id: key(turn),
            patch: Arc::new(patch),
        };
        self.push(c, at, op, ret)
    }

    fn read(&mut self, c: u32, at: [u64; 2], version: u64, state: Value) -> OpId {
        let ret = Ret::State(StateRead {
            version,
            status: None,
            state: Snapshot::new(state),
        });
        self.push(c, at, Op::Read, ret)
    }

    fn log(&mut self, c: u32, at: [u64; 2], entries: Vec<Arc<LogEntry>>) -> OpId {
        let page = LogPage {
            from: 0,
            entries,
            complete: true,
        };
        self.push(c, at, Op::ReadLog { from: 0 }, Ret::Log(page))
    }

    /// The quiescent end: a complete log read and a state read by an observer.
    fn finish(mut self, at: u64, log: Vec<Arc<LogEntry>>, version: u64, state: Value) -> History {
        let l = self.log(99, [at, at + 1], log);
        let r = self.read(99, [at + 2, at + 3], version, state);
        self.0.final_log = Some(l);
        self.0.final_read = Some(r);
        self.0.seed = Some(7);
        self.0
    }
}

fn rules(h: &History) -> Vec<Rule> {
    let report = check(h);
    for v in &report.violations {
        eprintln!("{v}");
    }
    report.counts.keys().copied().collect()
}

fn assert_valid(h: &History) {
    let r = rules(h);
    assert!(r.is_empty(), "expected a valid history, got {r:?}");
}

fn assert_breaks(h: &History, rule: Rule) {
    let r = rules(h);
    assert!(r.contains(&rule), "expected {rule}, got {r:?}");
}

// ---------------------------------------------------------------------------------------------
// Linearizable histories.

#[test]
fn sequential_updates_and_reads() {
    let mut h = H::new();
    h.update(
        0,
        [0, 10],
        0,
        "t1",
        json!({"a": 1}),
        ok_with_state(1, json!({"a": 1})),
    );
    h.read(1, [20, 30], 1, json!({"a": 1}));
    h.update(1, [40, 50], 1, "t2", json!({"b": 2}), ok(2));
    h.update(0, [60, 70], 2, "t3", json!({"a": null}), ok(3));
    let h = h.finish(100, chain(&["t1", "t2", "t3"]), 3, json!({"b": 2}));
    assert_valid(&h);
}

#[test]
fn overlapping_writers_with_genuine_conflict() {
    let mut h = H::new();
    // A and B race from version 0; A wins, B's conflict is genuine because A overlapped it.
    h.update(0, [0, 10], 0, "a", json!({"x": "a"}), ok(1));
    h.update(1, [2, 12], 0, "b", json!({"x": "b"}), conflict(1));
    // Reads overlapping A's window may see either side of it.
    h.read(2, [3, 9], 0, json!({}));
    h.read(3, [5, 15], 1, json!({"x": "a"}));
    h.update(1, [13, 20], 1, "b2", json!({"y": 1}), ok(2));
    let h = h.finish(50, chain(&["a", "b2"]), 2, json!({"x": "a", "y": 1}));
    let report = check(&h);
    assert!(report.is_valid(), "{:?}", report.counts);
    assert!(report.overlap.pairs >= 4, "{:?}", report.overlap);
    assert!(report.overlap.turn_pairs >= 1);
}

#[test]
fn conflict_after_a_completed_write_is_genuine() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"x": 1}), ok(1));
    h.update(1, [20, 30], 0, "b", json!({"x": 2}), conflict(1));
    let h = h.finish(50, chain(&["a"]), 1, json!({"x": 1}));
    assert_valid(&h);
}

#[test]
fn indeterminate_update_that_applied() {
    let mut h = H::new();
    // The client gave up at 5; the log shows the turn applied.
    h.update(0, [0, 5], 0, "t1", json!({"k": 1}), lost());
    h.read(1, [10, 20], 1, json!({"k": 1}));
    let h = h.finish(50, chain(&["t1"]), 1, json!({"k": 1}));
    let report = check(&h);
    assert!(report.is_valid(), "{:?}", report.counts);
    assert_eq!(report.stats.indeterminate_applied, 1);
    assert!(report.stats.states_checked);
}

#[test]
fn indeterminate_update_that_did_not_apply() {
    let mut h = H::new();
    h.update(0, [0, 5], 0, "t1", json!({"k": 1}), lost());
    h.update(1, [10, 20], 0, "t2", json!({"k": 2}), ok(1));
    let h = h.finish(50, chain(&["t2"]), 1, json!({"k": 2}));
    let report = check(&h);
    assert!(report.is_valid(), "{:?}", report.counts);
    assert_eq!(report.stats.indeterminate_applied, 0);
}

#[test]
fn indeterminate_update_applied_after_its_client_gave_up() {
    let mut h = H::new();
    // Recorded as given up at 5, but applied later (around 30): a read at [10, 20] still sees 0.
    h.update(0, [0, 5], 0, "t1", json!({"k": 1}), lost());
    h.read(1, [10, 20], 0, json!({}));
    h.read(1, [40, 45], 1, json!({"k": 1}));
    let h = h.finish(50, chain(&["t1"]), 1, json!({"k": 1}));
    assert_valid(&h);
}

#[test]
fn retry_of_a_lost_turn_applies_once_and_replays_are_duplicates() {
    let mut h = H::new();
    h.update(0, [0, 5], 0, "t1", json!({"k": 1}), lost());
    h.replay(0, [6, 10], 0, "t1", json!({"k": 1}), ok(1));
    h.replay(1, [20, 30], 1, "t1", json!({"k": 1}), Ret::DuplicateTurn);
    let h = h.finish(50, chain(&["t1"]), 1, json!({"k": 1}));
    assert_valid(&h);
}

#[test]
fn pause_refuses_updates_until_resume() {
    let mut h = H::new();
    let pause = Op::Pause { turn_id: key("p") };
    h.push(0, [0, 10], pause, ok(1));
    let paused = Ret::Refused {
        status: 409,
        code: "session_paused".into(),
    };
    h.update(1, [20, 30], 1, "u0", json!({"z": 0}), paused);
    h.push(0, [40, 50], Op::Resume { turn_id: key("r") }, ok(2));
    h.update(1, [60, 70], 2, "u1", json!({"z": 1}), ok(3));
    let h = h.finish(100, chain(&["p", "r", "u1"]), 3, json!({"z": 1}));
    assert_valid(&h);
}

#[test]
fn events_pair_per_client_and_unanswered_ones_are_indeterminate() {
    let op = |t: &str| Op::Update {
        expected_version: 0,
        turn_id: key(t),
        patch: Arc::new(json!({})),
    };
    let events = vec![
        Event::Invoke {
            client: 0,
            at: 0,
            op: op("a"),
        },
        Event::Invoke {
            client: 1,
            at: 1,
            op: op("b"),
        },
        Event::Return {
            client: 0,
            at: 5,
            ret: ok(1),
        },
    ];
    let h = History::from_events(Base::default(), events).unwrap();
    assert_eq!(h.ops.len(), 2);
    assert!(h.ops[1].ret.is_indeterminate());
    assert_eq!(h.ops[1].returned, 5);
    let bad = vec![Event::Return {
        client: 3,
        at: 0,
        ret: ok(1),
    }];
    assert!(History::from_events(Base::default(), bad).is_err());
}

// ---------------------------------------------------------------------------------------------
// Non-linearizable histories, each caught by its rule.

#[test]
fn lost_update_two_acks_with_one_expected_version() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"x": "a"}), ok(1));
    h.update(1, [1, 11], 0, "b", json!({"x": "b"}), ok(1));
    assert_breaks(&h.0, Rule::LostUpdate);
}

#[test]
fn lost_update_seen_in_the_log_and_the_final_state() {
    // The read-modify-write race: both acknowledged, versions 1 and 2, but B's turn was built
    // on version 0, so A's patch is lost from the state B wrote.
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"a": 1}), ok(1));
    h.update(1, [1, 11], 0, "b", json!({"b": 1}), ok(2));
    let h = h.finish(50, chain(&["a", "b"]), 2, json!({"b": 1}));
    let r = rules(&h);
    assert!(r.contains(&Rule::LostUpdate), "{r:?}");
    assert!(r.contains(&Rule::FinalStateMismatch), "{r:?}");
}

#[test]
fn stale_read() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"x": 1}), ok(1));
    h.read(1, [20, 30], 0, json!({}));
    assert_breaks(&h.0, Rule::StaleRead);
}

#[test]
fn stale_read_after_another_read_saw_newer() {
    // The write is still in flight, but a read already saw it: a later read cannot go back.
    let mut h = H::new();
    h.update(0, [0, 100], 0, "a", json!({"x": 1}), ok(1));
    h.read(1, [10, 20], 1, json!({"x": 1}));
    h.read(2, [30, 40], 0, json!({}));
    assert_breaks(&h.0, Rule::StaleRead);
}

#[test]
fn read_of_a_never_installed_state() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"x": 1}), ok(1));
    h.read(1, [20, 30], 1, json!({"x": 99}));
    let h = h.finish(50, chain(&["a"]), 1, json!({"x": 1}));
    assert_breaks(&h, Rule::ReadStateMismatch);
}

#[test]
fn read_of_a_version_before_its_write_was_sent() {
    let mut h = H::new();
    h.read(1, [0, 5], 1, json!({"x": 1}));
    h.update(0, [10, 20], 0, "a", json!({"x": 1}), ok(1));
    assert_breaks(&h.0, Rule::FutureRead);
}

#[test]
fn read_of_a_version_no_turn_produced() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"x": 1}), ok(1));
    h.read(1, [20, 30], 5, json!({"x": 1}));
    let h = h.finish(50, chain(&["a"]), 1, json!({"x": 1}));
    assert_breaks(&h, Rule::UnknownVersion);
}

#[test]
fn spurious_conflict() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"x": 1}), ok(1));
    // Version 1 was installed at 10 and nobody else wrote: expected_version 1 was current.
    h.update(1, [20, 30], 1, "b", json!({"x": 2}), conflict(0));
    let h = h.finish(50, chain(&["a"]), 1, json!({"x": 1}));
    assert_breaks(&h, Rule::SpuriousConflict);
}

#[test]
fn conflict_naming_the_expected_version_as_current() {
    let mut h = H::new();
    h.update(1, [0, 10], 0, "b", json!({"x": 2}), conflict(0));
    assert_breaks(&h.0, Rule::SpuriousConflict);
}

#[test]
fn conflict_is_not_spurious_when_a_competing_write_overlaps() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"x": 1}), ok(1));
    h.update(2, [25, 40], 1, "c", json!({"x": 3}), ok(2));
    h.update(1, [20, 30], 1, "b", json!({"x": 2}), conflict(2));
    let h = h.finish(50, chain(&["a", "c"]), 2, json!({"x": 3}));
    assert_valid(&h);
}

#[test]
fn double_increment() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"x": 1}), ok(2));
    let mut log = chain(&["a"]);
    let mut a = (*log[1]).clone();
    a.version = 2;
    log[1] = Arc::new(a);
    let h = h.finish(50, log, 2, json!({"x": 1}));
    assert_breaks(&h, Rule::DoubleIncrement);
}

#[test]
fn stale_update_accepted() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"x": 1}), ok(1));
    h.update(1, [20, 30], 0, "b", json!({"y": 1}), ok(2));
    let h = h.finish(50, chain(&["a", "b"]), 2, json!({"x": 1, "y": 1}));
    assert_breaks(&h, Rule::VersionMismatch);
}

#[test]
fn replayed_turn_applied_twice() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"n": 1}), ok(1));
    h.replay(1, [20, 30], 1, "a", json!({"n": 1}), ok(2));
    let h = h.finish(50, chain(&["a", "a"]), 2, json!({"n": 1}));
    let report = check(&h);
    assert!(report.breaks(Rule::ReplayedTurn), "{:?}", report.counts);
    // Both the two acknowledgements and the log's repeated turn id show it.
    assert!(report.counts[&Rule::ReplayedTurn] >= 2);
}

#[test]
fn duplicate_turn_for_a_fresh_turn_id() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"n": 1}), ok(1));
    h.update(1, [20, 30], 1, "fresh", json!({"n": 2}), Ret::DuplicateTurn);
    let h = h.finish(50, chain(&["a"]), 1, json!({"n": 1}));
    assert_breaks(&h, Rule::SpuriousDuplicate);
}

#[test]
fn version_conflict_for_an_applied_turn() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"n": 1}), ok(1));
    h.replay(0, [20, 30], 0, "a", json!({"n": 1}), conflict(1));
    let h = h.finish(50, chain(&["a"]), 1, json!({"n": 1}));
    assert_breaks(&h, Rule::ConflictForAppliedTurn);
}

#[test]
fn log_gap() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"n": 1}), ok(1));
    h.update(0, [20, 30], 1, "b", json!({"n": 2}), ok(2));
    h.update(0, [40, 50], 2, "c", json!({"n": 3}), ok(3));
    let mut log = chain(&["a", "b", "c"]);
    log.remove(2);
    let h = h.finish(100, log, 3, json!({"n": 3}));
    let r = rules(&h);
    assert!(r.contains(&Rule::LogGap), "{r:?}");
    assert!(r.contains(&Rule::MissingReceipt), "{r:?}");
}

#[test]
fn log_rewritten_between_reads() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"n": 1}), ok(1));
    let mut first = chain(&["a"]);
    let mut forged = (*first[1]).clone();
    forged.receipt_hash = key("forged");
    first[1] = Arc::new(forged);
    h.log(1, [20, 30], first);
    let h = h.finish(50, chain(&["a"]), 1, json!({"n": 1}));
    assert_breaks(&h, Rule::LogRewritten);
}

#[test]
fn log_truncated_between_reads() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"n": 1}), ok(1));
    h.log(1, [20, 30], chain(&["a"]));
    h.log(1, [40, 50], chain(&[]));
    assert_breaks(&h.0, Rule::StaleRead);
}

#[test]
fn broken_hash_link() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"n": 1}), ok(1));
    let mut log = chain(&["a"]);
    let mut a = (*log[1]).clone();
    a.prev_receipt_hash = Some(key("elsewhere"));
    log[1] = Arc::new(a);
    let h = h.finish(50, log, 1, json!({"n": 1}));
    assert_breaks(&h, Rule::BrokenLink);
}

#[test]
fn refused_request_left_a_receipt() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"n": 1}), conflict(1));
    let h = h.finish(50, chain(&["a"]), 1, json!({"n": 1}));
    assert_breaks(&h, Rule::RefusedTurnApplied);
}

#[test]
fn receipt_for_a_turn_nobody_sent() {
    let h = H::new().finish(50, chain(&["ghost"]), 1, json!({}));
    assert_breaks(&h, Rule::PhantomTurn);
}

#[test]
fn final_state_mismatch() {
    let mut h = H::new();
    h.update(0, [0, 10], 0, "a", json!({"n": 1}), ok(1));
    h.update(0, [20, 30], 1, "b", json!({"m": 1}), ok(2));
    let h = h.finish(50, chain(&["a", "b"]), 2, json!({"m": 1}));
    assert_breaks(&h, Rule::FinalStateMismatch);
}

#[test]
fn acknowledged_state_is_not_the_merge() {
    let mut h = H::new();
    h.update(
        0,
        [0, 10],
        0,
        "a",
        json!({"n": 1}),
        ok_with_state(1, json!({"n": 2})),
    );
    let h = h.finish(50, chain(&["a"]), 1, json!({"n": 1}));
    assert_breaks(&h, Rule::AckStateMismatch);
}

#[test]
fn update_applied_while_paused() {
    let mut h = H::new();
    h.push(0, [0, 10], Op::Pause { turn_id: key("p") }, ok(1));
    h.update(1, [20, 30], 1, "u", json!({"z": 1}), ok(2));
    let h = h.finish(50, chain(&["p", "u"]), 2, json!({"z": 1}));
    assert_breaks(&h, Rule::WriteWhilePaused);
}

#[test]
fn status_read_contradicts_the_turns() {
    let mut h = H::new();
    h.push(0, [0, 10], Op::Pause { turn_id: key("p") }, ok(1));
    let ret = Ret::State(StateRead {
        version: 1,
        status: Some(Status::Active),
        state: Snapshot::new(json!({})),
    });
    h.push(1, [20, 30], Op::Read, ret);
    assert_breaks(&h.0, Rule::StatusMismatch);
}

// ---------------------------------------------------------------------------------------------
// Non-linearizable histories with indeterminate operations: an unknown outcome may have
// applied once, or not at all, and every history below is wrong under both readings.

#[test]
fn indeterminate_update_applied_twice() {
    let mut h = H::new();
    // The client gave up; the log shows the same turn id at two versions.
    h.update(0, [0, 5], 0, "t1", json!({"k": 1}), lost());
    let h = h.finish(50, chain(&["t1", "t1"]), 2, json!({"k": 1}));
    assert_breaks(&h, Rule::ReplayedTurn);
}

#[test]
fn indeterminate_update_applied_and_an_acknowledged_one_on_the_same_version() {
    let mut h = H::new();
    // t1 (unknown outcome) applied at version 1; t2 carried expected_version 0 too and was
    // acknowledged at version 2: it must have been refused.
    h.update(0, [0, 5], 0, "t1", json!({"a": 1}), lost());
    h.update(1, [1, 20], 0, "t2", json!({"b": 1}), ok(2));
    let h = h.finish(50, chain(&["t1", "t2"]), 2, json!({"a": 1, "b": 1}));
    assert_breaks(&h, Rule::VersionMismatch);
}

#[test]
fn indeterminate_update_seen_by_a_read_then_undone() {
    let mut h = H::new();
    // A read saw t1's version; a later read saw the version before it again.
    h.update(0, [0, 5], 0, "t1", json!({"k": 1}), lost());
    h.read(1, [10, 20], 1, json!({"k": 1}));
    h.read(1, [30, 40], 0, json!({}));
    let h = h.finish(50, chain(&["t1"]), 1, json!({"k": 1}));
    assert_breaks(&h, Rule::StaleRead);
}

#[test]
fn indeterminate_update_read_with_another_state() {
    let mut h = H::new();
    // Whether or not t1 applied, no turn produces {"k": 2} at version 1.
    h.update(0, [0, 5], 0, "t1", json!({"k": 1}), lost());
    h.read(1, [10, 20], 1, json!({"k": 2}));
    let h = h.finish(50, chain(&["t1"]), 1, json!({"k": 1}));
    assert_breaks(&h, Rule::ReadStateMismatch);
}

#[test]
fn indeterminate_update_read_but_missing_from_the_complete_log() {
    let mut h = H::new();
    // A read returned version 1, but the complete log ends at 0: the version came from nowhere.
    h.update(0, [0, 5], 0, "t1", json!({"k": 1}), lost());
    h.read(1, [10, 20], 1, json!({"k": 1}));
    let h = h.finish(50, chain(&[]), 0, json!({}));
    assert_breaks(&h, Rule::UnknownVersion);
}

// ---------------------------------------------------------------------------------------------
// Reports.

#[test]
fn violation_carries_the_cut_down_sub_history_and_the_seed() {
    let mut h = H::new();
    let a = h.update(0, [0, 10], 0, "a", json!({"x": 1}), ok(1));
    let b = h.update(1, [1, 11], 0, "b", json!({"x": 2}), ok(1));
    let overlapping = h.read(2, [5, 6], 0, json!({}));
    let far = h.read(2, [500, 600], 1, json!({"x": 1}));
    h.0.seed = Some(42);
    let report = check(&h.0);
    let v = report
        .violations
        .iter()
        .find(|v| v.rule() == Rule::LostUpdate)
        .unwrap();
    let ids: Vec<OpId> = v.sub_history.iter().map(|(id, _)| *id).collect();
    assert!(ids.contains(&a) && ids.contains(&b) && ids.contains(&overlapping));
    assert!(!ids.contains(&far));
    assert_eq!(v.seed, Some(42));
    let text = v.to_string();
    assert!(text.starts_with("lost-update (PRF-TURN-2)"), "{text}");
    assert!(text.contains("[seed 42]"), "{text}");
}

#[test]
fn reported_violations_are_capped_but_all_counted() {
    let mut h = H::new();
    for i in 0..50u64 {
        h.update(
            i as u32,
            [i, i + 100],
            0,
            &format!("t{i}"),
            json!({}),
            ok(1),
        );
    }
    let opts = CheckOptions {
        max_reported: 3,
        ..CheckOptions::default()
    };
    let report = check_with(&h.0, &opts);
    assert_eq!(report.violations.len(), 3);
    assert!(report.total_violations() >= 49);
}

// ---------------------------------------------------------------------------------------------
// Real receipts: hashes, signatures and state digests.

fn signed_chain(states: &[Value], tamper: Option<usize>) -> (String, String, Vec<Value>) {
    use oap_wire::ids::{SessionId, TurnId};
    use oap_wire::keys::Keypair;
    use oap_wire::receipt::{Receipt, state_digest};
    let tool = Keypair::from_seed([7; 32]);
    let session = SessionId::new();
    let mut out: Vec<Value> = Vec::new();
    let mut previous = session.genesis_turn_id().to_string();
    for (v, state) in states.iter().enumerate() {
        let turn = if v == 0 {
            TurnId::new().to_string()
        } else {
            format!("trn_{:026}", v)
        };
        let r = Receipt {
            receipt_type: "SessionReceipt".into(),
            session_id: session.to_string(),
            turn_id: turn.clone(),
            previous_turn_id: previous.clone(),
            state_version: v as u64,
            actor: tool.did.clone(),
            action: if v == 0 { "create" } else { "update" }.into(),
            state_digest: state_digest(state).unwrap(),
            issued_at: "2026-01-01T00:00:00Z".into(),
            prev_receipt_hash: out
                .last()
                .map(|p| p["receipt_hash"].as_str().unwrap().to_owned()),
            receipt_hash: None,
            proof: None,
            extra: Default::default(),
        };
        let mut sealed = r.seal(&tool).unwrap();
        if tamper == Some(v) {
            sealed["actor"] = json!("did:key:someone-else");
        }
        out.push(sealed);
        previous = turn;
    }
    (session.to_string(), tool.did.clone(), out)
}

fn history_over(session: String, tool: String, raw: Vec<Value>, patches: &[Value]) -> History {
    let entries: Vec<Arc<LogEntry>> = raw
        .iter()
        .map(|r| Arc::new(LogEntry::from_receipt(r).unwrap()))
        .collect();
    let mut h = H::new();
    for (i, p) in patches.iter().enumerate() {
        let t = &entries[i + 1].turn_id;
        let v = i as u64;
        h.update(0, [v * 10, v * 10 + 5], v, t, p.clone(), ok(v + 1));
    }
    let n = patches.len() as u64;
    let mut state = json!({});
    for p in patches {
        oap_wire::json::merge_patch(&mut state, p);
    }
    let mut h = h.finish(1000, entries, n, state);
    h.session_id = Some(session);
    h.tool_did = Some(tool);
    h.chain = Some(raw);
    h
}

#[test]
fn signed_chain_with_matching_digests_passes() {
    let states = [json!({}), json!({"a": 1}), json!({"a": 1, "b": 2})];
    let (s, tool, raw) = signed_chain(&states, None);
    let h = history_over(s, tool, raw, &[json!({"a": 1}), json!({"b": 2})]);
    assert_valid(&h);
}

#[test]
fn tampered_receipt_fails_verify_chain() {
    let states = [json!({}), json!({"a": 1}), json!({"a": 1, "b": 2})];
    let (s, tool, raw) = signed_chain(&states, Some(1));
    let h = history_over(s, tool, raw, &[json!({"a": 1}), json!({"b": 2})]);
    assert_breaks(&h, Rule::ChainBroken);
}

#[test]
fn receipt_digest_of_a_state_the_patches_do_not_produce() {
    // The Tool lost patch `a` but signed what it stored: every link holds, the digest does not.
    let states = [json!({}), json!({"a": 1}), json!({"b": 2})];
    let (s, tool, raw) = signed_chain(&states, None);
    let h = history_over(s, tool, raw, &[json!({"a": 1}), json!({"b": 2})]);
    assert_breaks(&h, Rule::StateDigestMismatch);
}

// ---------------------------------------------------------------------------------------------
// Generated histories.

fn config(clients: u32, ops: usize) -> SynthConfig {
    SynthConfig {
        clients,
        ops,
        ..SynthConfig::default()
    }
}

#[test]
fn generated_histories_really_overlap() {
    let h = synthesize(1, &config(8, 400));
    let report = check(&h);
    assert!(report.is_valid(), "{:?}", report.counts);
    assert!(report.overlap.pairs > 400, "{:?}", report.overlap);
    assert!(report.overlap.turn_pairs > 100, "{:?}", report.overlap);
    assert!(report.overlap.max_in_flight >= 4);
    assert!(report.stats.conflicts > 0 && report.stats.acknowledged > 0);
    assert!(report.stats.states_checked);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn valid_histories_are_accepted(seed in any::<u64>(), clients in 1u32..16, ops in 1usize..300) {
        let h = synthesize(seed, &config(clients, ops));
        let report = check(&h);
        prop_assert!(report.is_valid(), "seed {seed}: {:?}\n{}", report.counts,
            report.violations.first().map(ToString::to_string).unwrap_or_default());
        if clients >= 2 && ops >= 50 {
            prop_assert!(report.overlap.pairs > 0);
        }
    }

    #[test]
    fn single_faults_are_rejected(seed in any::<u64>(), clients in 2u32..12, fault in 0usize..HistoryFault::all().len()) {
        let fault = HistoryFault::all()[fault];
        let mut h = synthesize(seed, &config(clients, 200));
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        prop_assume!(inject(&mut h, fault, &mut rng));
        let report = check(&h);
        prop_assert!(report.breaks(fault.rule()), "seed {seed}, {fault:?}: {:?}", report.counts);
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile histories: whatever a Tool answers, the checker reports and never panics.

fn version() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..8, Just(u64::MAX), Just(u64::MAX - 1), any::<u64>()]
}

fn entry() -> impl Strategy<Value = Arc<LogEntry>> {
    (
        version(),
        0u8..6,
        0u8..6,
        0u8..4,
        proptest::option::of(0u8..4),
    )
        .prop_map(|(version, t, p, h, ph)| {
            Arc::new(LogEntry {
                version,
                turn_id: key(&format!("t{t}")),
                previous_turn_id: key(&format!("t{p}")),
                receipt_hash: key(&format!("h{h}")),
                prev_receipt_hash: ph.map(|x| key(&format!("h{x}"))),
                state_digest: None,
            })
        })
}

fn arbitrary_ret() -> impl Strategy<Value = Ret> {
    prop_oneof![
        version().prop_map(ok),
        (version(), 0u8..3).prop_map(|(v, s)| Ret::State(StateRead {
            version: v,
            status: None,
            state: Snapshot::new(json!({ "k": s })),
        })),
        (
            version(),
            proptest::collection::vec(entry(), 0..6),
            any::<bool>()
        )
            .prop_map(|(from, entries, complete)| Ret::Log(LogPage {
                from,
                entries,
                complete,
            })),
        version().prop_map(conflict),
        Just(Ret::DuplicateTurn),
        Just(lost()),
    ]
}

fn arbitrary_op() -> impl Strategy<Value = Operation> {
    let op = prop_oneof![
        (version(), 0u8..6, 0u8..3).prop_map(|(e, t, p)| Op::Update {
            expected_version: e,
            turn_id: key(&format!("t{t}")),
            patch: Arc::new(json!({ "k": p })),
        }),
        (0u8..6).prop_map(|t| Op::Pause {
            turn_id: key(&format!("t{t}"))
        }),
        Just(Op::Read),
        version().prop_map(|from| Op::ReadLog { from }),
    ];
    (op, arbitrary_ret(), 0u32..4, any::<u64>(), any::<u64>()).prop_map(
        |(op, ret, client, a, b)| Operation {
            client,
            op,
            ret,
            invoked: a.min(b),
            returned: a.max(b),
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_histories_never_panic(
        ops in proptest::collection::vec(arbitrary_op(), 0..40),
        base in version(),
        final_log in proptest::option::of(0usize..40),
    ) {
        let mut h = History::new(Base { version: base, ..Base::default() }, ops);
        h.final_log = final_log.filter(|&i| i < h.ops.len()).map(|i| i as OpId);
        let report = check(&h);
        prop_assert!(report.total_violations() >= report.violations.len());
    }
}
