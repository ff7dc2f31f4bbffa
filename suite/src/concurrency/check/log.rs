//! The log against itself: every receipt served, merged by version into one canonical log.
//!
//! Each page must be contiguous from its `from`; a version that jumps while `previous_turn_id`
//! still names the receipt before is a double increment (the chain is whole, the counter
//! skipped), a jump with a broken link is a missing receipt. A receipt served twice (by two log
//! reads, or by a turn's answer and a log read) must be served identically: that is both
//! "append-only between successive reads" and "a later read's prefix equals the earlier one",
//! without comparing reads pairwise. In the merged log, links must hold between consecutive
//! versions and no turn id may appear twice. Cost: one sort of the receipts served.

use std::sync::Arc;

use super::super::fingerprint::FastMap;
use super::super::history::{LogEntry, OpId, Ret};
use super::super::violation::ViolationKind;
use super::{Ctx, NONE};

/// The canonical receipt at one version, and the first operation that was served it.
pub(crate) struct Canon<'h> {
    pub(crate) version: u64,
    /// The turn's number in the [`super::TurnIndex`] ([`NONE`]: no operation carried it).
    pub(crate) turn: u32,
    pub(crate) entry: &'h LogEntry,
    pub(crate) op: OpId,
}

/// Every receipt served, one per version, sorted.
pub(crate) struct MergedLog<'h> {
    pub(crate) entries: Vec<Canon<'h>>,
    /// The logged version of each turn number (`u64::MAX`: not logged).
    by_turn: Vec<u64>,
    /// `(from, head)` of the complete final log read, when there is one.
    pub(crate) complete: Option<(u64, u64)>,
}

impl<'h> MergedLog<'h> {
    /// The receipt at `version`, if any was served.
    pub(crate) fn at(&self, version: u64) -> Option<&Canon<'h>> {
        let first = self.entries.first()?.version;
        // Versions are dense in a healthy log: try the direct slot before searching.
        let direct = version
            .checked_sub(first)
            .and_then(|d| usize::try_from(d).ok())
            .and_then(|d| self.entries.get(d))
            .filter(|c| c.version == version);
        direct.or_else(|| {
            self.entries
                .binary_search_by_key(&version, |c| c.version)
                .ok()
                .map(|i| &self.entries[i])
        })
    }

    /// The version at which turn number `n` was logged.
    pub(crate) fn version_of(&self, n: u32) -> Option<u64> {
        self.by_turn
            .get(n as usize)
            .copied()
            .filter(|&v| v != u64::MAX)
    }

    /// The head of the complete final log.
    pub(crate) fn head(&self) -> Option<u64> {
        self.complete.map(|(_, head)| head)
    }
}

fn check_page(ctx: &mut Ctx<'_>, op: OpId, from: u64, entries: &[Arc<LogEntry>]) {
    let mut prev: Option<&LogEntry> = None;
    for e in entries {
        match prev {
            None if e.version != from => ctx.report(
                ViolationKind::LogGap {
                    after: None,
                    next: e.version,
                },
                vec![op],
            ),
            Some(p) if e.version != p.version.saturating_add(1) => {
                let kind =
                    if e.version > p.version.saturating_add(1) && e.previous_turn_id == p.turn_id {
                        ViolationKind::DoubleIncrement {
                            from: p.version,
                            to: e.version,
                        }
                    } else {
                        ViolationKind::LogGap {
                            after: Some(p.version),
                            next: e.version,
                        }
                    };
                ctx.report(kind, vec![op]);
            }
            _ => {}
        }
        prev = Some(e);
    }
}

fn check_links(ctx: &mut Ctx<'_>, prev: Option<&Canon<'_>>, c: &Canon<'_>) {
    let broken = |link| ViolationKind::BrokenLink {
        version: c.version,
        link,
    };
    match prev {
        Some(p) if p.version.checked_add(1) == Some(c.version) => {
            if c.entry.previous_turn_id != p.entry.turn_id {
                ctx.report(broken("previous_turn_id"), vec![c.op, p.op]);
            }
            if c.entry.prev_receipt_hash.as_deref() != Some(&*p.entry.receipt_hash) {
                ctx.report(broken("prev_receipt_hash"), vec![c.op, p.op]);
            }
        }
        _ if c.version == 0 => {
            let genesis = ctx
                .h
                .session_id
                .as_deref()
                .and_then(|s| s.parse::<oap_wire::ids::SessionId>().ok())
                .map(|s| s.genesis_turn_id().to_string());
            if genesis.is_some_and(|g| *c.entry.previous_turn_id != *g) {
                ctx.report(broken("previous_turn_id"), vec![c.op]);
            }
            if c.entry.prev_receipt_hash.is_some() {
                ctx.report(broken("prev_receipt_hash"), vec![c.op]);
            }
        }
        _ => {}
    }
}

