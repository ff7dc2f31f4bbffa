//! Single faults injected into a correct history, each one a misbehaviour a Tool can show under
//! concurrency, and the rule that must catch it.
//!
//! A checker that accepts everything passes every valid history; the faults here are the other
//! half of its tests. Each [`HistoryFault`] edits a history produced by
//! [`super::synth::synthesize`] the way the misbehaving Tool would have answered (a lost update
//! acknowledges two writers at one version, a double increment shifts every later version, a
//! rewritten log serves one receipt differently), and [`HistoryFault::rule`] names the rule that
//! must fire. [`inject`] returns `false` when the history offers no place for the fault.

use std::sync::Arc;

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::json;

use super::fingerprint::{FastMap, Fingerprint, FingerprintedState};
use super::history::{History, LogEntry, Op, Operation, Ret, Snapshot, TurnOk};
use super::violation::Rule;

/// A fault to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryFault {
    /// Two updates with the same `expected_version` both acknowledged.
    LostUpdate,
    /// A read returns an older, superseded state.
    StaleRead,
    /// A read returns a version whose turn was sent after the read returned.
    FutureRead,
    /// A read returns a state no version had.
    NeverInstalledState,
    /// A conflict answered while `expected_version` was current and nobody else wrote.
    SpuriousConflict,
    /// `duplicate_turn` for a fresh turn id.
    SpuriousDuplicate,
    /// One turn moves the version by two.
    DoubleIncrement,
    /// An applied turn id applied again.
    ReplayedTurn,
    /// A receipt missing from the log.
    LogGap,
    /// A receipt served differently later.
    LogRewritten,
    /// The final state is not the merge of the patches.
    FinalStateMismatch,
}

impl HistoryFault {
    /// Every fault.
    pub fn all() -> &'static [HistoryFault] {
        use HistoryFault as F;
        &[
            F::LostUpdate,
            F::StaleRead,
            F::FutureRead,
            F::NeverInstalledState,
            F::SpuriousConflict,
            F::SpuriousDuplicate,
            F::DoubleIncrement,
            F::ReplayedTurn,
            F::LogGap,
            F::LogRewritten,
            F::FinalStateMismatch,
        ]
    }

    /// The rule that must catch the fault.
    pub fn rule(self) -> Rule {
        use HistoryFault as F;
        match self {
            F::LostUpdate => Rule::LostUpdate,
            F::StaleRead => Rule::StaleRead,
            F::FutureRead => Rule::FutureRead,
            F::NeverInstalledState => Rule::ReadStateMismatch,
            F::SpuriousConflict => Rule::SpuriousConflict,
            F::SpuriousDuplicate => Rule::SpuriousDuplicate,
            F::DoubleIncrement => Rule::DoubleIncrement,
            F::ReplayedTurn => Rule::ReplayedTurn,
            F::LogGap => Rule::LogGap,
            F::LogRewritten => Rule::LogRewritten,
            F::FinalStateMismatch => Rule::FinalStateMismatch,
        }
    }
}

/// The fingerprint of the state at each version from the base, replayed from the final log.
pub fn fingerprints_by_version(h: &History) -> Vec<Fingerprint> {
    let mut patches: FastMap<&str, Option<&serde_json::Value>> = FastMap::default();
    for o in &h.ops {
        if let Some(t) = o.op.turn() {
            patches.insert(&**t.turn_id, t.patch);
        }
    }
    let mut state = FingerprintedState::new(h.base.state.clone());
    let mut out = vec![state.fingerprint()];
    if let Some(Ret::Log(page)) = h.final_log.and_then(|id| h.op(id)).map(|o| &o.ret) {
        for e in page.entries.iter().filter(|e| e.version > h.base.version) {
            if let Some(Some(p)) = patches.get(&*e.turn_id) {
                state.apply(p);
            }
            out.push(state.fingerprint());
        }
    }
    out
}

fn head(h: &History) -> u64 {
    match h.final_log.and_then(|id| h.op(id)).map(|o| &o.ret) {
        Some(Ret::Log(p)) => p.entries.last().map_or(h.base.version, |e| e.version),
        _ => h.base.version,
    }
}

fn end(h: &History) -> u64 {
    h.ops.iter().map(|o| o.returned).max().unwrap_or(0)
}

