//! The checkers: a recorded [`History`] judged against the sequential model of a session.
//!
//! A session is a versioned register: every turn takes the current `state_version` `v` to
//! `v + 1`, so the versions themselves name the linearization order of the writes. That turns
//! the general (NP-complete) linearizability search into a few sorted sweeps:
//!
//! 1. **the log** (`log`): every receipt served, by any log read or turn answer, is merged by
//!    version; pages must be contiguous, links intact, receipts never served twice differently,
//!    and each turn id must appear once;
//! 2. **the versions** (`versions`): which operation produced each version (the
//!    acknowledgements, and the log for the indeterminate ones); acknowledged updates took
//!    `expected + 1`, no two shared an `expected_version` or a version; the state is then
//!    replayed in version order (RFC 7396) and compared with every state a client saw;
//! 3. **real time** (`realtime`): every observed version was current inside the observing
//!    operation's window (not superseded before it started, not produced after it ended), and
//!    every `version_conflict` and `duplicate_turn` is justified by what was current or applied
//!    during the request.
//!
//! Each step is a sort or a hash-map pass over the history: `O(n log n)` time and `O(n)`
//! memory for `n` operations plus the receipts served, with no pairwise scans. Cryptographic
//! verification of the final chain ([`oap_wire::receipt::verify_chain`]) and the receipts'
//! `state_digest`s are linear too, but cost a signature check or a SHA-256 each, and run only on
//! what the recorder kept.

use std::collections::BTreeMap;

use super::history::{History, OpId, Ret};
use super::overlap::{Overlap, overlap};
use super::violation::{Rule, Violation, ViolationKind};
pub(crate) use turns::{NONE, TurnIndex};

mod amp;
mod log;
mod realtime;
mod turns;
mod versions;

/// What to check beyond the structural rules.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Run [`oap_wire::receipt::verify_chain`] on [`History::chain`] when present.
    pub verify_chain: bool,
    /// Compare each recorded `state_digest` with the SHA-256 of the model's state.
    pub verify_state_digests: bool,
    /// How many violations to report in full (the others are only counted).
    pub max_reported: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            verify_chain: true,
            verify_state_digests: true,
            max_reported: 20,
        }
    }
}

/// Counts of outcomes, for summaries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Operations in the history.
    pub ops: usize,
    /// Turns acknowledged.
    pub acknowledged: usize,
    /// `version_conflict` answers.
    pub conflicts: usize,
    /// `duplicate_turn` answers.
    pub duplicates: usize,
    /// Other refusals.
    pub refused: usize,
    /// Indeterminate operations.
    pub indeterminate: usize,
    /// Indeterminate turns that the log shows applied.
    pub indeterminate_applied: usize,
    /// State reads.
    pub reads: usize,
    /// Log reads.
    pub log_reads: usize,
    /// Receipts served, over all log reads and turn answers.
    pub receipts_seen: usize,
    /// The highest version any turn produced.
    pub final_version: u64,
    /// Every version from the base to the final one has a known turn, so every state was
    /// checked.
    pub states_checked: bool,
}

/// The verdict on one history.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckReport {
    /// Violations with their sub-histories: at most [`CheckOptions::max_reported`], the rules
    /// taken in turn.
    pub violations: Vec<Violation>,
    /// How many violations of each rule were found in all.
    pub counts: BTreeMap<Rule, usize>,
    /// How much the operations overlapped in time.
    pub overlap: Overlap,
    /// Outcome counts.
    pub stats: Stats,
    /// The seed that reproduces the workload.
    pub seed: Option<u64>,
}

impl CheckReport {
    /// No rule was broken.
    pub fn is_valid(&self) -> bool {
        self.counts.is_empty()
    }

    /// Violations found, reported or not.
    pub fn total_violations(&self) -> usize {
        self.counts.values().sum()
    }

    /// Whether `rule` was broken at least once.
    pub fn breaks(&self, rule: Rule) -> bool {
        self.counts.contains_key(&rule)
    }
}

/// A violation found, before its sub-history is cut.
type Finding = (ViolationKind, Vec<OpId>);

/// Violations as they are found: the first few of each rule in full, all of them counted.
pub(crate) struct Findings {
    stored: BTreeMap<Rule, Vec<Finding>>,
    counts: BTreeMap<Rule, usize>,
    cap: usize,
}

