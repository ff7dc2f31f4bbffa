//! The AMP checker: `SESSION_MSG`s raced by the participants of one session, judged against the
//! session's final `history` (profile §12.6 and §12.7).
//!
//! An AMP session's history is an append-only sequence numbered from 1, so the rules need no
//! model: the final `history` (read by a participant after every sender finished) must run
//! `seq` 1, 2, 3, … without a gap (PRF-AMP-25); every acknowledged message must be in it exactly
//! once, at the `seq` its `SESSION_ACK` gave (PRF-AMP-19, PRF-AMP-28), and so must every
//! duplicate's acknowledgement; a message with an unknown outcome may be in it at most once; an
//! entry must be a message a client sent (or one of the setup messages), and not one refused every
//! time it was sent; a message acknowledged before another was sent must come first (for one
//! sender: the order it sent them in); and no history served during the race may differ from the
//! final one where they overlap.
//!
//! `SESSION_STATE`s are messages like the others, plus the lost-update rule of PRF-AMP-26: one
//! that is in the final history must be there at `expected_seq + 1` (it was applied on the
//! history its sender read, not on a newer one), and a `version_conflict` refusal must name a
//! `current_seq` other than the `expected_seq` it refused.
//!
//! Everything is one pass over the operations and the entries with hash maps, plus one sort by
//! `seq`: `O(n log n)`.

use std::collections::HashMap;
use std::sync::Arc;

use super::super::history::{AmpBase, HistoryEntry, Nanos, Op, OpId, Ret};
use super::super::violation::ViolationKind as K;
use super::Ctx;

/// A message as the history identifies it: (`from`, `id`).
type Key = (Arc<str>, Arc<str>);

/// What the clients did with one message id.
#[derive(Default)]
struct Sent {
    /// Every send of it.
    sends: Vec<OpId>,
    /// The earliest invocation.
    first_invoked: Nanos,
    /// The earliest return of a send acknowledged with `SESSION_ACK`.
    acked_at: Option<Nanos>,
    /// Every send was refused (a definite answer that nothing was applied).
    all_refused: bool,
    /// The client that sent it.
    client: u32,
    /// A `SESSION_STATE`'s `expected_seq`.
    expected_seq: Option<u64>,
}

/// What the AMP checks learn besides violations.
pub(super) struct AmpStats {
    /// The last `seq` of the final history (`None`: it could not be read).
    pub(super) last_seq: Option<u64>,
    /// Messages sent only with unknown outcomes that the final history shows applied.
    pub(super) indeterminate_applied: usize,
}

/// The checks of the module documentation, for a history with an [`AmpBase`].
pub(super) fn check_amp(ctx: &mut Ctx<'_>, base: &AmpBase) -> AmpStats {
    let h = ctx.h;
    let sent = index_sends(ctx, base);
    check_duplicate_seqs(ctx);
    let final_id = h.final_read;
    let final_entries = match final_id.and_then(|id| h.op(id)).map(|o| &o.ret) {
        Some(Ret::History(entries)) => entries.clone(),
        _ => {
            ctx.report(K::HistoryUnreadable, final_id.into_iter().collect());
            return AmpStats {
                last_seq: None,
                indeterminate_applied: 0,
            };
        }
    };
    let final_id = final_id.unwrap_or_default();
    check_gaps(ctx, &final_entries, final_id);
    let applied = check_entries(ctx, base, &sent, &final_entries, final_id);
    check_acks(ctx, &sent, &applied, final_id);
    check_order(ctx, &sent, &applied, final_id);
    check_expected_seqs(ctx, &sent, &applied, final_id);
    check_reads(ctx, &final_entries, final_id);
    let indeterminate_applied = sent
        .iter()
        .filter(|(k, s)| s.acked_at.is_none() && !s.all_refused && applied.contains_key(*k))
        .count();
    AmpStats {
        last_seq: Some(final_entries.last().map_or(0, |e| e.seq)),
        indeterminate_applied,
    }
}

