//! The data of one conformance run, as it is written to `report.json`.
//!
//! These types are the report's single source of truth: the JSON Schema
//! (`vectors/schema/report.schema.json`), the JUnit, Markdown and HTML writers
//! and the verifier all read the same structs. Field names are the wire names;
//! enumerations serialise in kebab-case (`not-applicable`), requirement levels
//! in upper case (`MUST`), exactly as `docs/requirements.json` spells them.
//!
//! Everything a Tool sent (headers, bodies, reasons quoting them) is kept as
//! plain strings here; escaping is the job of each writer, never of the model.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One complete run of the suite against one target: what was run, against
/// what, how each vector and requirement fared, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunReport {
    /// The suite that produced the report and the digests of its inputs.
    pub suite: SuiteInfo,
    /// The Tool under test.
    pub target: TargetInfo,
    /// Where the suite ran.
    pub environment: EnvironmentInfo,
    /// Seed of every random choice of the run (identifiers, fuzz inputs), so
    /// that a run can be repeated.
    pub seed: u64,
    /// Start of the run, RFC 3339 UTC (`2025-01-01T00:00:00Z`).
    pub started_at: String,
    /// Wall-clock duration of the whole run in milliseconds.
    pub duration_ms: u64,
    /// The bindings that were run (`oap`, `amp`), sorted.
    pub bindings: Vec<String>,
    /// Every vector of the run, in the order of their paths.
    pub vectors: Vec<VectorResult>,
    /// Every requirement of the catalogue that applies to the run's bindings.
    pub requirements: Vec<RequirementResult>,
    /// The L4 verdict over all bindings of the run.
    pub verdict: Verdict,
    /// The L4 verdict of each binding on its own, keyed by binding name.
    pub verdicts_by_binding: BTreeMap<String, Verdict>,
    /// Summary of the black-box fuzzing phase, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuzz: Option<Value>,
    /// Summary of the concurrency (linearizability) phase, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Value>,
    /// The Data Integrity proof over everything else (`eddsa-jcs-2022`); absent
    /// until the report is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Value>,
}

/// The suite that produced a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteInfo {
    /// Crate name of the suite (`oap-conform`).
    pub name: String,
    /// Version of the suite.
    pub version: String,
    /// SHA-256 (lower-case hex) over the vector set that was loaded.
    pub vectors_digest: String,
    /// SHA-256 (lower-case hex) over `docs/requirements.json`.
    pub requirements_digest: String,
}

/// The Tool under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetInfo {
    /// Base URL the suite spoke to.
    pub url: String,
    /// The manifest the Tool served at `GET /oap/manifest`, when it served one
    /// that parsed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Value>,
    /// SHA-256 (lower-case hex) over the JCS form of `manifest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
}

/// The machine the suite ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentInfo {
    /// Operating system (`std::env::consts::OS`).
    pub os: String,
    /// CPU architecture (`std::env::consts::ARCH`).
    pub arch: String,
    /// Host name, when known and not withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

impl EnvironmentInfo {
    /// The environment of the running process; the host name comes from the
    /// `HOSTNAME` variable or `/etc/hostname` when either is readable.
    pub fn current() -> Self {
        let hostname = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty());
        EnvironmentInfo {
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            hostname,
        }
    }
}

/// A requirement level per RFC 2119, as the vectors and the catalogue spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// An absolute requirement: one failure fails the verdict.
    Must,
    /// A recommendation: a failure is a warning.
    Should,
    /// An option: never affects the verdict.
    May,
}

impl Level {
    /// The keyword as written in the report (`MUST`, `SHOULD`, `MAY`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        }
    }
}

/// Outcome of one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every step got an acceptable outcome.
    Pass,
    /// The Tool answered, and the answer was not acceptable.
    Fail,
    /// The vector was not run (filtered out, or needs something the run lacks,
    /// such as `--restart-cmd`).
    Skip,
    /// The vector is gated on a capability the manifest does not declare.
    NotApplicable,
    /// The vector could not be judged: timeout, connection failure, a response
    /// too large or unparsable at the transport level.
    Error,
}

