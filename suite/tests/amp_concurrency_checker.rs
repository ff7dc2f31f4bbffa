//! The AMP concurrency checker on hand-written histories: a correct history passes, and each
//! rule is broken alone by one change to it (the one exception, `duplicate-seq`, cannot be
//! broken alone while the final history is readable: two messages acknowledged with one `seq`
//! cannot both be at it, so the final read is made to fail as well).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use oap_conform::concurrency::{
    AmpBase, History, HistoryEntry, Op, Operation, Ret, Rule, TurnKey, check,
};

const A: &str = "did:key:z6MkA";
const B: &str = "did:key:z6MkB";

fn entry(seq: u64, from: &str, id: &str) -> HistoryEntry {
    HistoryEntry {
        seq,
        from: Arc::from(from),
        id: Arc::from(id),
    }
}

fn message(client: u32, id: &str, invoked: u64, returned: u64, ret: Ret) -> Operation {
    Operation {
        client,
        op: Op::Message {
            msg_id: TurnKey::from(id),
        },
        ret,
        invoked,
        returned,
    }
}

fn ack(seq: u64) -> Ret {
    Ret::Ack {
        seq,
        duplicate: false,
    }
}

fn read(client: u32, invoked: u64, returned: u64, entries: Vec<HistoryEntry>) -> Operation {
    Operation {
        client,
        op: Op::ReadHistory,
        ret: Ret::History(Arc::new(entries)),
        invoked,
        returned,
    }
}

/// The final history of the correct run.
fn final_entries() -> Vec<HistoryEntry> {
    vec![
        entry(1, A, "init"),
        entry(2, B, "accept"),
        entry(3, A, "m0"),
        entry(4, B, "m0"),
        entry(5, A, "m1"),
        entry(6, B, "m1"),
        entry(7, A, "m2"),
        entry(8, B, "m2"),
    ]
}

/// A correct history: two senders, a twin (`B`'s `m1` sent twice at once), a message with an
/// unknown outcome that was applied (`A`'s `m2`), a refused one (`B`'s `m3`), a read during the
/// race, and the final read (the last operation).
fn ops() -> Vec<Operation> {
    vec![
        message(0, "m0", 0, 10, ack(3)),
        message(1, "m0", 5, 15, ack(4)),
        message(0, "m1", 20, 30, ack(5)),
        message(1, "m1", 20, 30, ack(6)),
        message(
            1,
            "m1",
            21,
            31,
            Ret::Ack {
                seq: 6,
                duplicate: true,
            },
        ),
        message(
            0,
            "m2",
            40,
            60,
            Ret::Indeterminate {
                reason: "timeout".into(),
            },
        ),
        message(1, "m2", 45, 55, ack(8)),
        message(
            1,
            "m3",
            56,
            58,
            Ret::Refused {
                status: 409,
                code: "invalid_transition".into(),
            },
        ),
        read(0, 35, 38, final_entries()[..6].to_vec()),
        read(2, 100, 110, final_entries()),
    ]
}

fn history(ops: Vec<Operation>) -> History {
    let last = ops.len() as u32 - 1;
    History {
        session_id: Some("ses_01HX2QF8GZRP9V3K5YXJW0AQ7M".into()),
        seed: Some(42),
        ops,
        final_read: Some(last),
        amp: Some(AmpBase {
            senders: vec![Arc::from(A), Arc::from(B)],
            setup: final_entries()[..2].to_vec(),
        }),
        ..History::default()
    }
}

/// `ops` with the final read returning `entries`, and the read during the race its first six
/// entries (what a Tool serving that history would have served then).
fn with_final(mut ops: Vec<Operation>, entries: Vec<HistoryEntry>) -> Vec<Operation> {
    let last = ops.len() - 1;
    ops[8] = read(0, 35, 38, entries[..entries.len().min(6)].to_vec());
    ops[last].ret = Ret::History(Arc::new(entries));
    ops
}

fn broken(h: &History) -> BTreeSet<Rule> {
    check(h).counts.keys().copied().collect()
}

#[test]
fn correct_history_passes() {
    let report = check(&history(ops()));
    assert!(report.is_valid(), "{:#?}", report.violations);
    assert_eq!(report.stats.acknowledged, 5);
    assert_eq!(report.stats.duplicates, 1);
    assert_eq!(report.stats.indeterminate, 1);
    assert_eq!(report.stats.indeterminate_applied, 1);
    assert_eq!(report.stats.final_version, 8);
    assert!(report.overlap.turn_pairs >= 2, "{:?}", report.overlap);
}

