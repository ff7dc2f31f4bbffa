//! A complete run: select vectors, reach the target, run, judge, report.
//!
//! [`prepare`] builds the shared [`RunContext`] (client, manifest, schemas,
//! run id) and is where an unreachable target is told apart from a Tool that
//! answers badly: only the former is an error ([`RunError::Unreachable`],
//! exit code 3); a Tool that answers garbage is judged and fails. [`execute`]
//! runs the selected vectors and assembles the [`RunReport`] with the verdict
//! of the requirement catalogue; [`gate_holds`] decides the exit code, taking
//! known failures and stale expectations into account.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::client::{ClientConfig, HttpClient};
use crate::expectations::{ExpectationSummary, Expectations};
use crate::report::{
    EnvironmentInfo, RequirementEntry, RequirementStatus, RunReport, Status, SuiteInfo, TargetInfo,
    Testable, Verdict, VerdictResult, apply_verdict,
};
use crate::runner::{Progress, RunContext, VectorRun, run_all, to_result};
use crate::target::{Target, TargetError, fetch_manifest};
use crate::vector::{Binding, LoadedVector, SchemaStore, VectorSet};

/// Errors that stop a run before any verdict.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Nothing answers at the target's URL.
    #[error(transparent)]
    Unreachable(TargetError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] crate::client::ClientBuildError),
    /// The requirement catalogue could not be read.
    #[error("requirement catalogue: {0}")]
    Catalogue(String),
}

/// What selects and bounds a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Bindings to run.
    pub bindings: Vec<Binding>,
    /// Only vectors whose name or id matches (substring, or glob with `*?[`).
    pub filter: Option<String>,
    /// Vectors in flight at once.
    pub jobs: usize,
    /// Per-vector budget.
    pub vector_timeout: Duration,
}

/// Whether a vector is selected by binding and filter.
pub fn selected(v: &LoadedVector, opts: &RunOptions) -> bool {
    if !opts.bindings.contains(&v.vector.binding) {
        return false;
    }
    match &opts.filter {
        None => true,
        Some(f) if f.contains(['*', '?', '[']) => glob::Pattern::new(f)
            .map(|p| p.matches(&v.path) || p.matches(&v.vector.id))
            .unwrap_or(false),
        Some(f) => v.path.contains(f.as_str()) || v.vector.id.contains(f.as_str()),
    }
}

/// The bindings the manifest lists (`oap` when it lists none the suite knows).
pub fn declared_bindings(manifest: &Value) -> Vec<Binding> {
    let listed = |name: &str| {
        manifest
            .get("bindings")
            .and_then(Value::as_array)
            .is_some_and(|b| b.iter().any(|v| v == name))
    };
    let mut out = vec![Binding::Oap];
    if listed("amp") {
        out.push(Binding::Amp);
    }
    out
}

/// Builds the shared context: client, manifest, schemas, run id, seed.
pub async fn prepare(
    target: Arc<dyn Target>,
    client: ClientConfig,
    set: &VectorSet,
    vector_timeout: Duration,
    seed: u64,
) -> Result<Arc<RunContext>, RunError> {
    let client = HttpClient::new(client)?;
    let manifest = match fetch_manifest(&client, target.base_url()).await {
        Ok(m) => m,
        Err(e @ TargetError::Unreachable { .. }) => return Err(RunError::Unreachable(e)),
        // Something answered: judge it; manifest vectors will say what is wrong.
        Err(_) => Value::Object(serde_json::Map::new()),
    };
    Ok(Arc::new(RunContext {
        client,
        target,
        manifest: Arc::new(manifest),
        schemas: SchemaStore::new(set.root.join("schema")),
        run_id: crate::seed::run_id(seed),
        seed,
        vector_timeout,
        exclusive: tokio::sync::RwLock::new(()),
    }))
}

/// Everything a finished run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// The report (unsigned; the writer signs it).
    pub report: RunReport,
    /// Raw results, in name order.
    pub runs: Vec<VectorRun>,
    /// Expectations applied.
    pub expectations: ExpectationSummary,
    /// Whether the CI gate holds (exit code 0).
    pub gate: bool,
}