impl Status {
    /// The status as written in the report (`pass`, `not-applicable`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::NotApplicable => "not-applicable",
            Status::Error => "error",
        }
    }

    /// Whether this outcome counts against the requirements the vector checks.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Fail | Status::Error)
    }
}

/// The result of one vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorResult {
    /// The vector's stable identifier.
    pub id: String,
    /// Path of the vector file relative to `vectors/` (`oap/envelope/001-x.json`).
    pub path: String,
    /// One-line description from the vector file.
    pub title: String,
    /// The binding the vector exercises (`oap`, `amp`).
    pub binding: String,
    /// The requirement IDs the vector checks.
    pub requirements: Vec<String>,
    /// The level of the strongest requirement the vector checks.
    pub level: Level,
    /// The outcome.
    pub status: Status,
    /// Wall-clock time spent on the vector in milliseconds.
    pub duration_ms: u64,
    /// Why the vector failed, errored, was skipped or is not applicable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the vector is listed in the run's expectations file: the reason
    /// given there. A known failure is still a failure for the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_failure: Option<String>,
    /// Every HTTP exchange of the vector; recorded only when the vector failed
    /// or errored, empty otherwise.
    #[serde(default)]
    pub transcript: Vec<Exchange>,
}

/// One HTTP request of a vector and what came back.
///
/// Header values the user marked as secret (`--header`, `--header-env`) are
/// already redacted here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// Number of the vector step the request belongs to, counting from 1, as
    /// the vector's `reason` does (`step 3: ...`).
    pub step: usize,
    /// HTTP method.
    pub method: String,
    /// Absolute request URL.
    pub url: String,
    /// Request headers, in the order sent, as `[name, value]` pairs.
    pub request_headers: Vec<(String, String)>,
    /// Request body as text (lossy UTF-8 when it was not valid UTF-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    /// Response status, absent when no response arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Response headers, in the order received, as `[name, value]` pairs.
    #[serde(default)]
    pub response_headers: Vec<(String, String)>,
    /// Response body as text, possibly truncated at the suite's size cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    /// The acceptable outcomes the step allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    /// Unified diff between expected and actual JSON, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// A one-line `curl` command that reproduces the request.
    pub curl: String,
    /// What the suite concluded about this exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Outcome of one requirement, derived from its vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequirementStatus {
    /// At least one vector passed and none failed or errored.
    Pass,
    /// At least one vector failed or errored.
    Fail,
    /// No vector judged it: not testable, uncovered, or every vector skipped.
    Untested,
    /// Every vector was not applicable to the Tool's declared capabilities.
    NotApplicable,
}

impl RequirementStatus {
    /// The status as written in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            RequirementStatus::Pass => "pass",
            RequirementStatus::Fail => "fail",
            RequirementStatus::Untested => "untested",
            RequirementStatus::NotApplicable => "not-applicable",
        }
    }
}

/// The result of one requirement of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequirementResult {
    /// Requirement ID (`OAP-3.2-3`).
    pub id: String,
    /// Its level.
    pub level: Level,
    /// The binding it belongs to, as the catalogue says.
    pub binding: String,
    /// Its text.
    pub text: String,
    /// The outcome.
    pub status: RequirementStatus,
    /// IDs of the vectors of the run that check it.
    pub vectors: Vec<String>,
    /// Why it is untested (not testable, uncovered, skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untested_reason: Option<String>,
}

/// Result of a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictResult {
    /// The Tool conforms at the level.
    Pass,
    /// It does not.
    Fail,
}

impl VerdictResult {
    /// The result as written in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictResult::Pass => "pass",
            VerdictResult::Fail => "fail",
        }
    }
}

/// The conformance verdict at one level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// The level judged; always `L4`.
    pub level: String,
    /// Pass or fail.
    pub result: VerdictResult,
    /// Why it failed: one line per MUST requirement not met. Empty on a pass.
    pub reasons: Vec<String>,
    /// What does not fail the verdict but deserves attention (SHOULD failures,
    /// MAY failures, unknown requirement IDs in vectors).
    pub warnings: Vec<String>,
}

/// The level every verdict of this suite judges.
pub const L4: &str = "L4";