#[test]
fn gap() {
    let mut e = final_entries();
    e.remove(1);
    let h = history(with_final(ops(), e));
    assert_eq!(broken(&h), BTreeSet::from([Rule::HistoryGap]));
}

#[test]
fn lost_message() {
    let mut e = final_entries();
    e.pop();
    let h = history(with_final(ops(), e));
    assert_eq!(broken(&h), BTreeSet::from([Rule::LostMessage]));
}

#[test]
fn ack_seq_mismatch() {
    let mut e = final_entries();
    e[2] = entry(3, B, "m0");
    e[3] = entry(4, A, "m0");
    let h = history(with_final(ops(), e));
    assert_eq!(broken(&h), BTreeSet::from([Rule::AckSeqMismatch]));
}

#[test]
fn duplicate_seq_needs_no_history() {
    let mut o = ops();
    o[1].ret = ack(3);
    let last = o.len() - 1;
    o[last].ret = Ret::Indeterminate {
        reason: "timeout".into(),
    };
    assert_eq!(
        broken(&history(o)),
        BTreeSet::from([Rule::DuplicateSeq, Rule::HistoryUnreadable])
    );
}

#[test]
fn applied_twice() {
    let mut e = final_entries();
    e.push(entry(9, A, "m2"));
    let h = history(with_final(ops(), e));
    assert_eq!(broken(&h), BTreeSet::from([Rule::MessageAppliedTwice]));
    // A twin applied twice as well.
    let mut e = final_entries();
    e.push(entry(9, B, "m1"));
    let h = history(with_final(ops(), e));
    assert_eq!(broken(&h), BTreeSet::from([Rule::MessageAppliedTwice]));
}

#[test]
fn phantom() {
    let mut e = final_entries();
    e.push(entry(9, A, "never-sent"));
    let h = history(with_final(ops(), e));
    assert_eq!(broken(&h), BTreeSet::from([Rule::PhantomMessage]));
}

#[test]
fn refused_applied() {
    let mut e = final_entries();
    e.push(entry(9, B, "m3"));
    let h = history(with_final(ops(), e));
    assert_eq!(broken(&h), BTreeSet::from([Rule::RefusedMessageApplied]));
}

#[test]
fn sender_order() {
    // A sent m0 (answered at 10) before m1 (sent at 20); the Tool put m1 first and said so.
    let mut o = ops();
    o[0].ret = ack(5);
    o[2].ret = ack(3);
    // B's m0 (seq 4) is answered after A's m1 was sent, so only A's order is broken.
    o[1].returned = 25;
    let mut e = final_entries();
    e[2] = entry(3, A, "m1");
    e[4] = entry(5, A, "m0");
    let o = with_final(o, e);
    assert_eq!(broken(&history(o)), BTreeSet::from([Rule::SenderOrder]));
}

#[test]
fn real_time_order() {
    // B's m0 was acknowledged at 15, A sent m1 at 20; the Tool put A's m1 first.
    let mut o = ops();
    o[1].ret = ack(5);
    o[2].ret = ack(4);
    let mut e = final_entries();
    e[3] = entry(4, A, "m1");
    e[4] = entry(5, B, "m0");
    let o = with_final(o, e);
    assert_eq!(
        broken(&history(o)),
        BTreeSet::from([Rule::MessageRealTimeOrder])
    );
}

#[test]
fn rewritten() {
    let mut o = ops();
    let mut early = final_entries()[..6].to_vec();
    early[2] = entry(3, B, "m0");
    o[8] = read(0, 35, 38, early);
    assert_eq!(
        broken(&history(o)),
        BTreeSet::from([Rule::HistoryRewritten])
    );
}

#[test]
fn unreadable() {
    let mut o = ops();
    let last = o.len() - 1;
    o[last].ret = Ret::Refused {
        status: 404,
        code: "session_not_found".into(),
    };
    assert_eq!(
        broken(&history(o)),
        BTreeSet::from([Rule::HistoryUnreadable])
    );
}