/// Runs the selected vectors and builds the report.
#[allow(clippy::too_many_arguments)]
pub async fn execute(
    ctx: Arc<RunContext>,
    set: &VectorSet,
    catalogue: &[RequirementEntry],
    catalogue_digest: String,
    opts: &RunOptions,
    expectations: Option<&Expectations>,
    progress: Option<Progress>,
) -> RunOutput {
    let started_at = oap_wire::time::now_rfc3339();
    let start = Instant::now();
    let vectors: Vec<LoadedVector> = set
        .vectors
        .iter()
        .filter(|v| selected(v, opts))
        .cloned()
        .collect();
    let runs = run_all(Arc::clone(&ctx), &vectors, opts.jobs, progress).await;
    let secrets = &ctx.client.config().secret_headers;
    let mut results: Vec<_> = vectors
        .iter()
        .zip(&runs)
        .map(|(v, r)| to_result(v, r, secrets))
        .collect();
    let summary = expectations
        .map(|e| e.apply(&mut results))
        .unwrap_or_default();
    // A filtered run that selected none of a binding's vectors did not run that binding.
    let mut bindings: Vec<String> = opts
        .bindings
        .iter()
        .filter(|b| opts.filter.is_none() || vectors.iter().any(|v| v.vector.binding == **b))
        .map(|b| b.as_str().to_owned())
        .collect();
    bindings.sort();
    let manifest = (!ctx.manifest.as_object().is_some_and(|m| m.is_empty()))
        .then(|| ctx.manifest.as_ref().clone());
    let manifest_digest = manifest
        .as_ref()
        .and_then(|m| oap_wire::jcs::sha256_jcs_hex(m).ok());
    let mut report = RunReport {
        suite: SuiteInfo {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            vectors_digest: set.digest.clone(),
            requirements_digest: catalogue_digest,
        },
        target: TargetInfo {
            url: ctx.target.base_url().to_owned(),
            manifest,
            manifest_digest,
        },
        environment: EnvironmentInfo::current(),
        seed: ctx.seed,
        started_at,
        duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        bindings,
        vectors: results,
        requirements: Vec::new(),
        verdict: Verdict {
            level: crate::report::model::L4.to_owned(),
            result: VerdictResult::Fail,
            reasons: Vec::new(),
            warnings: Vec::new(),
        },
        verdicts_by_binding: Default::default(),
        fuzz: None,
        concurrency: concurrency_summary(&runs),
        proof: None,
    };
    // A filtered run judges only the requirements its vectors check: it is a
    // debugging or CI-slice run, never a certification of the rest.
    let named: std::collections::BTreeSet<&str> = report
        .vectors
        .iter()
        .flat_map(|v| v.requirements.iter().map(String::as_str))
        .collect();
    let judged: Vec<RequirementEntry> = match &opts.filter {
        Some(_) => catalogue
            .iter()
            .filter(|e| named.contains(e.id.as_str()))
            .cloned()
            .collect(),
        None => catalogue.to_vec(),
    };
    apply_verdict(&mut report, &judged);
    if let Some(f) = &opts.filter {
        report.verdict.warnings.push(format!(
            "filtered run (--filter {f:?}): only the {} requirements its vectors check were judged",
            judged.len()
        ));
    }
    for s in &summary.stale {
        report.verdict.warnings.push(format!(
            "stale expectation: {s} is listed as failing but passes"
        ));
    }
    for u in &summary.unused {
        report.verdict.warnings.push(format!(
            "expectation pattern {u:?} matches no vector of the run"
        ));
    }
    let gate = gate_holds(&report, &judged, &summary);
    RunOutput {
        report,
        runs,
        expectations: summary,
        gate,
    }
}

/// The report's `concurrency` member: the summary of every concurrency scenario that ran.
fn concurrency_summary(runs: &[VectorRun]) -> Option<Value> {
    let scenarios: Vec<Value> = runs.iter().filter_map(|r| r.concurrency.clone()).collect();
    (!scenarios.is_empty()).then(|| serde_json::json!({ "scenarios": scenarios }))
}

/// Reads the catalogue and its digest; a missing file is an empty catalogue.
pub fn load_catalogue(path: &std::path::Path) -> Result<(Vec<RequirementEntry>, String), RunError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes.clone())
                .map_err(|_| RunError::Catalogue(format!("{} is not UTF-8", path.display())))?;
            let entries = crate::report::parse_requirements(&text)
                .map_err(|e| RunError::Catalogue(e.to_string()))?;
            Ok((entries, hex::encode(Sha256::digest(&bytes))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok((Vec::new(), hex::encode(Sha256::digest(b""))))
        }
        Err(e) => Err(RunError::Catalogue(format!("{}: {e}", path.display()))),
    }
}

/// The catalogue of a source checkout (`<workspace>/docs/requirements.json`).
pub fn default_catalogue() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/requirements.json")
}

/// The exit-code rule: the verdict holds, or every MUST failure behind it is
/// a known failure; and no expectation is stale.
pub fn gate_holds(
    report: &RunReport,
    catalogue: &[RequirementEntry],
    summary: &ExpectationSummary,
) -> bool {
    if !summary.stale.is_empty() {
        return false;
    }
    if report.verdict.result == VerdictResult::Pass {
        return true;
    }
    let known = |id: &str| {
        report
            .vectors
            .iter()
            .find(|v| v.id == id)
            .is_some_and(|v| !v.status.is_failure() || v.expected_failure.is_some())
    };
    let testable = |id: &str| {
        catalogue
            .iter()
            .find(|e| e.id == id)
            .is_some_and(|e| e.testable == Testable::Yes)
    };
    // Vectors of MUST level that fail without being listed.
    let unlisted_must = report.vectors.iter().any(|v| {
        v.level == crate::report::Level::Must
            && v.status.is_failure()
            && v.expected_failure.is_none()
    });
    if unlisted_must {
        return false;
    }
    report
        .requirements
        .iter()
        .filter(|r| r.level == crate::report::Level::Must)
        .all(|r| match r.status {
            RequirementStatus::Fail => r.vectors.iter().all(|id| known(id)),
            RequirementStatus::Untested => !testable(&r.id),
            RequirementStatus::Pass | RequirementStatus::NotApplicable => true,
        })
}

/// Counts of a run's statuses, for summaries.
pub fn counts(report: &RunReport) -> [(Status, usize); 5] {
    let n = |s: Status| report.vectors.iter().filter(|v| v.status == s).count();
    [
        (Status::Pass, n(Status::Pass)),
        (Status::Fail, n(Status::Fail)),
        (Status::Error, n(Status::Error)),
        (Status::NotApplicable, n(Status::NotApplicable)),
        (Status::Skip, n(Status::Skip)),
    ]
}
