//! From vector outcomes to requirement outcomes to the L4 verdict.
//!
//! The rule, in one place so every writer and test agrees on it:
//!
//! - A requirement **fails** when any vector that checks it fails or errors.
//! - It **passes** when at least one of its vectors passed and none failed.
//! - It is **not-applicable** when every one of its vectors is not applicable
//!   (a capability the manifest does not declare).
//! - It is **untested** when the catalogue says it cannot be tested, when no
//!   vector of the run checks it (*uncovered*), or when all its vectors were
//!   skipped.
//! - **L4 passes iff every applicable MUST requirement passes.** A MUST that
//!   fails, or is testable but uncovered or skipped, is a reason; a MUST the
//!   catalogue declares untestable is not (it is listed as untested). SHOULD
//!   failures and gaps are warnings; MAY requirements never fail the verdict
//!   (a failing MAY is a warning, marked as such; an untested one says
//!   nothing).
//! - A known failure (listed in the expectations file) is still a failure:
//!   expectations gate CI, they never change what the Tool is.
//!
//! These functions are pure: same inputs, same output, in catalogue order.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{
    L4, Level, RequirementResult, RequirementStatus, RunReport, Status, VectorResult, Verdict,
    VerdictResult,
};
use super::requirements::{RequirementEntry, Testable};

/// Judges every requirement of `requirements` from the `vectors` that name it,
/// and derives the L4 verdict.
///
/// The caller passes the requirements that apply to the run (see
/// [`super::requirements::for_bindings`]); each one is judged, and a testable
/// one no vector names counts as uncovered. Vectors naming an ID absent from
/// `requirements` produce a warning.
pub fn compute_requirements_and_verdict(
    vectors: &[VectorResult],
    requirements: &[RequirementEntry],
) -> (Vec<RequirementResult>, Verdict) {
    let entries: Vec<&RequirementEntry> = requirements.iter().collect();
    let refs: Vec<&VectorResult> = vectors.iter().collect();
    judge(&refs, &entries, true)
}

/// The L4 verdict of each binding on its own: the binding's vectors against
/// the requirements that apply to it.
pub fn compute_verdicts_by_binding(
    vectors: &[VectorResult],
    requirements: &[RequirementEntry],
    bindings: &[String],
) -> BTreeMap<String, Verdict> {
    bindings
        .iter()
        .map(|binding| {
            let vs: Vec<&VectorResult> = vectors.iter().filter(|v| &v.binding == binding).collect();
            let rs: Vec<&RequirementEntry> = requirements
                .iter()
                .filter(|r| r.applies_to(binding))
                .collect();
            (binding.clone(), judge(&vs, &rs, false).1)
        })
        .collect()
}

/// Fills `report.requirements`, `report.verdict` and
/// `report.verdicts_by_binding` from `report.vectors` and `report.bindings`,
/// judging the catalogue entries that apply to the run's bindings.
pub fn apply_verdict(report: &mut RunReport, catalogue: &[RequirementEntry]) {
    let applicable: Vec<RequirementEntry> = catalogue
        .iter()
        .filter(|r| report.bindings.iter().any(|b| r.applies_to(b)))
        .cloned()
        .collect();
    let (requirements, verdict) = compute_requirements_and_verdict(&report.vectors, &applicable);
    report.verdicts_by_binding =
        compute_verdicts_by_binding(&report.vectors, &applicable, &report.bindings);
    report.requirements = requirements;
    report.verdict = verdict;
}

