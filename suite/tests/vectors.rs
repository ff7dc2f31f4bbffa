//! The whole vector set against the bundled reference Tool, one trial per
//! vector file, named by its path under `vectors/`:
//!
//! ```text
//! cargo test -p oap-conform --test vectors                       # everything
//! cargo test -p oap-conform --test vectors -- --list             # names
//! cargo test -p oap-conform --test vectors -- oap/replay/        # a filter
//! cargo test -p oap-conform --test vectors -- --exact oap/lifecycle/001-create.json
//! ```
//!
//! Known failures of the bundled Tool, if any, live in
//! `vectors/expectations/oap-ref.json` (a listed vector that passes fails as stale).

#[path = "../src/bundled.rs"]
#[allow(dead_code)]
mod bundled;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use libtest_mimic::Arguments;
use oap_conform::client::ClientConfig;
use oap_conform::expectations::Expectations;
use oap_conform::target::{HttpTarget, Target};
use oap_conform::{run, trials, vector};

/// Vectors in flight at once (I/O bound; TTL waits overlap).
const JOBS: usize = 16;

fn main() -> ExitCode {
    match harness() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn harness() -> anyhow::Result<ExitCode> {
    let args = Arguments::from_args();
    let root = vector::default_root();
    let set = vector::load(&root).context("loading the vector set")?;
    if args.list {
        return Ok(libtest_mimic::run(&args, trials::list_trials(&set.vectors)).exit_code());
    }
    let expectations_file = root.join("expectations/oap-ref.json");
    let expectations = match expectations_file.exists() {
        true => Some(Arc::new(Expectations::load(&expectations_file)?)),
        false => None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    // The concurrency scenarios draw their plans from the seed: `OAP_CONFORM_SEED` replays one.
    let seed = match std::env::var("OAP_CONFORM_SEED") {
        Ok(s) => s.parse().context("OAP_CONFORM_SEED is not a u64")?,
        Err(_) => rand::random(),
    };
    eprintln!("seed {seed} (OAP_CONFORM_SEED={seed} replays the concurrency scenarios)");
    let tool = rt.block_on(bundled::Bundled::start(oap_ref::FaultSet::none()))?;
    let target: Arc<dyn Target> =
        Arc::new(HttpTarget::new(&tool.url, Some(Arc::clone(&tool.restart)))?);
    let ctx = rt
        .block_on(run::prepare(
            target,
            ClientConfig::default(),
            &set,
            Duration::from_secs(60),
            seed,
        ))
        .context("reaching the bundled Tool")?;
    let trials = trials::trials(rt.handle(), ctx, &set.vectors, &args, JOBS, expectations);
    let conclusion = libtest_mimic::run(&args, trials);
    rt.block_on(tool.shutdown());
    Ok(conclusion.exit_code())
}
