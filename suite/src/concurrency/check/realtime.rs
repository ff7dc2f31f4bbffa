//! Real time: every version a client saw was current at some instant of its request's window.
//!
//! An *observation* is any definite answer that names a current version: an acknowledged turn
//! (the version it produced), a state read, a complete log page (its last receipt) and a
//! `version_conflict` (its `current_version`). Because versions only grow, an observation of
//! version `u` returned at instant `t` proves that every version `≤ u` was installed by `t`.
//! Sorted by version once, two sweeps decide every observation:
//!
//! - *not superseded*: no observation of a higher version returned before this one was sent
//!   (suffix minimum of return instants);
//! - *already produced*: every version up to this one was produced by a turn sent before this
//!   one returned (prefix maximum of the producers' invocations).
//!
//! The same two arrays decide the refusals: a `version_conflict` whose `expected_version` was
//! installed before the request and not superseded until it returned (no turn that could
//! produce a later version was sent in between) is spurious; a `duplicate_turn` must follow an
//! application of its turn id that was sent before it returned, and a `version_conflict` must
//! not answer a turn id whose application was already acknowledged (the turn check comes
//! first).

use super::super::history::{Nanos, Op, OpId, Ret};
use super::super::violation::ViolationKind;
use super::Ctx;
use super::log::MergedLog;
use super::versions::Replay;

#[derive(Clone, Copy)]
struct Obs {
    version: u64,
    invoked: Nanos,
    returned: Nanos,
    op: OpId,
}