fn state(client: u32, id: &str, expected_seq: u64, window: (u64, u64), ret: Ret) -> Operation {
    Operation {
        client,
        op: Op::State {
            msg_id: TurnKey::from(id),
            expected_seq,
        },
        ret,
        invoked: window.0,
        returned: window.1,
    }
}

/// The correct history plus two `SESSION_STATE`s racing after it: `A`'s `s1` expecting seq 8
/// (acknowledged with 9) and `B`'s `s1` expecting 8 too (refused: the history ends at 9 by then).
/// The final read holds `A`'s state at seq 9.
fn with_states(a: (u64, Ret), b: (u64, Ret), entries: Vec<HistoryEntry>) -> History {
    let mut o = ops();
    let last = o.pop().unwrap();
    o.push(state(0, "s1", a.0, (70, 80), a.1));
    o.push(state(1, "s1", b.0, (72, 82), b.1));
    o.push(last);
    history(with_final(o, entries))
}

fn with_state_entry() -> Vec<HistoryEntry> {
    let mut e = final_entries();
    e.push(entry(9, A, "s1"));
    e
}

fn conflict(current: u64) -> Ret {
    Ret::Conflict {
        current_version: current,
    }
}

#[test]
fn racing_states_pass_when_applied_on_the_history_they_expect() {
    let h = with_states((8, ack(9)), (8, conflict(9)), with_state_entry());
    let report = check(&h);
    assert!(report.is_valid(), "{:#?}", report.violations);
    assert_eq!(report.stats.conflicts, 1);
}

#[test]
fn stale_state_applied() {
    // A's state expected seq 7 (an older history) and was applied at 9 all the same.
    let h = with_states((7, ack(9)), (8, conflict(9)), with_state_entry());
    assert_eq!(broken(&h), BTreeSet::from([Rule::StaleStateApplied]));
    // The same with an unknown outcome: the history alone shows it.
    let unknown = Ret::Indeterminate {
        reason: "timeout".into(),
    };
    let h = with_states((7, unknown), (8, conflict(9)), with_state_entry());
    assert_eq!(broken(&h), BTreeSet::from([Rule::StaleStateApplied]));
}

#[test]
fn spurious_seq_conflict() {
    // B's state was refused as a conflict naming current seq 8, the very seq it expected.
    let h = with_states((8, ack(9)), (8, conflict(8)), with_state_entry());
    assert_eq!(broken(&h), BTreeSet::from([Rule::SpuriousSeqConflict]));
}

#[test]
fn a_state_refused_as_a_conflict_is_not_applied() {
    let mut e = with_state_entry();
    e.push(entry(10, B, "s1"));
    let h = with_states((8, ack(9)), (8, conflict(9)), e);
    // At seq 10 it is also stale: it expected 8.
    assert_eq!(
        broken(&h),
        BTreeSet::from([Rule::RefusedMessageApplied, Rule::StaleStateApplied])
    );
}

#[test]
fn a_violation_names_rule_requirement_seed_and_sub_history() {
    let mut e = final_entries();
    e.pop();
    let report = check(&history(with_final(ops(), e)));
    let v = &report.violations[0];
    let text = v.to_string();
    assert!(
        text.starts_with("lost-message (PRF-AMP-25): message m2"),
        "{text}"
    );
    assert!(text.contains("[seed 42]"), "{text}");
    assert!(
        text.contains("* #6 client 1 [45, 55] message m2 -> ack seq 8"),
        "{text}"
    );
    // The sub-history holds the offending operations and those overlapping them, no more.
    assert!(v.sub_history.iter().all(|(id, _)| *id != 0), "{text}");
}

#[test]
fn every_amp_rule_is_tied_to_an_amp_requirement() {
    let amp = [
        Rule::HistoryGap,
        Rule::LostMessage,
        Rule::AckSeqMismatch,
        Rule::DuplicateSeq,
        Rule::MessageAppliedTwice,
        Rule::PhantomMessage,
        Rule::RefusedMessageApplied,
        Rule::SenderOrder,
        Rule::MessageRealTimeOrder,
        Rule::HistoryRewritten,
        Rule::StaleStateApplied,
        Rule::SpuriousSeqConflict,
        Rule::HistoryUnreadable,
    ];
    for r in amp {
        assert!(r.requirement().starts_with("PRF-AMP-"), "{r}");
    }
}
