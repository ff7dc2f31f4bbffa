//! Operations grouped by turn id, built by sorting rather than by hashing into a table.
//!
//! Every turn id gets a dense number, every number the latest operation that carried it, and
//! every operation a link to the previous one with the same id, so no turn needs a `Vec` of its
//! own. The ids are grouped by sorting `(hash, operation)` pairs: a sort streams through memory,
//! where a million inserts into a hash table each miss the cache, and this index is the largest
//! structure the checkers build. Equal hashes are confirmed on the ids themselves, so a hash
//! collision can never merge two turns. Lookups by id come in bulk (the log's receipts) and are
//! answered by one more sort and a merge.

use std::hash::BuildHasher;

use super::super::fingerprint::FastHash;
use super::super::history::{History, OpId};

/// "None" for the dense indexes (operation ids and turn numbers).
pub(crate) const NONE: u32 = u32::MAX;

fn key_hash(s: &str) -> u64 {
    FastHash.hash_one(s)
}

/// See the module documentation.
pub(crate) struct TurnIndex<'h> {
    h: &'h History,
    of_op: Vec<u32>,
    latest: Vec<OpId>,
    previous: Vec<OpId>,
    /// `(hash, number)` for every number, sorted.
    by_hash: Vec<(u64, u32)>,
}

impl<'h> TurnIndex<'h> {
    pub(crate) fn new(h: &'h History) -> Self {
        let mut keyed: Vec<(u64, OpId)> = h
            .ops
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.op.turn().map(|t| (key_hash(t.turn_id), i as OpId)))
            .collect();
        keyed.sort_unstable();
        let mut index = Self {
            h,
            of_op: vec![NONE; h.ops.len()],
            latest: Vec::with_capacity(keyed.len()),
            previous: vec![NONE; h.ops.len()],
            by_hash: Vec::with_capacity(keyed.len()),
        };
        let mut start = 0;
        while start < keyed.len() {
            let hash = keyed[start].0;
            let mut end = start + 1;
            while keyed.get(end).is_some_and(|k| k.0 == hash) {
                end += 1;
            }
            if end == start + 1 {
                index.add(hash, keyed[start].1, None);
            } else {
                // Ids sharing a hash: confirm on the text (ascending operations keep the links
                // in order).
                let mut seen: Vec<(&'h str, u32)> = Vec::new();
                for &(_, op) in &keyed[start..end] {
                    let text = index.text_of_op(op).unwrap_or("");
                    let known = seen.iter().find(|(t, _)| *t == text).map(|(_, n)| *n);
                    let n = index.add(hash, op, known);
                    if known.is_none() {
                        seen.push((text, n));
                    }
                }
            }
            start = end;
        }
        index
    }

    /// Links `op` under number `known`, or under a fresh number for `hash`.
    fn add(&mut self, hash: u64, op: OpId, known: Option<u32>) -> u32 {
        let n = known.unwrap_or_else(|| {
            let n = self.latest.len() as u32;
            self.latest.push(NONE);
            self.by_hash.push((hash, n));
            n
        });
        self.of_op[op as usize] = n;
        self.previous[op as usize] = self.latest[n as usize];
        self.latest[n as usize] = op;
        n
    }

    fn text_of_op(&self, op: OpId) -> Option<&'h str> {
        let h: &'h History = self.h;
        h.op(op).and_then(|o| o.op.turn()).map(|t| &**t.turn_id)
    }

    fn text(&self, n: u32) -> Option<&'h str> {
        self.latest
            .get(n as usize)
            .and_then(|&op| self.text_of_op(op))
    }

    /// The numbers of many ids at once ([`NONE`] for an id no operation carried).
    pub(crate) fn numbers(&self, ids: &[&str]) -> Vec<u32> {
        let mut queries: Vec<(u64, u32)> = ids
            .iter()
            .enumerate()
            .map(|(i, s)| (key_hash(s), i as u32))
            .collect();
        queries.sort_unstable();
        let mut out = vec![NONE; ids.len()];
        let mut j = 0;
        for (hash, i) in queries {
            while self.by_hash.get(j).is_some_and(|e| e.0 < hash) {
                j += 1;
            }
            let id = ids[i as usize];
            out[i as usize] = self.by_hash[j.min(self.by_hash.len())..]
                .iter()
                .take_while(|e| e.0 == hash)
                .find(|e| self.text(e.1) == Some(id))
                .map_or(NONE, |e| e.1);
        }
        out
    }

    /// The number of the turn operation `op` carried.
    pub(crate) fn number_of_op(&self, op: OpId) -> Option<u32> {
        self.of_op.get(op as usize).copied().filter(|&n| n != NONE)
    }

    /// Whether another operation carried the same turn id as `op` (without reading either).
    pub(crate) fn is_shared(&self, op: OpId) -> bool {
        self.number_of_op(op)
            .is_some_and(|n| self.previous[op as usize] != NONE || self.latest[n as usize] != op)
    }

    /// How many distinct turn ids the operations carried.
    pub(crate) fn len(&self) -> usize {
        self.latest.len()
    }

    /// The operations that carried turn number `n`, latest first.
    pub(crate) fn ops_of(&self, n: u32) -> impl Iterator<Item = OpId> + '_ {
        let mut cur = self.latest.get(n as usize).copied().unwrap_or(NONE);
        std::iter::from_fn(move || {
            (cur != NONE).then(|| {
                let id = cur;
                cur = self.previous[id as usize];
                id
            })
        })
    }

    /// The operations that carried the same turn id as `op` (`op` included).
    pub(crate) fn ops_like(&self, op: OpId) -> impl Iterator<Item = OpId> + '_ {
        self.ops_of(self.number_of_op(op).unwrap_or(NONE))
    }
}
