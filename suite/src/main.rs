//! `oap-conform`: certify a Coordination Sessions Tool at L4, gate CI on it.
//!
//! ```text
//! oap-conform run [--target URL] [--binding oap|amp|all] [--out DIR] [--filter PATTERN]
//!                 [--expectations FILE] [--jobs N] [--seed N] [--header 'N: V']...
//!                 [--header-env N=ENVVAR]... [--restart-cmd CMD] [--signing-key FILE]
//! oap-conform stress [--target URL] [--binding oap|amp] [--clients N] [--ops N] [--seed S] [--duration S] [--json]
//! oap-conform list
//! oap-conform explain ID
//! oap-conform verify-report FILE
//! oap-conform fuzz [--target URL] [--requests N | --duration S] [--seed S] [--out DIR]
//! ```
//!
//! Without `--target`, `run` starts the bundled reference Tool in-process on a
//! temporary store. Exit codes: 0 the verdict holds (known failures aside),
//! 1 it does not, 2 usage or configuration error, 3 target unreachable. `stress` exits 0 when
//! no rule was broken and 1 when one was.

#[cfg(feature = "bundled")]
mod bundled;
mod console;
mod stress_cmd;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand, ValueEnum};
use oap_conform::client::{ClientConfig, DEFAULT_MAX_RESPONSE_BYTES, SecretHeader};
use oap_conform::expectations::Expectations;
use oap_conform::run::{
    RunError, RunOptions, declared_bindings, default_catalogue, execute, load_catalogue, prepare,
    selected,
};
use oap_conform::target::{HttpTarget, RestartHook, Target, command_restart_hook};
use oap_conform::vector::{self, Binding};

