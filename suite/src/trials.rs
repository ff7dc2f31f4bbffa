//! Vectors as `libtest-mimic` trials, so `cargo test` runs the vector set.
//!
//! Each vector is one trial named by its relative path
//! (`oap/lifecycle/001-create.json`), in sorted order, so `--list`, `--exact`,
//! `--skip` and substring filters behave as `cargo test` users expect. The
//! selected vectors are started together on the async runtime (at most
//! `jobs` at once, so TTL waits overlap), and each trial waits for its own
//! result; a failing trial's message is the vector's transcript.

use std::sync::Arc;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use tokio::runtime::Handle;

use crate::client::SecretHeader;
use crate::expectations::Expectations;
use crate::report::Status;
use crate::report::transcript::vector_text;
use crate::runner::{RunContext, schedule, to_result};
use crate::vector::LoadedVector;

/// Printed under a failing trial's transcript.
pub const HINT: &str = "run `cargo run -p oap-conform -- run --filter <name>` for the full report";

/// Trials that do nothing, for `--list`.
pub fn list_trials(vectors: &[LoadedVector]) -> Vec<Trial> {
    vectors
        .iter()
        .map(|v| Trial::test(v.path.clone(), || Ok(())))
        .collect()
}

/// One trial per vector; the selected ones are started at once on `rt`.
pub fn trials(
    rt: &Handle,
    ctx: Arc<RunContext>,
    vectors: &[LoadedVector],
    args: &Arguments,
    jobs: usize,
    expectations: Option<Arc<Expectations>>,
) -> Vec<Trial> {
    let probe: Vec<Trial> = list_trials(vectors);
    let chosen: Vec<LoadedVector> = vectors
        .iter()
        .zip(&probe)
        .filter(|(_, t)| !args.is_filtered_out(t) && !args.is_ignored(t))
        .map(|(v, _)| v.clone())
        .collect();
    let receivers = {
        let _enter = rt.enter();
        schedule(Arc::clone(&ctx), &chosen, jobs, None)
    };
    let mut pending: std::collections::BTreeMap<String, _> = chosen
        .iter()
        .map(|v| v.path.clone())
        .zip(receivers)
        .collect();
    let secrets: Arc<Vec<SecretHeader>> = Arc::new(ctx.client.config().secret_headers.clone());
    vectors
        .iter()
        .map(|v| {
            let rx = pending.remove(&v.path);
            let (v, rt, secrets, expectations) = (
                v.clone(),
                rt.clone(),
                Arc::clone(&secrets),
                expectations.clone(),
            );
            Trial::ignorable_test(v.path.clone(), move || {
                let Some(rx) = rx else {
                    return Err(Failed::from("vector was not scheduled"));
                };
                let run = rt
                    .block_on(rx)
                    .unwrap_or_else(|_| crate::runner::schedule::lost(&v));
                let known = expectations
                    .as_ref()
                    .and_then(|e| e.reason_for(&v.path, &v.vector.id).map(str::to_owned));
                let result = to_result(&v, &run, &secrets);
                match (run.status, known) {
                    (Status::Pass, None) => Ok(Completion::Completed),
                    (Status::Pass, Some(reason)) => Err(Failed::from(format!(
                        "stale expectation: listed as failing ({reason}) but passes"
                    ))),
                    (Status::NotApplicable | Status::Skip, _) => Ok(Completion::ignored_with(
                        run.reason.unwrap_or_else(|| "not applicable".into()),
                    )),
                    (_, Some(reason)) => {
                        Ok(Completion::ignored_with(format!("known failure: {reason}")))
                    }
                    (_, None) => Err(Failed::from(format!(
                        "{}\n{}\n{HINT}",
                        run.reason.unwrap_or_default(),
                        vector_text(&result)
                    ))),
                }
            })
        })
        .collect()
}
