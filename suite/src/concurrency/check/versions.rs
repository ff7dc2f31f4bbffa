//! Versions: which operation produced each version, whether it was allowed to, and the state
//! every version must therefore hold.
//!
//! The producers come from two sources: acknowledgements (a turn answered 200 names its
//! version) and the merged log (a receipt names the turn, which may be an indeterminate one:
//! this is how the log proves that a timed-out request applied). Every produced update must
//! have taken `expected_version + 1`; no two acknowledged updates may share an
//! `expected_version`, no two acknowledged turns a version, no turn id two acknowledgements.
//! Every acknowledged turn must have its receipt, at its version, once the log covers it.
//!
//! The sweep then replays the producers in version order through the model's transitions:
//! merge patches (RFC 7396, fingerprint kept incrementally) and status changes. Where a version
//! has no known producer the replay stops: later states are unknown and left unchecked rather
//! than guessed. Every state and status a client saw is compared with the replay.

use super::super::fingerprint::{Fingerprint, FingerprintedState};
use serde_json::Value;

use super::super::history::{History, Nanos, OpId, Ret, Status, TurnKey, TurnKind};
use super::super::model::next_status;
use super::super::violation::ViolationKind;
use super::Ctx;
use super::log::MergedLog;

/// The operation that produced a version, with what the sweeps need from it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Producer<'h> {
    pub(crate) version: u64,
    pub(crate) op: OpId,
    /// When the operation was sent.
    pub(crate) invoked: Nanos,
    /// Its `expected_version`, if it carried one.
    pub(crate) expected: Option<u64>,
    /// What the turn does (`None`: the operation is not a turn).
    kind: Option<TurnKind>,
    /// Its merge patch, for updates.
    patch: Option<&'h Value>,
}

impl<'h> Producer<'h> {
    fn new(h: &'h History, version: u64, op: OpId) -> Self {
        let o = h.op(op);
        let turn = o.and_then(|o| o.op.turn());
        Self {
            version,
            op,
            invoked: o.map_or(Nanos::MAX, |o| o.invoked),
            expected: turn.and_then(|t| t.expected_version),
            kind: turn.map(|t| t.kind),
            patch: turn.and_then(|t| t.patch),
        }
    }
}

/// Producers sorted by version, with the state and status the replay gives each.
pub(crate) struct Replay<'h> {
    pub(crate) producers: Vec<Producer<'h>>,
    fingerprints: Vec<Option<Fingerprint>>,
    statuses: Vec<Option<Status>>,
    base_version: u64,
    base_fingerprint: Fingerprint,
    base_status: Status,
    contiguous: bool,
}

impl Replay<'_> {
    fn index_of(&self, version: u64) -> Option<usize> {
        // Producers are dense from the base in a complete history: try the direct slot first.
        let direct = version
            .checked_sub(self.base_version.saturating_add(1))
            .and_then(|d| usize::try_from(d).ok())
            .filter(|&d| self.producers.get(d).is_some_and(|p| p.version == version));
        direct.or_else(|| {
            self.producers
                .binary_search_by_key(&version, |p| p.version)
                .ok()
        })
    }

    /// How many producers have a version `≤ version`.
    pub(crate) fn count_upto(&self, version: u64) -> usize {
        match version.checked_sub(self.base_version) {
            None => 0,
            Some(d) => match usize::try_from(d) {
                Ok(d) if d == 0 || self.index_of(version) == Some(d - 1) => d,
                _ => self.producers.partition_point(|p| p.version <= version),
            },
        }
    }

    /// The producer of `version`.
    pub(crate) fn producer(&self, version: u64) -> Option<OpId> {
        self.index_of(version).map(|i| self.producers[i].op)
    }

    fn fingerprint_at(&self, version: u64) -> Option<Fingerprint> {
        if version == self.base_version {
            return Some(self.base_fingerprint);
        }
        self.index_of(version).and_then(|i| self.fingerprints[i])
    }

    fn status_at(&self, version: u64) -> Option<Status> {
        if version == self.base_version {
            return Some(self.base_status);
        }
        self.index_of(version).and_then(|i| self.statuses[i])
    }

    /// The highest produced version (the base version when nothing was produced).
    pub(crate) fn final_version(&self) -> u64 {
        self.producers
            .last()
            .map_or(self.base_version, |p| p.version)
    }

    /// Every version from the base to the final one has a known producer.
    pub(crate) fn complete(&self) -> bool {
        self.contiguous
    }

    /// How many producers are indeterminate operations.
    pub(crate) fn indeterminate_applied(&self, h: &History) -> usize {
        self.producers
            .iter()
            .filter(|p| h.op(p.op).is_some_and(|o| o.ret.is_indeterminate()))
            .count()
    }
}

fn turn_id_of(h: &History, op: OpId) -> TurnKey {
    h.op(op)
        .and_then(|o| o.op.turn())
        .map_or_else(|| TurnKey::from(""), |t| t.turn_id.clone())
}