#[derive(Parser)]
#[command(
    name = "oap-conform",
    version,
    about = "Conformance suite for OAP Coordination Sessions"
)]
struct Cli {
    /// Vector directory (default: the checkout's `vectors/`).
    #[arg(long, global = true, env = "OAP_CONFORM_VECTORS")]
    vectors: Option<PathBuf>,
    /// Requirement catalogue (default: the checkout's `docs/requirements.json`).
    #[arg(long, global = true)]
    requirements: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the vectors against a Tool and write the report.
    Run(Box<RunArgs>),
    /// Race many clients against a Tool, record every operation and check the history.
    Stress(stress_cmd::StressArgs),
    /// Print every vector with its requirement IDs.
    List {
        /// Only this binding.
        #[arg(long, value_enum, default_value_t = BindingArg::All)]
        binding: BindingArg,
        /// Only vectors whose name or id matches (substring or glob).
        #[arg(long)]
        filter: Option<String>,
    },
    /// Print a requirement's text and its vectors (or a vector's details).
    Explain {
        /// Requirement ID (`OAP-3.2-3`), vector id (`oap.lifecycle.001`) or vector path.
        id: String,
    },
    /// Fuzz a Tool's envelope handling over the wire and write a fuzz report.
    Fuzz(Box<FuzzArgs>),
    /// Check a report's signature and consistency offline.
    VerifyReport {
        /// The `report.json` file.
        file: PathBuf,
        /// Require this signer (a did:key).
        #[arg(long)]
        signer: Option<String>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BindingArg {
    Oap,
    Amp,
    All,
}

impl BindingArg {
    fn bindings(self) -> Vec<Binding> {
        match self {
            BindingArg::Oap => vec![Binding::Oap],
            BindingArg::Amp => vec![Binding::Amp],
            BindingArg::All => vec![Binding::Oap, Binding::Amp],
        }
    }
}

#[derive(clap::Args)]
struct RunArgs {
    /// Base URL of the Tool (http or https). Default: the bundled reference Tool.
    #[arg(long)]
    target: Option<String>,
    /// Which binding's vectors to run (default: the bindings the manifest declares).
    #[arg(long, value_enum)]
    binding: Option<BindingArg>,
    /// Where to write report.json, junit.xml, report.md and report.html.
    #[arg(long, default_value = "reports/latest")]
    out: PathBuf,
    /// Only vectors whose name or id matches (substring, or glob with * ? [).
    #[arg(long)]
    filter: Option<String>,
    /// Known failures: a JSON object of glob pattern -> reason.
    #[arg(long)]
    expectations: Option<PathBuf>,
    /// Vectors in flight at once.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// Seed of everything random in the run (identities, nonces, ids, concurrency
    /// scenarios), recorded in the report; default a random one. Reusing a seed
    /// reuses identities and nonces: reproduce a run against a fresh Tool with it.
    #[arg(long)]
    seed: Option<u64>,
    /// Extra header for every request, e.g. a gateway credential ('Name: value'); redacted.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Extra header whose value comes from an environment variable (NAME=ENVVAR); redacted.
    #[arg(long = "header-env", value_name = "NAME=ENVVAR")]
    header_env: Vec<String>,
    /// Shell command that restarts the Tool (enables the durability vectors).
    #[arg(long)]
    restart_cmd: Option<String>,
    /// Ed25519 key that signs the report (raw 32-byte seed or hex); default a fresh key.
    #[arg(long)]
    signing_key: Option<PathBuf>,
    /// Deadline of one request, in seconds.
    #[arg(long, default_value_t = 10)]
    request_timeout: u64,
    /// Budget of one vector, in seconds.
    #[arg(long, default_value_t = 60)]
    vector_timeout: u64,
    /// Start the bundled Tool with this fault switched on (suite self-test).
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<String>,
    /// After the vectors, send this many fuzzed requests (`oap-conform fuzz`) and put the
    /// result in the report's `fuzz` member; a finding fails the run.
    #[arg(long, default_value_t = 0)]
    fuzz_requests: u64,
}

#[derive(clap::Args)]
struct FuzzArgs {
    /// Base URL of the Tool (http or https). Default: the bundled reference Tool.
    #[arg(long)]
    target: Option<String>,
    /// Fuzz requests to send (default 10000 unless --duration is given).
    #[arg(long, conflicts_with = "duration")]
    requests: Option<u64>,
    /// Seconds to fuzz.
    #[arg(long)]
    duration: Option<u64>,
    /// Seed of the mutations (default: random, recorded in the report).
    #[arg(long)]
    seed: Option<u64>,
    /// Where to write fuzz.json, fuzz.md and findings/.
    #[arg(long, default_value = "reports/fuzz")]
    out: PathBuf,
    /// Sessions fuzzed in parallel.
    #[arg(long, default_value_t = 16)]
    jobs: usize,
    /// Deadline of one request, in seconds.
    #[arg(long, default_value_t = 10)]
    request_timeout: u64,
    /// Stop after this many findings.
    #[arg(long, default_value_t = 20)]
    max_findings: usize,
    /// Start the bundled Tool with this fault switched on (suite self-test).
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let root = cli.vectors.clone().unwrap_or_else(vector::default_root);
    let catalogue_path = cli.requirements.clone().unwrap_or_else(default_catalogue);
    match cli.command {
        Command::VerifyReport { file, signer } => {
            let outcome =
                oap_conform::report::verify::verify_report_command(&file, signer.as_deref());
            if outcome.exit_code == 0 {
                console::say(&outcome.message);
            } else {
                eprintln!("{}", outcome.message);
            }
            Ok(ExitCode::from(outcome.exit_code))
        }
        Command::List { binding, filter } => {
            let set = vector::load(&root)?;
            let opts = options(binding, filter, 1, 60);
            for v in set.vectors.iter().filter(|v| selected(v, &opts)) {
                console::say(&format!(
                    "{}\t{}\t{}\t{}",
                    v.path,
                    v.vector.id,
                    level_str(v.vector.level),
                    v.vector.requirements.join(",")
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { id } => explain(&root, &catalogue_path, &id),
        Command::Run(args) => runtime()?.block_on(run(*args, root, catalogue_path)),
        Command::Fuzz(args) => runtime()?.block_on(fuzz(*args)),
        Command::Stress(args) => runtime()?.block_on(stress_cmd::stress(args)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn level_str(l: vector::VectorLevel) -> &'static str {
    oap_conform::runner::level(l).as_str()
}

fn options(binding: BindingArg, filter: Option<String>, jobs: usize, vt: u64) -> RunOptions {
    RunOptions {
        bindings: binding.bindings(),
        filter,
        jobs,
        vector_timeout: Duration::from_secs(vt),
    }
}

fn explain(
    root: &std::path::Path,
    catalogue: &std::path::Path,
    id: &str,
) -> anyhow::Result<ExitCode> {
    let set = vector::load(root)?;
    let (entries, _) = load_catalogue(catalogue)?;
    if let Some(e) = entries.iter().find(|e| e.id == id) {
        console::say(&format!(
            "{} ({}, {}, {})",
            e.id,
            e.level.as_str(),
            e.binding,
            e.source
        ));
        console::say(&format!("\n{}\n", e.text));
        if let oap_conform::report::Testable::No(why) = &e.testable {
            console::say(&format!("not testable black-box: {why}"));
        }
        if let Some(note) = &e.note {
            console::say(&format!("note: {note}\n"));
        }
        let vs: Vec<_> = set
            .vectors
            .iter()
            .filter(|v| v.vector.requirements.iter().any(|r| r == id))
            .collect();
        if vs.is_empty() {
            console::say("no vector checks it");
        }
        for v in vs {
            console::say(&format!(
                "  {}  {}  {}",
                v.vector.id, v.path, v.vector.title
            ));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(v) = set.find(id) {
        console::say(&format!("{} ({}): {}", v.vector.id, v.path, v.vector.title));
        if let Some(d) = &v.vector.description {
            console::say(&format!("\n{d}\n"));
        }
        for r in &v.vector.requirements {
            let text = entries
                .iter()
                .find(|e| &e.id == r)
                .map(|e| e.text.as_str())
                .unwrap_or("(not in the catalogue)");
            console::say(&format!("  {r}: {text}"));
        }
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("{id}: no such requirement or vector");
    Ok(ExitCode::from(2))
}

fn parse_headers(args: &RunArgs) -> anyhow::Result<Vec<SecretHeader>> {
    let mut out = Vec::new();
    for h in &args.headers {
        let Some((name, value)) = h.split_once(':') else {
            bail!("--header {h:?}: expected 'NAME: VALUE'");
        };
        out.push(SecretHeader {
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
            env: None,
        });
    }
    for h in &args.header_env {
        let Some((name, var)) = h.split_once('=') else {
            bail!("--header-env {h:?}: expected NAME=ENVVAR");
        };
        let value = std::env::var(var.trim()).with_context(|| {
            format!("--header-env {name}: environment variable {var} is not set")
        })?;
        out.push(SecretHeader {
            name: name.trim().to_owned(),
            value,
            env: Some(var.trim().to_owned()),
        });
    }
    for h in &out {
        if h.name.is_empty()
            || !h
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            bail!("header name {:?} is not a valid HTTP header name", h.name);
        }
    }
    Ok(out)
}

async fn run(args: RunArgs, root: PathBuf, catalogue_path: PathBuf) -> anyhow::Result<ExitCode> {
    let set = vector::load(&root)?;
    let (catalogue, catalogue_digest) = load_catalogue(&catalogue_path)?;
    let expectations = match &args.expectations {
        Some(p) => Some(Expectations::load(p)?),
        None => None,
    };
    let signing_key = match &args.signing_key {
        Some(p) => Some(oap_conform::report::load_signing_key(p)?),
        None => None,
    };
    let secret_headers = parse_headers(&args)?;
    let seed = args.seed.unwrap_or_else(rand::random);
    let mut opts = options(
        args.binding.unwrap_or(BindingArg::All),
        args.filter.clone(),
        args.jobs,
        args.vector_timeout,
    );

    let mut bundled_tool: Slot = None;
    let (url, hook): (String, Option<RestartHook>) = match &args.target {
        Some(url) => (url.clone(), None),
        None => start_bundled(&args.faults, &mut bundled_tool).await?,
    };
    let mut target = HttpTarget::new(&url, hook)?;
    let client = ClientConfig {
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        secret_headers,
        use_env_proxy: !target.is_loopback(),
    };
    if let Some(cmd) = &args.restart_cmd {
        let c = oap_conform::client::HttpClient::new(client.clone())?;
        target = HttpTarget::new(
            &url,
            Some(command_restart_hook(cmd.clone(), c, url.clone())),
        )?;
    }
    let target: Arc<dyn Target> = Arc::new(target);
    let vt = opts.vector_timeout;
    let fuzz_client = client.clone();
    let ctx = match prepare(target, client, &set, vt, seed).await {
        Ok(ctx) => ctx,
        Err(RunError::Unreachable(e)) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(3));
        }
        Err(e) => return Err(e.into()),
    };
    if args.binding.is_none() {
        opts.bindings = declared_bindings(&ctx.manifest);
    }
    let total = set.vectors.iter().filter(|v| selected(v, &opts)).count();
    if total == 0 {
        bail!("no vector matches the selection");
    }
    eprintln!(
        "oap-conform: {total} vectors against {url} (run {}, seed {seed})",
        ctx.run_id
    );
    let progress = console::progress_reporter(total);
    let mut output = execute(
        ctx,
        &set,
        &catalogue,
        catalogue_digest,
        &opts,
        expectations.as_ref(),
        Some(progress.0.clone()),
    )
    .await;
    if let Some(bar) = progress.1 {
        bar.finish_and_clear();
    }
    if args.fuzz_requests > 0 {
        fuzz_phase(&mut output, fuzz_client, &url, args.fuzz_requests, seed).await?;
    }
    #[cfg(feature = "bundled")]
    if let Some(b) = bundled_tool {
        b.shutdown().await;
    }
    let written = oap_conform::report::write_all(&output.report, &args.out, signing_key.as_ref())?;
    console::print_summary(&output, &written.report_json);
    Ok(if output.gate {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The fuzz phase of `run --fuzz-requests N`: fills the report's `fuzz` member; a finding
/// fails the gate.
async fn fuzz_phase(
    output: &mut oap_conform::run::RunOutput,
    client: ClientConfig,
    url: &str,
    requests: u64,
    seed: u64,
) -> anyhow::Result<()> {
    use oap_conform::fuzz::{Driver, FuzzOptions};
    eprintln!("oap-conform: fuzzing with {requests} requests");
    let driver = Driver::new(oap_conform::client::HttpClient::new(client)?, url);
    let opts = FuzzOptions {
        requests: Some(requests),
        seed,
        ..FuzzOptions::default()
    };
    match oap_conform::fuzz::fuzz(&driver, &opts).await {
        Ok(rep) => {
            if !rep.passed() {
                output.gate = false;
                output.report.verdict.warnings.push(format!(
                    "fuzzing: {} findings (see the fuzz section)",
                    rep.findings.len()
                ));
            }
            output.report.fuzz = Some(serde_json::to_value(&rep)?);
        }
        Err(e) => {
            output.gate = false;
            output.report.verdict.warnings.push(format!("fuzzing: {e}"));
        }
    }
    Ok(())
}

async fn fuzz(args: FuzzArgs) -> anyhow::Result<ExitCode> {
    use oap_conform::fuzz::{Driver, FuzzOptions, report};
    let mut bundled_tool: Slot = None;
    let url = match &args.target {
        Some(url) => url.clone(),
        None => start_bundled(&args.faults, &mut bundled_tool).await?.0,
    };
    let target = HttpTarget::new(&url, None)?;
    let client = oap_conform::client::HttpClient::new(ClientConfig {
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        secret_headers: Vec::new(),
        use_env_proxy: !target.is_loopback(),
    })?;
    if let Err(e) = oap_conform::target::fetch_manifest(&client, target.base_url()).await
        && matches!(e, oap_conform::target::TargetError::Unreachable { .. })
    {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(3));
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    let opts = FuzzOptions {
        requests: match (args.requests, args.duration) {
            (None, None) => Some(10_000),
            (r, _) => r,
        },
        duration: args.duration.map(Duration::from_secs),
        seed,
        workers: args.jobs.max(1),
        max_findings: args.max_findings.max(1),
        ..FuzzOptions::default()
    };
    eprintln!("oap-conform fuzz: {url} (seed {seed})");
    let driver = Driver::new(client, target.base_url());
    let outcome = oap_conform::fuzz::fuzz(&driver, &opts).await;
    #[cfg(feature = "bundled")]
    if let Some(b) = bundled_tool {
        b.shutdown().await;
    }
    let rep = outcome?;
    let written = report::write(&rep, &args.out)?;
    console::say(&format!(
        "{} requests in {:.1} s ({} requests/s), {} findings; report: {}",
        rep.requests,
        rep.duration_ms as f64 / 1000.0,
        rep.requests_per_second,
        rep.findings.len(),
        written.markdown.display()
    ));
    for f in &rep.findings {
        console::say(&format!("  {} {}: {}", f.id, f.kind.as_str(), f.detail));
    }
    Ok(if rep.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Keeps the bundled Tool alive for the run.
#[cfg(feature = "bundled")]
type Slot = Option<bundled::Bundled>;
/// Nothing to keep without the bundled Tool.
#[cfg(not(feature = "bundled"))]
type Slot = Option<std::convert::Infallible>;

#[cfg(feature = "bundled")]
async fn start_bundled(
    names: &[String],
    slot: &mut Slot,
) -> anyhow::Result<(String, Option<RestartHook>)> {
    let b = bundled::Bundled::start_named(names).await?;
    let out = (b.url.clone(), Some(Arc::clone(&b.restart)));
    *slot = Some(b);
    Ok(out)
}

#[cfg(not(feature = "bundled"))]
async fn start_bundled(
    _: &[String],
    _: &mut Slot,
) -> anyhow::Result<(String, Option<RestartHook>)> {
    bail!("no --target given, and this build has no bundled Tool (feature `bundled`)")
}
