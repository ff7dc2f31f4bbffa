//! Receipt chains: `receipt::verify_chain` refuses every edit that changes a covered byte of a
//! receipt, and every reordering, gap, duplicate or foreign receipt; it accepts a valid chain
//! and each of its non-empty prefixes.

use oap_wire::receipt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fixtures;
use super::value::{Mutation, canonical};

/// One edit of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ChainEdit {
    /// Edit one receipt (index modulo the length).
    Mutate {
        /// The receipt.
        receipt: usize,
        /// The edit.
        mutation: Mutation,
    },
    /// Remove a receipt.
    Drop(usize),
    /// Exchange two receipts.
    Swap(usize, usize),
    /// Insert a copy of receipt `from` before position `at`.
    Duplicate {
        /// The copied receipt.
        from: usize,
        /// Where the copy goes.
        at: usize,
    },
    /// Keep only the first `len` receipts.
    Truncate(usize),
    /// Replace a receipt with the same position of the other fixture chain.
    Splice(usize),
}

/// Which session the verifier is asked about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SessionChoice {
    /// The chain's own session.
    Own,
    /// Another string.
    Other(String),
}

/// Which Tool the verifier expects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToolChoice {
    /// The chain's signer.
    Given,
    /// None: the genesis receipt's signer.
    Absent,
    /// The DID of the fixture key with this seed.
    Other(u8),
}

/// A fixture chain, edited, and the question asked about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainCase {
    /// Which fixture chain (modulo their number).
    pub chain: usize,
    /// The session passed to the verifier.
    pub session: SessionChoice,
    /// The Tool passed to the verifier.
    pub tool: ToolChoice,
    /// The edits, in order.
    pub edits: Vec<ChainEdit>,
}

fn apply(edit: &ChainEdit, log: &mut Vec<Value>, other: &[Value]) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match edit {
        ChainEdit::Mutate { receipt, mutation } => {
            let i = at(*receipt, log.len());
            if let Some(r) = log.get_mut(i) {
                mutation.apply(r);
            }
        }
        ChainEdit::Drop(i) => {
            if !log.is_empty() {
                let i = at(*i, log.len());
                log.remove(i);
            }
        }
        ChainEdit::Swap(a, b) => {
            if !log.is_empty() {
                let (a, b) = (at(*a, log.len()), at(*b, log.len()));
                log.swap(a, b);
            }
        }
        ChainEdit::Duplicate { from, at: to } => {
            if let Some(r) = log.get(at(*from, log.len())).cloned() {
                let to = to % (log.len() + 1);
                log.insert(to, r);
            }
        }
        ChainEdit::Truncate(len) => log.truncate(*len),
        ChainEdit::Splice(i) => {
            let i = at(*i, log.len());
            if let (Some(slot), Some(r)) = (log.get_mut(i), other.get(i)) {
                *slot = r.clone();
            }
        }
    }
}

/// Checks one case; see the module docs.
pub fn check(case: &ChainCase) {
    let chains = fixtures::chains();
    let n = chains.len();
    let (Some(fixture), Some(other)) =
        (chains.get(case.chain % n), chains.get((case.chain + 1) % n))
    else {
        return;
    };
    let mut log = fixture.receipts.clone();
    for edit in &case.edits {
        apply(edit, &mut log, &other.receipts);
    }
    let session = match &case.session {
        SessionChoice::Own => fixture.session_id.clone(),
        SessionChoice::Other(s) => s.clone(),
    };
    let tool = match &case.tool {
        ToolChoice::Given => Some(fixture.tool_did.clone()),
        ToolChoice::Absent => None,
        ToolChoice::Other(seed) => Some(fixtures::key(*seed).did),
    };
    let verdict = receipt::verify_chain(&log, &session, tool.as_deref());

    let question_ok =
        session == fixture.session_id && tool.as_ref().is_none_or(|t| *t == fixture.tool_did);
    let fits = !log.is_empty() && log.len() <= fixture.receipts.len();
    let unchanged = fits && log.iter().zip(&fixture.receipts).all(|(a, b)| a == b);
    let changed = !fits
        || log
            .iter()
            .zip(&fixture.receipts)
            .any(|(a, b)| canonical(a) != canonical(b));
    if question_ok && unchanged {
        let summary = verdict.unwrap_or_else(|e| panic!("refused a valid chain: {e}"));
        assert_eq!(summary.len, log.len());
        assert_eq!(summary.signer, fixture.tool_did);
        assert_eq!(
            Some(summary.head_receipt_hash.as_str()),
            log.last()
                .and_then(|r| r.get("receipt_hash"))
                .and_then(Value::as_str)
        );
    } else if (!question_ok || changed)
        && let Ok(summary) = verdict
    {
        panic!("accepted an edited chain or a wrong question: {summary:?}");
    }
}