fn expected_of(h: &History, op: OpId) -> Option<u64> {
    h.op(op)
        .and_then(|o| o.op.turn())
        .and_then(|t| t.expected_version)
}

/// An acknowledged turn.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Ack {
    version: u64,
    op: OpId,
    expected: Option<u64>,
}

/// Acknowledged turns, in operation order.
fn acknowledgements(h: &History) -> Vec<Ack> {
    h.ops
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match (&o.ret, o.op.turn()) {
            (Ret::Turn(ok), Some(t)) => Some(Ack {
                version: ok.version,
                op: i as OpId,
                expected: t.expected_version,
            }),
            _ => None,
        })
        .collect()
}

/// Lost updates, shared versions and turn ids acknowledged twice.
fn check_acknowledgements(ctx: &mut Ctx<'_>, acks: &[Ack]) {
    let h = ctx.h;
    let mut by_expected: Vec<(u64, OpId)> = acks
        .iter()
        .filter_map(|a| a.expected.map(|e| (e, a.op)))
        .collect();
    by_expected.sort_unstable();
    for w in by_expected.windows(2) {
        if w[0].0 == w[1].0 {
            ctx.report(
                ViolationKind::LostUpdate {
                    expected_version: w[0].0,
                },
                vec![w[1].1, w[0].1],
            );
        }
    }
    let mut by_version = acks.to_vec();
    by_version.sort_unstable();
    for w in by_version.windows(2) {
        let (a, b) = (w[0], w[1]);
        let same_expected = a.expected.is_some() && a.expected == b.expected;
        if a.version == b.version && !same_expected {
            ctx.report(
                ViolationKind::DuplicateVersion { version: a.version },
                vec![b.op, a.op],
            );
        }
    }
    for &Ack { op, .. } in acks {
        if !ctx.turns.is_shared(op) {
            continue;
        }
        let Some(turn) = h.op(op).and_then(|o| o.op.turn()) else {
            continue;
        };
        // Report each turn once, from its latest acknowledgement.
        let (last, prev) = {
            let mut acked = ctx
                .turns
                .ops_like(op)
                .filter(|&o| matches!(h.op(o).map(|o| &o.ret), Some(Ret::Turn(_))));
            (acked.next(), acked.next())
        };
        let (Some(last), Some(prev)) = (last, prev) else {
            continue;
        };
        if last == op {
            ctx.report(
                ViolationKind::ReplayedTurn {
                    turn_id: turn.turn_id.clone(),
                },
                vec![last, prev],
            );
        }
    }
}

/// Places every logged turn and every acknowledgement at its version.
fn producers<'h>(ctx: &mut Ctx<'h>, log: &MergedLog<'_>, acks: &[Ack]) -> Vec<Producer<'h>> {
    let h = ctx.h;
    let mut out = Vec::with_capacity(log.entries.len().max(acks.len()));
    for c in log.entries.iter().filter(|c| c.version > h.base.version) {
        // Among several sends of one turn id (a retry, a replay), prefer the acknowledgement of
        // this version, then a send whose `expected_version` fits it.
        let fits = |id: OpId| expected_of(h, id).is_none_or(|e| e.saturating_add(1) == c.version);
        let mut acked = None;
        let mut open = None;
        let mut refused = None;
        for id in ctx.turns.ops_of(c.turn) {
            match h.op(id).map(|o| &o.ret) {
                Some(Ret::Turn(ok)) if acked.is_none() || ok.version == c.version => {
                    acked = Some(id)
                }
                Some(Ret::Turn(_)) => {}
                Some(Ret::Indeterminate { .. }) if open.is_none() || fits(id) => open = Some(id),
                Some(Ret::Indeterminate { .. }) => {}
                Some(_) => refused = refused.or(Some(id)),
                None => {}
            }
        }
        match (acked.or(open), refused) {
            (Some(op), _) => out.push(Producer::new(h, c.version, op)),
            (None, Some(r)) => ctx.report(
                ViolationKind::RefusedTurnApplied { version: c.version },
                vec![r, c.op],
            ),
            (None, None) => ctx.report(
                ViolationKind::PhantomTurn { version: c.version },
                vec![c.op],
            ),
        }
    }
    for &Ack { version, op, .. } in acks {
        let logged = ctx.turns.number_of_op(op).and_then(|n| log.version_of(n));
        match (logged, log.at(version)) {
            (Some(logged), _) if logged == version => {}
            (Some(logged), _) => {
                let witness = log.at(logged).map_or(op, |c| c.op);
                ctx.report(
                    ViolationKind::LogMismatch {
                        version,
                        turn_id: turn_id_of(h, op),
                    },
                    vec![op, witness],
                );
            }
            (None, Some(other)) => ctx.report(
                ViolationKind::LogMismatch {
                    version,
                    turn_id: turn_id_of(h, op),
                },
                vec![op, other.op],
            ),
            (None, None) => {
                if log.complete.is_some() && version > h.base.version {
                    ctx.report(ViolationKind::MissingReceipt { version }, vec![op]);
                }
                if version > h.base.version {
                    out.push(Producer::new(h, version, op));
                }
            }
        }
    }
    out.sort_by_key(|p| p.version);
    out.dedup_by_key(|p| p.version);
    out
}