fn judge(
    vectors: &[&VectorResult],
    requirements: &[&RequirementEntry],
    warn_unknown: bool,
) -> (Vec<RequirementResult>, Verdict) {
    let mut by_requirement: BTreeMap<&str, Vec<&VectorResult>> = BTreeMap::new();
    for v in vectors {
        let mut named = BTreeSet::new();
        for id in &v.requirements {
            // A vector naming the same ID twice counts once.
            if named.insert(id.as_str()) {
                by_requirement.entry(id.as_str()).or_default().push(v);
            }
        }
    }

    let mut results = Vec::with_capacity(requirements.len());
    let mut reasons = Vec::new();
    let mut warnings = Vec::new();

    for entry in requirements {
        let vs = by_requirement
            .get(entry.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let (status, untested_reason, problem) = judge_one(entry, vs);
        if let Some(problem) = problem {
            let line = format!("{} ({}): {}", entry.id, entry.level.as_str(), problem);
            match entry.level {
                Level::Must => reasons.push(line),
                Level::Should => warnings.push(line),
                // A MAY nobody tested is no news; a MAY that broke is.
                Level::May if status == RequirementStatus::Fail => {
                    warnings.push(format!("{line} (MAY: does not affect the verdict)"))
                }
                Level::May => {}
            }
        }
        if entry.level == Level::Must && status == RequirementStatus::Pass {
            let skipped = vs.iter().filter(|v| v.status == Status::Skip).count();
            if skipped > 0 {
                warnings.push(format!(
                    "{} (MUST): passed, but {skipped} of its {} vectors were skipped",
                    entry.id,
                    vs.len()
                ));
            }
        }
        results.push(RequirementResult {
            id: entry.id.clone(),
            level: entry.level,
            binding: entry.binding.clone(),
            text: entry.text.clone(),
            status,
            vectors: vs.iter().map(|v| v.id.clone()).collect(),
            untested_reason,
        });
    }

    if warn_unknown {
        let known: BTreeSet<&str> = requirements.iter().map(|r| r.id.as_str()).collect();
        for (id, vs) in &by_requirement {
            if !known.contains(id) {
                let names: Vec<&str> = vs.iter().map(|v| v.id.as_str()).collect();
                warnings.push(format!(
                    "vector(s) {} name requirement {id}, which is not in the catalogue for this run",
                    names.join(", ")
                ));
            }
        }
        for v in vectors {
            if v.requirements.is_empty() && v.status.is_failure() {
                warnings.push(format!(
                    "vector {} {} but names no requirement",
                    v.id,
                    v.status.as_str()
                ));
            }
        }
    }

    if requirements.is_empty() {
        reasons.push("no requirement applies to this run: nothing was certified".to_owned());
    }

    let result = if reasons.is_empty() {
        VerdictResult::Pass
    } else {
        VerdictResult::Fail
    };
    let verdict = Verdict {
        level: L4.to_owned(),
        result,
        reasons,
        warnings,
    };
    (results, verdict)
}

/// Status, untested reason, and the problem line (if this requirement is not
/// met) for one requirement.
fn judge_one(
    entry: &RequirementEntry,
    vs: &[&VectorResult],
) -> (RequirementStatus, Option<String>, Option<String>) {
    if vs.is_empty() {
        return match &entry.testable {
            Testable::No(why) => (
                RequirementStatus::Untested,
                Some(format!("not testable: {why}")),
                None,
            ),
            Testable::Yes => (
                RequirementStatus::Untested,
                Some("uncovered: no vector of this run checks it".to_owned()),
                Some("uncovered: no vector of this run checks it".to_owned()),
            ),
        };
    }

    let failing: Vec<&&VectorResult> = vs.iter().filter(|v| v.status.is_failure()).collect();
    if !failing.is_empty() {
        let names: Vec<String> = failing
            .iter()
            .map(|v| {
                let known = if v.expected_failure.is_some() {
                    ", known"
                } else {
                    ""
                };
                format!("{} ({}{known})", v.id, v.status.as_str())
            })
            .collect();
        return (
            RequirementStatus::Fail,
            None,
            Some(format!("failed by {}", names.join(", "))),
        );
    }
    if vs.iter().any(|v| v.status == Status::Pass) {
        return (RequirementStatus::Pass, None, None);
    }
    if vs.iter().all(|v| v.status == Status::NotApplicable) {
        return (RequirementStatus::NotApplicable, None, None);
    }
    // Only skipped and not-applicable vectors: nothing judged it.
    let why = vs
        .iter()
        .find(|v| v.status == Status::Skip)
        .and_then(|v| v.reason.as_deref())
        .map(|r| format!("untested: its vectors were skipped ({r})"))
        .unwrap_or_else(|| "untested: its vectors were skipped".to_owned());
    (RequirementStatus::Untested, Some(why.clone()), Some(why))
}