impl Findings {
    pub(crate) fn push(&mut self, kind: ViolationKind, ops: Vec<OpId>) {
        let rule = kind.rule();
        *self.counts.entry(rule).or_default() += 1;
        let kept = self.stored.entry(rule).or_default();
        if kept.len() < self.cap {
            kept.push((kind, ops));
        }
    }

    /// Up to `cap` violations, taking the rules in turn (in [`Rule`] order) so that one noisy
    /// rule does not hide the others.
    fn select(mut self) -> (Vec<Finding>, BTreeMap<Rule, usize>) {
        let mut queues: Vec<_> = std::mem::take(&mut self.stored)
            .into_values()
            .map(Vec::into_iter)
            .collect();
        let mut out = Vec::new();
        while out.len() < self.cap {
            let before = out.len();
            for q in &mut queues {
                if out.len() < self.cap
                    && let Some(f) = q.next()
                {
                    out.push(f);
                }
            }
            if out.len() == before {
                break;
            }
        }
        (out, self.counts)
    }
}

/// What every step shares: the history, the options, the findings and the turn index.
pub(crate) struct Ctx<'h> {
    pub(crate) h: &'h History,
    pub(crate) opts: &'h CheckOptions,
    pub(crate) findings: Findings,
    pub(crate) turns: TurnIndex<'h>,
}

impl Ctx<'_> {
    pub(crate) fn report(&mut self, kind: ViolationKind, ops: Vec<OpId>) {
        self.findings.push(kind, ops);
    }
}

fn stats(h: &History) -> Stats {
    let mut s = Stats {
        ops: h.ops.len(),
        ..Stats::default()
    };
    for o in &h.ops {
        match &o.ret {
            Ret::Turn(_) => s.acknowledged += 1,
            Ret::State(_) => s.reads += 1,
            Ret::Log(p) => {
                s.log_reads += 1;
                s.receipts_seen += p.entries.len();
            }
            Ret::Conflict { .. } => s.conflicts += 1,
            Ret::DuplicateTurn
            | Ret::Ack {
                duplicate: true, ..
            } => s.duplicates += 1,
            Ret::Ack { .. } => s.acknowledged += 1,
            Ret::History(_) => s.reads += 1,
            Ret::Refused { .. } => s.refused += 1,
            Ret::Indeterminate { .. } => s.indeterminate += 1,
        }
    }
    s
}

/// Checks `history` against every rule, with default options.
pub fn check(history: &History) -> CheckReport {
    check_with(history, &CheckOptions::default())
}

/// Checks `history` against every rule.
pub fn check_with(history: &History, opts: &CheckOptions) -> CheckReport {
    let mut ctx = Ctx {
        h: history,
        opts,
        findings: Findings {
            stored: BTreeMap::new(),
            counts: BTreeMap::new(),
            cap: opts.max_reported,
        },
        turns: TurnIndex::new(history),
    };
    let mut stats = stats(history);
    if let Some(base) = &history.amp {
        let amp = amp::check_amp(&mut ctx, base);
        stats.final_version = amp.last_seq.unwrap_or(0);
        stats.states_checked = amp.last_seq.is_some();
        stats.indeterminate_applied = amp.indeterminate_applied;
        return finish(ctx, history, stats);
    }
    let merged = log::check_log(&mut ctx);
    if opts.verify_chain {
        log::check_chain(&mut ctx);
    }
    let replay = versions::check_versions(&mut ctx, &merged);
    realtime::check_real_time(&mut ctx, &merged, &replay);
    stats.final_version = replay.final_version();
    stats.states_checked = replay.complete();
    stats.indeterminate_applied = replay.indeterminate_applied(history);
    finish(ctx, history, stats)
}

/// The report: the selected violations with their sub-histories.
fn finish(ctx: Ctx<'_>, history: &History, stats: Stats) -> CheckReport {
    let (selected, counts) = ctx.findings.select();
    let violations = selected
        .into_iter()
        .map(|(kind, ops)| Violation::new(kind, ops, history))
        .collect();
    CheckReport {
        violations,
        counts,
        overlap: overlap(history),
        stats,
        seed: history.seed,
    }
}
