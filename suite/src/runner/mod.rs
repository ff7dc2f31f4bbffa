//! Running one vector against a target, and many with bounded parallelism.
//!
//! [`run_vector`] walks a vector's steps with a fresh [`VectorState`]: it
//! builds and signs each request ([`request`]), sends it through the bounded
//! client, judges the answer against the acceptable outcomes, captures
//! variables, and performs the built-in checks ([`checks`]). The first step
//! that fails ends the vector; everything sent and received is recorded for
//! the transcript. The whole vector runs under a time budget, so no answer (or
//! silence) of a Tool can hold the run.
//!
//! [`schedule()`] runs a set of vectors concurrently, at most `jobs` at a time.
//! Vectors that restart the Tool hold an exclusive lock for their whole run;
//! every other vector holds it shared, so a restart never pulls the Tool from
//! under another vector.

pub mod checks;
pub mod request;
pub mod schedule;
pub mod state;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::{HttpClient, InResponse, OutRequest, TransportError};
use crate::recording::{Record, to_exchange};
use crate::report::{Exchange, Level, Status, VectorResult};
use crate::target::{Target, capability};
use crate::vector::{LoadedVector, SchemaStore, Step, VectorLevel};

pub use schedule::{Progress, run_all, schedule};
pub use state::VectorState;

/// Default time budget of one vector.
pub const DEFAULT_VECTOR_TIMEOUT: Duration = Duration::from_secs(60);

/// What every vector of a run shares.
pub struct RunContext {
    /// The bounded HTTP client.
    pub client: HttpClient,
    /// The Tool.
    pub target: Arc<dyn Target>,
    /// The manifest fetched at the start of the run.
    pub manifest: Arc<Value>,
    /// Schemas under `vectors/schema/`.
    pub schemas: SchemaStore,
    /// Unique id of this run.
    pub run_id: String,
    /// The run's seed: every random value of the run derives from it
    /// ([`crate::seed`]); concurrency scenarios draw their plans from it.
    pub seed: u64,
    /// Default per-vector budget.
    pub vector_timeout: Duration,
    /// Held shared by ordinary vectors, exclusively by those that restart.
    pub exclusive: tokio::sync::RwLock<()>,
}

impl std::fmt::Debug for RunContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext")
            .field("target", &self.target.base_url())
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

/// The result of one vector run.
#[derive(Debug, Clone)]
pub struct VectorRun {
    /// Name (relative path).
    pub path: String,
    /// The vector's id.
    pub id: String,
    /// Outcome.
    pub status: Status,
    /// Why it did not pass.
    pub reason: Option<String>,
    /// Wall-clock time.
    pub duration: Duration,
    /// Every exchange.
    pub records: Vec<Record>,
    /// The step that failed (0-based), if any.
    pub failed_step: Option<usize>,
    /// A concurrency scenario's summary (`race` steps), for the report's `concurrency` member.
    pub concurrency: Option<Value>,
}

/// A step that did not succeed.
#[derive(Debug, Clone)]
pub struct StepError {
    /// `Fail`, `Error` or `NotApplicable`.
    pub status: Status,
    /// Why.
    pub reason: String,
}

impl StepError {
    /// The Tool's answer was not acceptable.
    pub fn fail(reason: impl Into<String>) -> Self {
        StepError {
            status: Status::Fail,
            reason: reason.into(),
        }
    }

    /// The step could not be judged.
    pub fn error(reason: impl Into<String>) -> Self {
        StepError {
            status: Status::Error,
            reason: reason.into(),
        }
    }

    /// The step does not apply to this Tool or run.
    pub fn not_applicable(reason: impl Into<String>) -> Self {
        StepError {
            status: Status::NotApplicable,
            reason: reason.into(),
        }
    }
}

/// One vector in progress.
pub(crate) struct Run<'a> {
    pub(crate) ctx: &'a RunContext,
    pub(crate) vector_id: &'a str,
    /// The binding the vector speaks.
    pub(crate) binding: crate::vector::Binding,
    pub(crate) state: VectorState,
    pub(crate) records: Vec<Record>,
    pub(crate) step: usize,
    pub(crate) after_restart: bool,
    pub(crate) concurrency: Option<Value>,
}

impl Run<'_> {
    /// Sends a request, recording it; transport failures are step errors.
    pub(crate) async fn send(
        &mut self,
        request: OutRequest,
        expected: Option<Value>,
    ) -> Result<InResponse, StepError> {
        let mut result = self.ctx.client.send(&request).await;
        if self.after_restart && matches!(result, Err(TransportError::Connect(_))) {
            // A pooled connection to the Tool before its restart; one retry.
            result = self.ctx.client.send(&request).await;
        }
        self.after_restart = false;
        match result {
            Ok(resp) => {
                self.records.push(Record {
                    step: self.step,
                    request,
                    response: Some(resp.clone()),
                    expected,
                    diff: None,
                    note: None,
                });
                Ok(resp)
            }
            Err(e) => {
                self.records.push(Record {
                    step: self.step,
                    request,
                    response: None,
                    expected,
                    diff: None,
                    note: Some(e.to_string()),
                });
                Err(StepError::error(e.to_string()))
            }
        }
    }

    /// Sets the note (and diff) of the last record.
    pub(crate) fn annotate(&mut self, note: String, diff: Option<String>) {
        if let Some(last) = self.records.last_mut() {
            last.note = Some(note);
            if diff.is_some() {
                last.diff = diff;
            }
        }
    }

    /// Parses a response body as strict JSON (bounded depth and size).
    pub(crate) fn parse_json(&self, resp: &InResponse) -> Result<Value, String> {
        resp.strict_json(self.ctx.client.config().max_response_bytes)
    }
}