fn is_final(h: &History, i: usize) -> bool {
    h.final_read == Some(i as u32) || h.final_log == Some(i as u32)
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> Option<T> {
    (!items.is_empty()).then(|| items[rng.gen_range(0..items.len())])
}

fn acked_updates(h: &History) -> Vec<usize> {
    (0..h.ops.len())
        .filter(|&i| {
            matches!(h.ops[i].op, Op::Update { .. }) && matches!(h.ops[i].ret, Ret::Turn(_))
        })
        .collect()
}

fn reads(h: &History) -> Vec<usize> {
    (0..h.ops.len())
        .filter(|&i| !is_final(h, i) && matches!(h.ops[i].ret, Ret::State(_)))
        .collect()
}

fn set_read(op: &mut Operation, version: u64, fingerprint: Fingerprint) {
    if let Ret::State(r) = &mut op.ret {
        r.version = version;
        r.state = Snapshot {
            fingerprint,
            value: None,
        };
    }
}

fn version_of(op: &Operation) -> u64 {
    op.ret.observed_version().unwrap_or(0)
}

/// Appends an operation by a fresh client after everything else.
fn append(h: &mut History, op: Op, ret: Ret) {
    let t = end(h) + 1;
    let client = h.ops.iter().map(|o| o.client).max().unwrap_or(0) + 1;
    h.ops.push(Operation {
        client,
        op,
        ret,
        invoked: t,
        returned: t + 1,
    });
}

fn shift_entry(e: &Arc<LogEntry>, from: u64) -> Arc<LogEntry> {
    if e.version < from {
        return e.clone();
    }
    let mut shifted = (**e).clone();
    shifted.version += 1;
    Arc::new(shifted)
}

/// Every version from `from` on moves up by one, as if the turn at `from` had incremented twice.
fn shift_versions(h: &mut History, from: u64) {
    let bump = |v: &mut u64| {
        if *v >= from {
            *v += 1;
        }
    };
    for o in &mut h.ops {
        match &mut o.op {
            Op::Update {
                expected_version, ..
            }
            | Op::Replay {
                expected_version, ..
            } => bump(expected_version),
            Op::ReadLog { from: f } => bump(f),
            _ => {}
        }
        match &mut o.ret {
            Ret::Turn(ok) => {
                bump(&mut ok.version);
                ok.receipt = ok.receipt.as_ref().map(|e| shift_entry(e, from));
            }
            Ret::State(r) => bump(&mut r.version),
            Ret::Conflict { current_version } => bump(current_version),
            Ret::Log(p) => {
                bump(&mut p.from);
                p.entries = p.entries.iter().map(|e| shift_entry(e, from)).collect();
            }
            _ => {}
        }
    }
}

/// Injects `fault` into `h`; `false` when the history has no place for it.
pub fn inject(h: &mut History, fault: HistoryFault, rng: &mut StdRng) -> bool {
    use HistoryFault as F;
    let top = head(h);
    match fault {
        F::LostUpdate => {
            let acked = acked_updates(h);
            let (Some(a), Some(b)) = (pick(rng, &acked), pick(rng, &acked)) else {
                return false;
            };
            if a == b {
                return false;
            }
            let Some(e) = h.ops[a].op.turn().and_then(|t| t.expected_version) else {
                return false;
            };
            if let Op::Update {
                expected_version, ..
            } = &mut h.ops[b].op
            {
                *expected_version = e;
            }
            if let (Ret::Turn(x), Ret::Turn(y)) = (h.ops[a].ret.clone(), &mut h.ops[b].ret) {
                y.version = x.version;
            }
            true
        }
        F::StaleRead | F::FutureRead => {
            let fps = fingerprints_by_version(h);
            let stale = fault == F::StaleRead;
            let mut candidates = Vec::new();
            for r in reads(h) {
                let read = &h.ops[r];
                let hit = h.ops.iter().find(|w| match &w.ret {
                    Ret::Turn(ok) if stale => {
                        ok.version > h.base.version
                            && ok.version <= version_of(read)
                            && w.returned < read.invoked
                    }
                    Ret::Turn(ok) if !stale => {
                        ok.version > version_of(read) && w.invoked > read.returned
                    }
                    _ => false,
                });
                if let Some(w) = hit {
                    let target = if stale {
                        version_of(w) - 1
                    } else {
                        version_of(w)
                    };
                    candidates.push((r, target));
                }
                if candidates.len() >= 8 {
                    break;
                }
            }
            let Some((r, v)) = pick(rng, &candidates) else {
                return false;
            };
            let Some(fp) = v
                .checked_sub(h.base.version)
                .and_then(|d| usize::try_from(d).ok())
                .and_then(|i| fps.get(i))
            else {
                return false;
            };
            set_read(&mut h.ops[r], v, *fp);
            true
        }
        F::NeverInstalledState => {
            let Some(r) = pick(rng, &reads(h)) else {
                return false;
            };
            let v = version_of(&h.ops[r]);
            set_read(
                &mut h.ops[r],
                v,
                Fingerprint::of(&json!({ "never": "installed" })),
            );
            true
        }
        F::FinalStateMismatch => {
            let Some(id) = h.final_read else { return false };
            let Some(o) = h.ops.get_mut(id as usize) else {
                return false;
            };
            let v = version_of(o);
            set_read(o, v, Fingerprint::of(&json!({ "lost": true })));
            true
        }
        F::SpuriousConflict => {
            let op = Op::Update {
                expected_version: top,
                turn_id: Arc::from("trn_01J00000000000000000000000"),
                patch: Arc::new(json!({})),
            };
            append(
                h,
                op,
                Ret::Conflict {
                    current_version: top + 1,
                },
            );
            true
        }
        F::SpuriousDuplicate => {
            let op = Op::Update {
                expected_version: top,
                turn_id: Arc::from("trn_01J00000000000000000000001"),
                patch: Arc::new(json!({})),
            };
            append(h, op, Ret::DuplicateTurn);
            true
        }
        F::ReplayedTurn => {
            let Some(a) = pick(rng, &acked_updates(h)) else {
                return false;
            };
            let Some(t) = h.ops[a].op.turn() else {
                return false;
            };
            let (Some(patch), turn_id) = (t.patch.cloned(), t.turn_id.clone()) else {
                return false;
            };
            let op = Op::Replay {
                expected_version: top,
                turn_id,
                patch: Arc::new(patch),
            };
            let ret = Ret::Turn(TurnOk {
                version: top + 1,
                status: None,
                state: None,
                receipt: None,
            });
            append(h, op, ret);
            true
        }
        F::DoubleIncrement => {
            let acked: Vec<u64> = acked_updates(h)
                .into_iter()
                .map(|i| version_of(&h.ops[i]))
                .collect();
            let Some(v) = pick(rng, &acked) else {
                return false;
            };
            shift_versions(h, v);
            true
        }
        F::LogGap => {
            if top <= h.base.version + 1 {
                return false;
            }
            let v = rng.gen_range(h.base.version + 1..top);
            for o in &mut h.ops {
                if let Ret::Log(p) = &mut o.ret {
                    p.entries.retain(|e| e.version != v);
                }
            }
            true
        }
        F::LogRewritten => {
            // A receipt served before the final log read, which still serves the original.
            let mut served = Vec::new();
            for (i, o) in h.ops.iter().enumerate() {
                match &o.ret {
                    Ret::Log(p) if !is_final(h, i) => {
                        served.extend((0..p.entries.len()).map(|j| (i, Some(j))));
                    }
                    Ret::Turn(ok) if ok.receipt.is_some() => served.push((i, None)),
                    _ => {}
                }
            }
            let Some((i, j)) = pick(rng, &served) else {
                return false;
            };
            let forge = |e: &mut Arc<LogEntry>| {
                let mut forged = (**e).clone();
                forged.receipt_hash = Arc::from(format!("{}0", forged.receipt_hash));
                *e = Arc::new(forged);
            };
            match (&mut h.ops[i].ret, j) {
                (Ret::Log(p), Some(j)) => p.entries.get_mut(j).is_some_and(|e| {
                    forge(e);
                    true
                }),
                (Ret::Turn(ok), None) => ok.receipt.as_mut().is_some_and(|e| {
                    forge(e);
                    true
                }),
                _ => false,
            }
        }
    }
}
