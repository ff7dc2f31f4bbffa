//! Bounded parallel execution of a vector set.
//!
//! Vectors are I/O bound (and some wait for a TTL to pass), so they run as
//! tasks on the async runtime, at most `jobs` at a time, rather than on
//! threads. Each vector's result is delivered through its own channel, so a
//! caller can await them in name order (the test harness, one trial per
//! vector) or as they complete (the CLI's progress bar, via [`Progress`]).

use std::sync::Arc;

use tokio::sync::{Semaphore, oneshot};

use super::{RunContext, VectorRun, run_vector};
use crate::vector::LoadedVector;

/// Called as each vector finishes, from the task that ran it.
pub type Progress = Arc<dyn Fn(&VectorRun) + Send + Sync>;

/// Starts every vector on the current runtime, at most `jobs` at once, and
/// returns one receiver per vector, in the order given.
///
/// Must be called from within a Tokio runtime.
pub fn schedule(
    ctx: Arc<RunContext>,
    vectors: &[LoadedVector],
    jobs: usize,
    progress: Option<Progress>,
) -> Vec<oneshot::Receiver<VectorRun>> {
    let permits = Arc::new(Semaphore::new(jobs.max(1)));
    vectors
        .iter()
        .map(|v| {
            let (tx, rx) = oneshot::channel();
            let (ctx, permits, progress, v) = (
                Arc::clone(&ctx),
                Arc::clone(&permits),
                progress.clone(),
                v.clone(),
            );
            tokio::spawn(async move {
                // The semaphore is never closed, so acquiring cannot fail; if
                // it somehow did, run anyway rather than lose the vector.
                let _permit = permits.acquire_owned().await.ok();
                let result = run_vector(&ctx, &v).await;
                if let Some(p) = &progress {
                    p(&result);
                }
                let _ = tx.send(result);
            });
            rx
        })
        .collect()
}

/// A result for a vector whose task ended without reporting (it panicked).
pub fn lost(v: &LoadedVector) -> VectorRun {
    VectorRun {
        path: v.path.clone(),
        id: v.vector.id.clone(),
        status: crate::report::Status::Error,
        reason: Some("the vector's task ended without a result (a bug in the suite)".into()),
        duration: std::time::Duration::ZERO,
        records: Vec::new(),
        failed_step: None,
        concurrency: None,
    }
}

/// Runs every vector and collects the results in the order given.
pub async fn run_all(
    ctx: Arc<RunContext>,
    vectors: &[LoadedVector],
    jobs: usize,
    progress: Option<Progress>,
) -> Vec<VectorRun> {
    let receivers = schedule(ctx, vectors, jobs, progress);
    let mut out = Vec::with_capacity(vectors.len());
    for (v, rx) in vectors.iter().zip(receivers) {
        out.push(rx.await.unwrap_or_else(|_| lost(v)));
    }
    out
}