/// Sorts observations by version: a counting sort when the versions are dense (they are, in
/// any history of a working Tool), a comparison sort otherwise. Order within a version is
/// irrelevant to every sweep.
fn sort_by_version(obs: &mut Vec<Obs>) {
    let (Some(lo), Some(hi)) = (
        obs.iter().map(|o| o.version).min(),
        obs.iter().map(|o| o.version).max(),
    ) else {
        return;
    };
    let span = usize::try_from(hi - lo).unwrap_or(usize::MAX);
    if span > obs.len().saturating_mul(4) {
        obs.sort_unstable_by_key(|o| o.version);
        return;
    }
    let slot = |o: &Obs| (o.version - lo) as usize;
    let mut starts = vec![0usize; span + 2];
    for o in obs.iter() {
        starts[slot(o) + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut sorted = vec![obs[0]; obs.len()];
    for o in obs.iter() {
        let at = &mut starts[slot(o)];
        sorted[*at] = *o;
        *at += 1;
    }
    *obs = sorted;
}

/// The index of the first observation of a version `≥ version` (`obs` sorted by version).
/// Observed versions are nearly dense, so a guess from the first version usually lands on it.
fn first_at_least(obs: &[Obs], version: u64) -> usize {
    let Some(first) = obs.first() else { return 0 };
    let below = |i: usize| obs.get(i).is_some_and(|o| o.version < version);
    let guess = usize::try_from(version.saturating_sub(first.version)).unwrap_or(usize::MAX);
    if guess > 0 && guess <= obs.len() && below(guess - 1) && !below(guess) {
        return guess;
    }
    obs.partition_point(|o| o.version < version)
}

/// `min[i]`: the earliest `(returned, op)` among `obs[i..]`.
fn suffix_min_returned(obs: &[Obs]) -> Vec<(Nanos, OpId)> {
    let mut out = vec![(Nanos::MAX, OpId::MAX); obs.len() + 1];
    for i in (0..obs.len()).rev() {
        out[i] = out[i + 1].min((obs[i].returned, obs[i].op));
    }
    out
}

fn is_read(ctx: &Ctx<'_>, op: OpId) -> bool {
    ctx.h
        .op(op)
        .is_some_and(|o| matches!(o.op, Op::Read | Op::ReadLog { .. }))
}

fn version_of(ctx: &Ctx<'_>, op: OpId) -> u64 {
    ctx.h
        .op(op)
        .and_then(|o| o.ret.observed_version())
        .unwrap_or(0)
}

fn check_observations(ctx: &mut Ctx<'_>, log: &MergedLog<'_>, replay: &Replay<'_>, obs: &[Obs]) {
    let base = ctx.h.base.version;
    let returned = suffix_min_returned(obs);
    let mut producer = 0;
    // The latest-invoked producer of a version up to the current one: (invoked, op, version).
    let mut latest_invoked: (Nanos, OpId, u64) = (0, OpId::MAX, 0);
    let mut group_end = 0;
    for (i, o) in obs.iter().enumerate() {
        if i == group_end {
            group_end = i + obs[i..].partition_point(|x| x.version == o.version);
        }
        if o.version < base {
            ctx.report(
                ViolationKind::StaleRead {
                    observed: o.version,
                    newer: base,
                },
                vec![o.op],
            );
        } else if returned[group_end].0 < o.invoked {
            let witness = returned[group_end].1;
            let newer = version_of(ctx, witness);
            let kind = if is_read(ctx, o.op) {
                ViolationKind::StaleRead {
                    observed: o.version,
                    newer,
                }
            } else {
                ViolationKind::RealTimeOrder {
                    observed: o.version,
                    other: newer,
                }
            };
            ctx.report(kind, vec![o.op, witness]);
        }
        while let Some(p) = replay.producers.get(producer)
            && p.version <= o.version
        {
            latest_invoked = latest_invoked.max((p.invoked, p.op, p.version));
            producer += 1;
        }
        if o.returned < latest_invoked.0 && latest_invoked.1 != o.op {
            let witness = latest_invoked.1;
            let kind = if is_read(ctx, o.op) {
                ViolationKind::FutureRead {
                    observed: o.version,
                }
            } else {
                ViolationKind::RealTimeOrder {
                    observed: o.version,
                    other: latest_invoked.2,
                }
            };
            ctx.report(kind, vec![o.op, witness]);
        }
        if let Some(head) = log.head()
            && o.version > head
        {
            ctx.report(
                ViolationKind::UnknownVersion {
                    observed: o.version,
                    head,
                },
                vec![o.op],
            );
        }
    }
}

fn check_conflicts(ctx: &mut Ctx<'_>, log: &MergedLog<'_>, replay: &Replay<'_>, obs: &[Obs]) {
    let h = ctx.h;
    let returned = suffix_min_returned(obs);
    // `beyond[k]`: the earliest invocation among producers `k..`.
    let mut beyond = vec![(Nanos::MAX, OpId::MAX); replay.producers.len() + 1];
    for k in (0..replay.producers.len()).rev() {
        let p = replay.producers[k];
        beyond[k] = beyond[k + 1].min((p.invoked, p.op));
    }
    // Without a complete log, an indeterminate turn nobody logged may still have applied.
    let unplaced = if log.complete.is_some() {
        Nanos::MAX
    } else {
        h.ops
            .iter()
            .enumerate()
            .filter(|(_, o)| o.ret.is_indeterminate())
            .filter_map(|(i, o)| {
                let n = ctx.turns.number_of_op(i as OpId)?;
                log.version_of(n).is_none().then_some(o.invoked)
            })
            .min()
            .unwrap_or(Nanos::MAX)
    };
    for (i, o) in h.ops.iter().enumerate() {
        let (Ret::Conflict { current_version }, Some(t)) = (&o.ret, o.op.turn()) else {
            continue;
        };
        let Some(expected) = t.expected_version else {
            continue;
        };
        let id = i as OpId;
        let spurious = ViolationKind::SpuriousConflict {
            expected_version: expected,
            current_version: *current_version,
        };
        if *current_version == expected {
            ctx.report(spurious, vec![id]);
            continue;
        }
        let installer = if expected == h.base.version {
            Some(OpId::MAX)
        } else if expected > h.base.version {
            let (at, op) = returned[first_at_least(obs, expected)];
            (at <= o.invoked).then_some(op)
        } else {
            None
        };
        let Some(installer) = installer else {
            continue;
        };
        let k = replay.count_upto(expected);
        if beyond[k].0 >= o.returned && unplaced >= o.returned {
            let mut ops = vec![id];
            if installer != OpId::MAX {
                ops.push(installer);
            }
            ctx.report(spurious, ops);
        }
    }
}

/// A `version_conflict` for a turn id whose application was acknowledged before the request was
/// sent: the turn check comes first (PRF-ENV-10), so the answer must be `duplicate_turn`.
fn check_conflict_order(ctx: &mut Ctx<'_>) {
    let h = ctx.h;
    for (i, o) in h.ops.iter().enumerate() {
        let id = i as OpId;
        if !matches!(o.ret, Ret::Conflict { .. }) || !ctx.turns.is_shared(id) {
            continue;
        }
        let applied_before = ctx.turns.ops_like(id).find(|&x| {
            h.op(x)
                .is_some_and(|p| matches!(p.ret, Ret::Turn(_)) && p.returned < o.invoked)
        });
        if let (Some(applied), Some(t)) = (applied_before, o.op.turn()) {
            ctx.report(
                ViolationKind::ConflictForAppliedTurn {
                    turn_id: t.turn_id.clone(),
                },
                vec![id, applied],
            );
        }
    }
}

fn check_duplicates(ctx: &mut Ctx<'_>, log: &MergedLog<'_>, replay: &Replay<'_>) {
    let h = ctx.h;
    for (i, o) in h.ops.iter().enumerate() {
        let (Ret::DuplicateTurn, Some(t)) = (&o.ret, o.op.turn()) else {
            continue;
        };
        let id = i as OpId;
        let logged = ctx.turns.number_of_op(id).and_then(|n| log.version_of(n));
        if logged.is_some_and(|v| v <= h.base.version) {
            continue;
        }
        let logged_producer = logged.and_then(|v| replay.producer(v));
        let mut applied_evidence = logged.is_some() || log.complete.is_some();
        let mut genuine = false;
        for other in ctx.turns.ops_like(id).filter(|&x| x != id) {
            let Some(p) = h.op(other) else { continue };
            let applied = match &p.ret {
                Ret::Turn(_) => {
                    applied_evidence = true;
                    true
                }
                Ret::Indeterminate { .. } => {
                    logged_producer == Some(other) || log.complete.is_none()
                }
                _ => false,
            };
            genuine |= applied && p.invoked < o.returned;
        }
        if !genuine && applied_evidence {
            ctx.report(
                ViolationKind::SpuriousDuplicate {
                    turn_id: t.turn_id.clone(),
                },
                vec![id],
            );
        }
    }
}

/// Runs every real-time rule.
pub(crate) fn check_real_time(ctx: &mut Ctx<'_>, log: &MergedLog<'_>, replay: &Replay<'_>) {
    let mut obs: Vec<Obs> = ctx
        .h
        .ops
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            o.ret.observed_version().map(|version| Obs {
                version,
                invoked: o.invoked,
                returned: o.returned,
                op: i as OpId,
            })
        })
        .collect();
    sort_by_version(&mut obs);
    check_observations(ctx, log, replay, &obs);
    check_conflicts(ctx, log, replay, &obs);
    check_duplicates(ctx, log, replay);
    check_conflict_order(ctx);
}