fn index_sends(ctx: &Ctx<'_>, base: &AmpBase) -> HashMap<Key, Sent> {
    let mut sent: HashMap<Key, Sent> = HashMap::new();
    for (i, o) in ctx.h.ops.iter().enumerate() {
        let Some(msg_id) = o.op.amp_message() else {
            continue;
        };
        let Some(from) = base.senders.get(o.client as usize) else {
            continue;
        };
        let s = sent.entry((from.clone(), msg_id.clone())).or_insert(Sent {
            first_invoked: o.invoked,
            all_refused: true,
            client: o.client,
            ..Sent::default()
        });
        s.sends.push(i as OpId);
        if let Op::State { expected_seq, .. } = o.op {
            s.expected_seq = Some(expected_seq);
        }
        s.first_invoked = s.first_invoked.min(o.invoked);
        if let Ret::Ack { .. } = o.ret {
            s.acked_at = Some(s.acked_at.map_or(o.returned, |t| t.min(o.returned)));
        }
        s.all_refused &= matches!(o.ret, Ret::Refused { .. } | Ret::Conflict { .. });
    }
    sent
}

/// Two different messages acknowledged with one `seq` (needs no history read).
fn check_duplicate_seqs(ctx: &mut Ctx<'_>) {
    let h = ctx.h;
    let mut acks: Vec<(u64, OpId)> = h
        .ops
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o.ret {
            Ret::Ack { seq, .. } => Some((seq, i as OpId)),
            _ => None,
        })
        .collect();
    acks.sort_unstable();
    let key = |id: OpId| h.op(id).map(|o| (o.client, &o.op));
    for pair in acks.windows(2) {
        let ((s1, a), (s2, b)) = (pair[0], pair[1]);
        if s1 == s2 && key(a) != key(b) {
            ctx.report(K::DuplicateSeq { seq: s1 }, vec![a, b]);
        }
    }
}

fn check_gaps(ctx: &mut Ctx<'_>, entries: &[HistoryEntry], final_id: OpId) {
    for (i, e) in entries.iter().enumerate() {
        let expected = i as u64 + 1;
        if e.seq != expected {
            ctx.report(
                K::HistoryGap {
                    expected,
                    found: e.seq,
                },
                vec![final_id],
            );
            return;
        }
    }
}

/// Phantom, refused and twice-applied entries; returns each sent message's first `seq`.
fn check_entries(
    ctx: &mut Ctx<'_>,
    base: &AmpBase,
    sent: &HashMap<Key, Sent>,
    entries: &[HistoryEntry],
    final_id: OpId,
) -> HashMap<Key, u64> {
    let mut applied: HashMap<Key, u64> = HashMap::new();
    let mut seen: HashMap<Key, usize> = HashMap::new();
    for e in entries {
        let key: Key = (e.from.clone(), e.id.clone());
        let n = seen.entry(key.clone()).or_default();
        *n += 1;
        let setup = base.setup.iter().any(|s| s.from == e.from && s.id == e.id);
        match sent.get(&key) {
            Some(s) => {
                if *n == 1 && s.all_refused {
                    let kind = K::RefusedMessageApplied {
                        msg_id: e.id.clone(),
                        seq: e.seq,
                    };
                    let mut ops = s.sends.clone();
                    ops.push(final_id);
                    ctx.report(kind, ops);
                }
                applied.entry(key).or_insert(e.seq);
            }
            None if setup => {}
            None => ctx.report(K::PhantomMessage { seq: e.seq }, vec![final_id]),
        }
    }
    let mut twice: Vec<(&Key, usize)> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, n)| (k, *n))
        .collect();
    twice.sort_unstable();
    for (key, n) in twice {
        let mut ops = sent.get(key).map(|s| s.sends.clone()).unwrap_or_default();
        ops.push(final_id);
        let kind = K::MessageAppliedTwice {
            msg_id: key.1.clone(),
            entries: n,
        };
        ctx.report(kind, ops);
    }
    applied
}

/// Every acknowledgement names the message's `seq` in the history; acknowledged messages are
/// there.
fn check_acks(
    ctx: &mut Ctx<'_>,
    sent: &HashMap<Key, Sent>,
    applied: &HashMap<Key, u64>,
    final_id: OpId,
) {
    let mut keys: Vec<(&Key, &Sent)> = sent.iter().collect();
    keys.sort_unstable_by_key(|(_, s)| s.sends.first().copied());
    for (key, s) in keys {
        for &id in &s.sends {
            let Some(Ret::Ack { seq, .. }) = ctx.h.op(id).map(|o| &o.ret) else {
                continue;
            };
            let seq = *seq;
            match applied.get(key) {
                None => {
                    let kind = K::LostMessage {
                        msg_id: key.1.clone(),
                        seq,
                    };
                    ctx.report(kind, vec![id, final_id]);
                    break;
                }
                Some(&recorded) if recorded != seq => {
                    let kind = K::AckSeqMismatch {
                        msg_id: key.1.clone(),
                        acknowledged: seq,
                        recorded,
                    };
                    ctx.report(kind, vec![id, final_id]);
                }
                Some(_) => {}
            }
        }
    }
}

