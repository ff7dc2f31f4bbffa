//! `oap-conform stress`: a seeded concurrent workload against a Tool, recorded, checked and
//! summarised (see [`oap_conform::concurrency::stress`]).
//!
//! Without `--target` the bundled Tool runs in-process (with `--fault NAME` switched on, for
//! the suite's self-test). Exit codes: 0 no rule broken, 1 a rule broken (or the Tool could not
//! set the sessions up), 2 usage, 3 the target cannot be reached.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use oap_conform::concurrency::stress::StressError;
use oap_conform::concurrency::{StressOptions, stress_with};
use oap_conform::target::TargetError;

use crate::console;

/// Most clients one stress run drives.
const MAX_CLIENTS: usize = 1024;
/// Default operation budget without `--duration`.
const DEFAULT_OPS: usize = 2000;
/// Operation budget with `--duration` and no `--ops`: the duration ends the run.
const DURATION_OPS: usize = 10_000_000;
/// Above this many operations the histories keep state fingerprints only.
const KEEP_STATES_UP_TO: usize = 200_000;

/// The binding a stress run races.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StressBinding {
    /// OAP turns (updates, replays, reads, joins, pauses).
    Oap,
    /// AMP `SESSION_MSG`s (new, sent twice at once, resent) and state reads.
    Amp,
}

#[derive(clap::Args)]
pub struct StressArgs {
    /// Which binding to race.
    #[arg(long, value_enum, default_value = "oap")]
    binding: StressBinding,
    /// Base URL of the Tool (http or https). Default: the bundled reference Tool.
    #[arg(long)]
    target: Option<String>,
    /// Concurrent clients (participants), spread over sessions of up to eight.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Operation budget over all clients (default 2000, or unbounded with --duration).
    #[arg(long)]
    ops: Option<usize>,
    /// Seed of the workload plan (default: random, printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Stop issuing operations after this many seconds.
    #[arg(long)]
    duration: Option<f64>,
    /// Deadline of one request, in seconds; past it the operation is indeterminate.
    #[arg(long, default_value_t = 10)]
    request_timeout: u64,
    /// Print the summary as JSON on standard output.
    #[arg(long)]
    json: bool,
    /// Start the bundled Tool with this fault switched on (suite self-test).
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<String>,
}

pub async fn stress(args: StressArgs) -> anyhow::Result<ExitCode> {
    if !(2..=MAX_CLIENTS).contains(&args.clients) {
        bail!("--clients must be 2 to {MAX_CLIENTS}");
    }
    if args.ops == Some(0) {
        bail!("--ops must be at least 1");
    }
    let duration = match args.duration {
        None => None,
        Some(d) if d.is_finite() && d > 0.0 && d <= 86_400.0 => Some(Duration::from_secs_f64(d)),
        Some(_) => bail!("--duration must be a number of seconds, above 0 and at most 86400"),
    };
    if args.target.is_some() && !args.faults.is_empty() {
        bail!("--fault applies to the bundled Tool only (no --target)");
    }
    let ops = args.ops.unwrap_or(match duration {
        Some(_) => DURATION_OPS,
        None => DEFAULT_OPS,
    });
    if let Some(url) = &args.target {
        oap_conform::target::HttpTarget::new(url, None)?;
    }
    let seed = args.seed.unwrap_or_else(rand::random);

    #[cfg(feature = "bundled")]
    let mut bundled_tool = None;
    let url = match &args.target {
        Some(url) => url.clone(),
        #[cfg(feature = "bundled")]
        None => {
            let b = crate::bundled::Bundled::start_named(&args.faults).await?;
            let url = b.url.clone();
            bundled_tool = Some(b);
            url
        }
        #[cfg(not(feature = "bundled"))]
        None => bail!("no --target given, and this build has no bundled Tool (feature `bundled`)"),
    };

    eprintln!(
        "oap-conform stress: {} {} clients, {ops} operations{} against {url} (seed {seed})",
        args.clients,
        match args.binding {
            StressBinding::Oap => "OAP",
            StressBinding::Amp => "AMP",
        },
        duration
            .map(|d| format!(" or {:.0} s", d.as_secs_f64()))
            .unwrap_or_default()
    );
    let (progress, bar) = console::stress_progress(ops);
    let mut opts = StressOptions::new(&url, args.clients, ops, seed);
    opts.duration = duration;
    opts.request_timeout = Duration::from_secs(args.request_timeout.max(1));
    opts.keep_states = ops <= KEEP_STATES_UP_TO;
    opts.progress = Some(progress);
    opts.binding = match args.binding {
        StressBinding::Oap => oap_conform::vector::Binding::Oap,
        StressBinding::Amp => oap_conform::vector::Binding::Amp,
    };
    let result = stress_with(opts).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    #[cfg(feature = "bundled")]
    if let Some(b) = bundled_tool {
        b.shutdown().await;
    }
    let summary = match result {
        Ok(s) => s,
        Err(StressError::Manifest(e @ TargetError::Unreachable { .. })) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(3));
        }
        Err(e @ (StressError::Setup(_) | StressError::Manifest(_))) => {
            eprintln!("the Tool failed before the race: {e}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        console::say(&summary.to_json().to_string());
    } else {
        console::say(&summary.to_string());
    }
    Ok(if summary.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