/// Merges the receipts served into one per version, the first served (in operation order)
/// being canonical; reports any later one that differs. Versions are dense in any working log,
/// so receipts are bucketed by version in one pass; a sparse log falls back to a sort.
fn canonical<'h>(ctx: &mut Ctx<'h>, mut served: Vec<(u64, OpId, &'h LogEntry)>) -> Vec<Canon<'h>> {
    let (Some(lo), Some(hi)) = (
        served.iter().map(|s| s.0).min(),
        served.iter().map(|s| s.0).max(),
    ) else {
        return Vec::new();
    };
    let span = usize::try_from(hi - lo).unwrap_or(usize::MAX);
    let mut slots: Vec<Option<Canon<'h>>>;
    let mut rewritten: Vec<bool>;
    let slot_of: Box<dyn Fn(u64) -> usize>;
    if span <= served.len().saturating_mul(4) {
        slots = (0..=span).map(|_| None).collect();
        rewritten = vec![false; span + 1];
        slot_of = Box::new(move |v| (v - lo) as usize);
    } else {
        served.sort_by_key(|s| (s.0, s.1));
        let mut distinct: Vec<u64> = served.iter().map(|s| s.0).collect();
        distinct.dedup();
        slots = (0..distinct.len()).map(|_| None).collect();
        rewritten = vec![false; distinct.len()];
        slot_of = Box::new(move |v| distinct.partition_point(|&d| d < v));
    }
    for (version, op, entry) in served {
        let i = slot_of(version);
        match &slots[i] {
            None => {
                slots[i] = Some(Canon {
                    version,
                    turn: NONE,
                    entry,
                    op,
                })
            }
            Some(c) if !std::ptr::eq(c.entry, entry) && c.entry != entry && !rewritten[i] => {
                rewritten[i] = true;
                let first = c.op;
                ctx.report(ViolationKind::LogRewritten { version }, vec![op, first]);
            }
            Some(_) => {}
        }
    }
    slots.into_iter().flatten().collect()
}

/// Checks every page and the merged log; returns the merged log.
pub(crate) fn check_log<'h>(ctx: &mut Ctx<'h>) -> MergedLog<'h> {
    let h = ctx.h;
    let mut served: Vec<(u64, OpId, &'h LogEntry)> = Vec::new();
    for (i, o) in h.ops.iter().enumerate() {
        let id = i as OpId;
        match &o.ret {
            Ret::Log(page) => {
                check_page(ctx, id, page.from, &page.entries);
                served.extend(page.entries.iter().map(|e| (e.version, id, &**e)));
            }
            Ret::Turn(ok) => {
                if let Some(r) = &ok.receipt {
                    served.push((r.version, id, &**r));
                }
            }
            _ => {}
        }
    }
    let mut entries = canonical(ctx, served);
    let ids: Vec<&str> = entries.iter().map(|c| &*c.entry.turn_id).collect();
    for (c, n) in entries.iter_mut().zip(ctx.turns.numbers(&ids)) {
        c.turn = n;
    }
    let mut by_turn = vec![u64::MAX; ctx.turns.len()];
    let mut phantoms: FastMap<&'h str, u64> = FastMap::default();
    for (i, c) in entries.iter().enumerate() {
        check_links(ctx, i.checked_sub(1).map(|p| &entries[p]), c);
        let slot = match by_turn.get_mut(c.turn as usize) {
            Some(slot) => slot,
            None => phantoms.entry(&c.entry.turn_id).or_insert(u64::MAX),
        };
        if *slot == u64::MAX {
            *slot = c.version;
        } else {
            let earlier = entries
                .binary_search_by_key(&*slot, |e| e.version)
                .map_or(c.op, |j| entries[j].op);
            ctx.report(
                ViolationKind::ReplayedTurn {
                    turn_id: c.entry.turn_id.clone(),
                },
                vec![c.op, earlier],
            );
        }
    }

    let complete = h
        .final_log
        .and_then(|id| h.op(id))
        .and_then(|o| match &o.ret {
            Ret::Log(p) if p.complete => p.entries.last().map(|last| (p.from, last.version)),
            _ => None,
        });
    MergedLog {
        entries,
        by_turn,
        complete,
    }
}

/// Verifies the raw receipts of the final log ([`super::super::History::chain`]): recomputed
/// hashes, signatures by the Tool, genesis rules.
pub(crate) fn check_chain(ctx: &mut Ctx<'_>) {
    let h = ctx.h;
    let Some(raw) = h.chain.as_deref() else {
        return;
    };
    let session = h.session_id.clone().or_else(|| {
        raw.first()
            .and_then(|r| r.get("session_id"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    });
    let result = oap_wire::receipt::verify_chain(
        raw,
        session.as_deref().unwrap_or(""),
        h.tool_did.as_deref(),
    );
    if let Err(e) = result {
        ctx.report(
            ViolationKind::ChainBroken {
                index: e.index,
                reason: e.rule.to_string(),
            },
            h.final_log.into_iter().collect(),
        );
    }
}