/// A message acknowledged before another was first sent has the lower `seq`: per sender (the
/// order it sent them in) and across senders (real time).
fn check_order(
    ctx: &mut Ctx<'_>,
    sent: &HashMap<Key, Sent>,
    applied: &HashMap<Key, u64>,
    final_id: OpId,
) {
    let mut by_seq: Vec<(u64, &Key, &Sent)> = applied
        .iter()
        .filter_map(|(k, &seq)| sent.get(k).map(|s| (seq, k, s)))
        .collect();
    by_seq.sort_unstable_by_key(|(seq, _, _)| *seq);
    // The latest first invocation among the messages of lower `seq`: over all senders, and per
    // sender.
    let mut latest: Option<(Nanos, &Key, &Sent)> = None;
    let mut latest_of: HashMap<u32, (Nanos, &Key, &Sent)> = HashMap::new();
    for &(_, key, s) in &by_seq {
        if let Some(acked) = s.acked_at {
            let ops = |other: &Sent| {
                let mut ops = vec![
                    s.sends.first().copied().unwrap_or_default(),
                    other.sends.first().copied().unwrap_or_default(),
                ];
                ops.push(final_id);
                ops
            };
            let own = latest_of.get(&s.client).filter(|(t, _, _)| *t > acked);
            let any = latest.filter(|(t, _, _)| *t > acked);
            if let Some(&(_, later, other)) = own {
                let kind = K::SenderOrder {
                    first: key.1.clone(),
                    second: later.1.clone(),
                };
                ctx.report(kind, ops(other));
            } else if let Some((_, later, other)) = any {
                let kind = K::MessageRealTimeOrder {
                    first: key.1.clone(),
                    second: later.1.clone(),
                };
                ctx.report(kind, ops(other));
            }
        }
        if latest.is_none_or(|(t, _, _)| s.first_invoked > t) {
            latest = Some((s.first_invoked, key, s));
        }
        let mine = latest_of
            .entry(s.client)
            .or_insert((s.first_invoked, key, s));
        if s.first_invoked > mine.0 {
            *mine = (s.first_invoked, key, s);
        }
    }
}

/// PRF-AMP-26: an applied `SESSION_STATE` is at `expected_seq + 1`; a conflict names another
/// `current_seq` than the one expected.
fn check_expected_seqs(
    ctx: &mut Ctx<'_>,
    sent: &HashMap<Key, Sent>,
    applied: &HashMap<Key, u64>,
    final_id: OpId,
) {
    let mut states: Vec<(&Key, &Sent, u64)> = sent
        .iter()
        .filter_map(|(k, s)| s.expected_seq.map(|e| (k, s, e)))
        .collect();
    states.sort_unstable_by_key(|(_, s, _)| s.sends.first().copied());
    for (key, s, expected_seq) in states {
        if let Some(&seq) = applied.get(key)
            && Some(seq) != expected_seq.checked_add(1)
        {
            let kind = K::StaleStateApplied {
                msg_id: key.1.clone(),
                expected_seq,
                seq,
            };
            let mut ops = s.sends.clone();
            ops.push(final_id);
            ctx.report(kind, ops);
        }
        for &id in &s.sends {
            if let Some(Ret::Conflict { current_version }) = ctx.h.op(id).map(|o| &o.ret)
                && *current_version == expected_seq
            {
                let kind = K::SpuriousSeqConflict {
                    msg_id: key.1.clone(),
                    seq: expected_seq,
                };
                ctx.report(kind, vec![id]);
            }
        }
    }
}

/// Every history served during the race agrees with the final one where both have entries.
fn check_reads(ctx: &mut Ctx<'_>, final_entries: &Arc<Vec<HistoryEntry>>, final_id: OpId) {
    let h = ctx.h;
    for (i, o) in h.ops.iter().enumerate() {
        let id = i as OpId;
        let Ret::History(entries) = &o.ret else {
            continue;
        };
        if id == final_id {
            continue;
        }
        let differs = entries
            .iter()
            .enumerate()
            .find(|(j, e)| final_entries.get(*j) != Some(*e));
        if let Some((j, e)) = differs {
            let seq = final_entries.get(j).map_or(e.seq, |f| f.seq.min(e.seq));
            ctx.report(K::HistoryRewritten { seq }, vec![id, final_id]);
        }
    }
}
