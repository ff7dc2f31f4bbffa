//! Offline verification of a `report.json`: `oap-conform verify-report FILE`.
//!
//! A report is accepted only when all of these hold, checked in this order so
//! the first failure names the most useful cause:
//!
//! 1. the file is JSON and carries a `proof`;
//! 2. the proof is a valid `eddsa-jcs-2022` Data Integrity proof with purpose
//!    `assertionMethod`, by the did:key in its `verificationMethod` (and, when
//!    the caller names one, by that signer);
//! 3. the file's bytes are exactly the layout the suite writes
//!    ([`render_signed`]), so edits invisible to JCS (spacing, escapes,
//!    duplicate members) fail too;
//! 4. the report validates against the report schema;
//! 5. it is internally consistent: every requirement's vectors exist, a
//!    passing verdict has no failed MUST requirement, per-binding verdicts are
//!    for bindings of the run.
//!
//! Together, any edited byte of a written report makes verification fail.

use std::path::Path;

use oap_wire::proof::{ASSERTION_METHOD, verify_document_detailed};
use serde_json::Value;

use super::error::ReportError;
use super::model::{Level, RequirementStatus, RunReport, VerdictResult};
use super::schema::validate_report_value;
use super::signing::render_signed;

/// A report whose proof, layout, schema and consistency all check out.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedReport {
    /// The DID of the key that signed it.
    pub signer: String,
    /// When it was signed (the proof's `created`).
    pub created: Option<String>,
    /// The report itself (its `proof` member included).
    pub report: RunReport,
}

impl VerifiedReport {
    /// A one-line summary: verdict, target, counts and signer.
    pub fn summary(&self) -> String {
        let r = &self.report;
        format!(
            "valid report: {} {} for {} ({} vectors, {} requirements), signed by {}{}",
            r.verdict.level,
            r.verdict.result.as_str().to_uppercase(),
            r.target.url,
            r.vectors.len(),
            r.requirements.len(),
            self.signer,
            self.created
                .as_deref()
                .map(|c| format!(" at {c}"))
                .unwrap_or_default(),
        )
    }
}

/// Verifies the report file at `path`; any signer is accepted.
pub fn verify_report(path: &Path) -> Result<VerifiedReport, ReportError> {
    verify_report_file(path, None)
}

/// Verifies the report file at `path`, requiring `expected_signer` (a DID)
/// when given.
pub fn verify_report_file(
    path: &Path,
    expected_signer: Option<&str>,
) -> Result<VerifiedReport, ReportError> {
    let bytes = std::fs::read(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    verify_report_bytes(&bytes, expected_signer)
}

/// Verifies the bytes of a `report.json` (see the module docs for the checks).
pub fn verify_report_bytes(
    bytes: &[u8],
    expected_signer: Option<&str>,
) -> Result<VerifiedReport, ReportError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ReportError::Json(e.to_string()))?;
    if value.get("proof").is_none() {
        return Err(ReportError::Unsigned);
    }
    let proof = verify_document_detailed(&value).map_err(|e| ReportError::Proof(e.to_string()))?;
    if proof.proof_purpose != ASSERTION_METHOD {
        return Err(ReportError::Proof(format!(
            "proofPurpose is {:?}, expected {ASSERTION_METHOD:?}",
            proof.proof_purpose
        )));
    }
    if let Some(expected) = expected_signer
        && proof.signer != expected
    {
        return Err(ReportError::WrongSigner {
            expected: expected.to_owned(),
            actual: proof.signer,
        });
    }
    let canonical = render_signed(&value)?;
    if canonical.as_bytes() != bytes {
        let offset = canonical
            .bytes()
            .zip(bytes.iter())
            .position(|(a, b)| a != *b)
            .unwrap_or_else(|| canonical.len().min(bytes.len()));
        return Err(ReportError::NotCanonical { offset });
    }
    validate_report_value(&value)?;
    let report: RunReport =
        serde_json::from_value(value).map_err(|e| ReportError::Json(e.to_string()))?;
    let problems = consistency_problems(&report);
    if !problems.is_empty() {
        return Err(ReportError::Inconsistent(problems));
    }
    Ok(VerifiedReport {
        signer: proof.signer,
        created: proof.created,
        report,
    })
}

/// Contradictions inside a report that its schema cannot express.
pub fn consistency_problems(report: &RunReport) -> Vec<String> {
    let mut problems = Vec::new();
    let vector_ids: std::collections::BTreeSet<&str> =
        report.vectors.iter().map(|v| v.id.as_str()).collect();
    if vector_ids.len() != report.vectors.len() {
        problems.push("two vectors share an id".to_owned());
    }
    for r in &report.requirements {
        for v in &r.vectors {
            if !vector_ids.contains(v.as_str()) {
                problems.push(format!(
                    "requirement {} names vector {v}, which is not in the report",
                    r.id
                ));
            }
        }
        if report.verdict.result == VerdictResult::Pass
            && r.level == Level::Must
            && r.status == RequirementStatus::Fail
        {
            problems.push(format!(
                "verdict is pass but MUST requirement {} failed",
                r.id
            ));
        }
    }
    for binding in report.verdicts_by_binding.keys() {
        if !report.bindings.contains(binding) {
            problems.push(format!("verdict for binding {binding}, which was not run"));
        }
    }
    if report.verdict.result == VerdictResult::Pass
        && report
            .verdicts_by_binding
            .values()
            .any(|v| v.result == VerdictResult::Fail)
    {
        problems.push("verdict is pass but a binding's verdict is fail".to_owned());
    }
    problems
}

/// The outcome of `oap-conform verify-report`: the exit code and the line to
/// print (on standard output when the code is 0, on standard error otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyCommandOutcome {
    /// 0 the report is intact, 1 it is not, 2 the file could not be read.
    pub exit_code: u8,
    /// The summary of a valid report, or why it was rejected.
    pub message: String,
}

/// Runs the `verify-report FILE` command: verifies the file, requiring
/// `expected_signer` when given, and says what to print and how to exit.
pub fn verify_report_command(path: &Path, expected_signer: Option<&str>) -> VerifyCommandOutcome {
    match verify_report_file(path, expected_signer) {
        Ok(verified) => VerifyCommandOutcome {
            exit_code: 0,
            message: verified.summary(),
        },
        Err(e @ ReportError::Io { .. }) => VerifyCommandOutcome {
            exit_code: 2,
            message: format!("cannot read the report: {e}"),
        },
        Err(e) => VerifyCommandOutcome {
            exit_code: 1,
            message: format!("{}: INVALID: {e}", path.display()),
        },
    }
}