/// Why a vector is not applicable, if it is not.
pub fn applicability(ctx: &RunContext, v: &LoadedVector) -> Option<String> {
    for cap in &v.vector.requires {
        if cap == "restart" {
            if !ctx.target.can_restart() {
                return Some("needs a restart hook (--restart-cmd)".to_owned());
            }
        } else if let Some(path) = cap.strip_prefix('!') {
            // A negated gate: the manifest declares the capability `false`.
            let declared_false = path
                .split('.')
                .try_fold(ctx.manifest.as_ref(), |v, key| v.get(key))
                .is_some_and(|v| v == &Value::Bool(false));
            if !declared_false {
                return Some(format!(
                    "applies only when the manifest declares {path}: false"
                ));
            }
        } else if !capability(&ctx.manifest, cap) {
            return Some(format!("the manifest does not declare {cap}"));
        }
    }
    if v.vector.restarts() && !ctx.target.can_restart() {
        return Some("needs a restart hook (--restart-cmd)".to_owned());
    }
    None
}

/// Runs one vector to completion (or to its budget).
pub async fn run_vector(ctx: &RunContext, v: &LoadedVector) -> VectorRun {
    let start = Instant::now();
    let finish = |status, reason, records, failed_step| VectorRun {
        path: v.path.clone(),
        id: v.vector.id.clone(),
        status,
        reason,
        duration: start.elapsed(),
        records,
        failed_step,
        concurrency: None,
    };
    if let Some(reason) = applicability(ctx, v) {
        return finish(Status::NotApplicable, Some(reason), Vec::new(), None);
    }
    let _guard = if v.vector.restarts() {
        Guard::Exclusive(ctx.exclusive.write().await)
    } else {
        Guard::Shared(ctx.exclusive.read().await)
    };
    let budget = v
        .vector
        .timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(ctx.vector_timeout);
    let mut run = Run {
        ctx,
        vector_id: &v.vector.id,
        binding: v.vector.binding,
        state: VectorState::new(
            Arc::clone(&ctx.manifest),
            ctx.target.base_url(),
            &ctx.run_id,
            ctx.seed,
            &v.vector.id,
        ),
        records: Vec::new(),
        step: 0,
        after_restart: false,
        concurrency: None,
    };
    let outcome = tokio::time::timeout(budget, run_steps(&mut run, v)).await;
    let step = run.step;
    let records = std::mem::take(&mut run.records);
    let mut result = match outcome {
        Ok(Ok(())) => finish(Status::Pass, None, records, None),
        Ok(Err(e)) => {
            let reason = format!("{}: {}", step_label(v, step), e.reason);
            finish(e.status, Some(reason), records, Some(step))
        }
        Err(_) => {
            let reason = format!(
                "vector exceeded its {budget:?} budget during {}",
                step_label(v, step)
            );
            finish(Status::Error, Some(reason), records, Some(step))
        }
    };
    result.concurrency = run.concurrency.take();
    result
}

/// `step 3` (1-based), with the step's name when it has one: `step 3 (revoke)`.
fn step_label(v: &LoadedVector, step: usize) -> String {
    match v.vector.steps.get(step).and_then(Step::name) {
        Some(name) => format!("step {} ({name})", step + 1),
        None => format!("step {}", step + 1),
    }
}

enum Guard<'a> {
    Shared(#[allow(dead_code)] tokio::sync::RwLockReadGuard<'a, ()>),
    Exclusive(#[allow(dead_code)] tokio::sync::RwLockWriteGuard<'a, ()>),
}

async fn run_steps(run: &mut Run<'_>, v: &LoadedVector) -> Result<(), StepError> {
    for (i, step) in v.vector.steps.iter().enumerate() {
        run.step = i;
        let name = v.vector.step_name(i);
        match step {
            Step::Request(r) => request::run_request(run, &name, r).await?,
            Step::Check(c) => checks::run_check(run, c).await?,
        }
    }
    Ok(())
}

/// Maps the report's level from the vector's.
pub fn level(l: VectorLevel) -> Level {
    match l {
        VectorLevel::Must => Level::Must,
        VectorLevel::Should => Level::Should,
        VectorLevel::May => Level::May,
    }
}

/// The report entry of a vector run; transcripts are kept only for failures.
pub fn to_result(
    v: &LoadedVector,
    run: &VectorRun,
    secrets: &[crate::client::SecretHeader],
) -> VectorResult {
    let transcript: Vec<Exchange> = if run.status.is_failure() {
        run.records
            .iter()
            .map(|r| to_exchange(r, secrets))
            .collect()
    } else {
        Vec::new()
    };
    VectorResult {
        id: v.vector.id.clone(),
        path: v.path.clone(),
        title: v.vector.title.clone(),
        binding: v.vector.binding.as_str().to_owned(),
        requirements: v.vector.requirements.clone(),
        level: level(v.vector.level),
        status: run.status,
        duration_ms: u64::try_from(run.duration.as_millis()).unwrap_or(u64::MAX),
        reason: run.reason.clone(),
        expected_failure: None,
        transcript,
    }
}