/// Every produced update took `expected_version + 1`.
fn check_increments(ctx: &mut Ctx<'_>, producers: &[Producer<'_>]) {
    for (i, p) in producers.iter().enumerate() {
        let Some(e) = p.expected else {
            continue;
        };
        if p.version == e.saturating_add(1) {
            continue;
        }
        let predecessor_known = i > 0 && producers[i - 1].version.checked_add(1) == Some(p.version);
        let kind = if p.version > e.saturating_add(1) && !predecessor_known {
            ViolationKind::DoubleIncrement {
                from: e,
                to: p.version,
            }
        } else {
            ViolationKind::VersionMismatch {
                expected_version: e,
                applied_version: p.version,
            }
        };
        ctx.report(kind, vec![p.op]);
    }
}

/// Replays the producers in version order.
fn replay<'h>(ctx: &mut Ctx<'h>, log: &MergedLog<'_>, producers: Vec<Producer<'h>>) -> Replay<'h> {
    let h = ctx.h;
    let mut state = FingerprintedState::new(h.base.state.clone());
    let mut status = h.base.status;
    let mut fingerprints = Vec::with_capacity(producers.len());
    let mut statuses = Vec::with_capacity(producers.len());
    let mut next = h.base.version.saturating_add(1);
    let mut contiguous = true;
    for p in &producers {
        contiguous &= p.version == next;
        next = p.version.saturating_add(1);
        let (true, Some(kind)) = (contiguous, p.kind) else {
            contiguous = false;
            fingerprints.push(None);
            statuses.push(None);
            continue;
        };
        status = match next_status(kind, status) {
            Ok(s) => s,
            Err(code) => {
                let version = p.version;
                match code {
                    "session_paused" => {
                        ctx.report(ViolationKind::WriteWhilePaused { version }, vec![p.op])
                    }
                    "invalid_transition" => {
                        ctx.report(ViolationKind::InvalidTransition { version }, vec![p.op])
                    }
                    _ => {}
                }
                match kind {
                    TurnKind::Pause => Status::Paused,
                    TurnKind::Resume => Status::Active,
                    _ => status,
                }
            }
        };
        if let Some(patch) = p.patch {
            state.apply(patch);
        }
        if ctx.opts.verify_state_digests
            && let Some(c) = log.at(p.version)
            && let Some(digest) = &c.entry.state_digest
            && oap_wire::receipt::state_digest(state.value())
                .ok()
                .as_deref()
                != Some(&**digest)
        {
            ctx.report(
                ViolationKind::StateDigestMismatch { version: p.version },
                vec![c.op],
            );
        }
        fingerprints.push(Some(state.fingerprint()));
        statuses.push(Some(status));
    }
    Replay {
        producers,
        fingerprints,
        statuses,
        base_version: h.base.version,
        base_fingerprint: Fingerprint::of(&h.base.state),
        base_status: h.base.status,
        contiguous,
    }
}

/// Compares every state and status a client saw with the replay.
fn check_states(ctx: &mut Ctx<'_>, replay: &Replay<'_>) {
    let h = ctx.h;
    for (i, o) in h.ops.iter().enumerate() {
        let id = i as OpId;
        let (version, status, fingerprint) = match &o.ret {
            Ret::Turn(ok) => (
                ok.version,
                ok.status,
                ok.state.as_ref().map(|s| s.fingerprint),
            ),
            Ret::State(r) => (r.version, r.status, Some(r.state.fingerprint)),
            _ => continue,
        };
        if let (Some(seen), Some(model)) = (fingerprint, replay.fingerprint_at(version))
            && seen != model
        {
            let kind = if matches!(o.ret, Ret::Turn(_)) {
                ViolationKind::AckStateMismatch { version }
            } else if h.final_read == Some(id) {
                ViolationKind::FinalStateMismatch { version }
            } else {
                ViolationKind::ReadStateMismatch { version }
            };
            let mut ops = vec![id];
            ops.extend(replay.producer(version));
            ctx.report(kind, ops);
        }
        if let (Some(seen), Some(model)) = (status, replay.status_at(version))
            && seen != model
        {
            ctx.report(ViolationKind::StatusMismatch { version }, vec![id]);
        }
    }
}

/// Runs every version rule; returns the replay for the real-time rules.
pub(crate) fn check_versions<'h>(ctx: &mut Ctx<'h>, log: &MergedLog<'_>) -> Replay<'h> {
    let acks = acknowledgements(ctx.h);
    check_acknowledgements(ctx, &acks);
    let producers = producers(ctx, log, &acks);
    check_increments(ctx, &producers);
    let replay = replay(ctx, log, producers);
    check_states(ctx, &replay);
    replay
}
