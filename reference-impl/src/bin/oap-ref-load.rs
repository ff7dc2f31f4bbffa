//! `oap-ref-load`: the load generator behind the "Reference Tool" figures of
//! `docs/benchmarks.md`.
//!
//! - `oap-ref-load updates --duration 10 --sessions 16 --baseline`: starts `oap-ref serve
//!   --listen 127.0.0.1:0` (the binary next to this one, or `--tool-bin`; `--url` uses a Tool
//!   already running), creates one session per convener, and drives signed `update` turns with
//!   the correct `expected_version`, one in flight per session over its own keep-alive
//!   connection, for `--duration` seconds. It reports throughput, p50/p99/max latency and
//!   errors, then reads every session's log and checks that it holds one receipt per
//!   acknowledged update plus the genesis and that the chain verifies (exit status 1 if not).
//!   `--baseline` first runs the same client, with the same signing work per request, against a
//!   bare axum handler in this process that does no work (200 `{}`), so that the ratio is
//!   measured in the same run.
//! - `oap-ref-load restart --sessions 100 --updates 999`: fills a data directory through HTTP
//!   (here 100 × (genesis + 999) = 100,000 receipts), then three times starts the Tool in this
//!   process with `oap_ref::serve` and times `serve()` to the first successful `GET state`.
//!
//! The client speaks plain HTTP/1.1 over loopback and signs every request with RFC 9421
//! (`oap_wire::httpsig`) and an RFC 9530 digest, as any client of the Tool must.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use clap::{Parser, Subcommand};
use oap_wire::Keypair;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

/// Load generator for the reference Tool.
#[derive(Parser, Debug)]
#[command(name = "oap-ref-load")]
struct Cli {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Durable updates over concurrent sessions.
    Updates {
        /// Seconds of load per phase.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Concurrent sessions, each with its own convener and one update in flight.
        #[arg(long, default_value_t = 16)]
        sessions: usize,
        /// Run the bare-handler baseline first, in the same run.
        #[arg(long)]
        baseline: bool,
        /// A Tool already running (base URL); otherwise the binary is started here.
        #[arg(long)]
        url: Option<String>,
        /// The `oap-ref` binary to start (default: next to this binary).
        #[arg(long)]
        tool_bin: Option<PathBuf>,
        /// Data directory for the started Tool (default: a fresh directory, removed after).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Restart time with many receipts on disk.
    Restart {
        /// Sessions to fill (one convener each).
        #[arg(long, default_value_t = 100)]
        sessions: usize,
        /// Updates per session (each session also has its genesis receipt).
        #[arg(long, default_value_t = 999)]
        updates: u64,
        /// Timed restarts.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Data directory (default: a fresh directory, removed after).
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

/// One keep-alive HTTP/1.1 connection that signs what it sends.
struct Conn {
    io: BufReader<TcpStream>,
    /// `host:port`, for the `Host` header and `@target-uri`.
    authority: String,
}

impl Conn {
    async fn open(base: &str) -> anyhow::Result<Conn> {
        let authority = base
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("only http:// URLs: {base}"))?
            .trim_end_matches('/')
            .to_owned();
        let stream = TcpStream::connect(&authority)
            .await
            .with_context(|| format!("connecting to {authority}"))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            io: BufReader::new(stream),
            authority,
        })
    }

    /// Sends one signed request and reads the answer: status and body.
    async fn send(
        &mut self,
        key: &Keypair,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let target = format!("http://{}{}", self.authority, path);
        let digest = body.map(oap_wire::digest::content_digest);
        let nonce = format!("n{}", ulid::Ulid::new());
        let sig = oap_wire::httpsig::sign(
            key,
            &oap_wire::httpsig::SignRequest {
                method,
                target_uri: &target,
                content_type: body.map(|_| "application/json"),
                content_digest: digest.as_deref(),
                created: oap_wire::time::unix_now(),
                nonce: &nonce,
                label: "sig1",
            },
        );
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nsignature-input: {}\r\nsignature: {}\r\n",
            self.authority, sig.signature_input, sig.signature
        );
        if let Some(d) = &digest {
            head.push_str(&format!(
                "content-type: application/json\r\ncontent-digest: {d}\r\n"
            ));
        }
        head.push_str(&format!(
            "content-length: {}\r\n\r\n",
            body.map_or(0, <[u8]>::len)
        ));
        let mut out = head.into_bytes();
        out.extend_from_slice(body.unwrap_or_default());
        self.io.get_mut().write_all(&out).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut line = String::new();
        if self.io.read_line(&mut line).await? == 0 {
            bail!("connection closed");
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line {line:?}"))?;
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            if self.io.read_line(&mut line).await? == 0 {
                bail!("connection closed in the headers");
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((name, value)) = l.split_once(':') {
                let name = name.trim().to_ascii_lowercase();
                if name == "content-length" {
                    length = Some(value.trim().parse::<usize>()?);
                } else if name == "transfer-encoding"
                    && value.to_ascii_lowercase().contains("chunked")
                {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.io.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)?;
                let mut chunk = vec![0; size + 2];
                self.io.read_exact(&mut chunk).await?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            body.resize(length.unwrap_or(0), 0);
            self.io.read_exact(&mut body).await?;
        }
        Ok((status, body))
    }

    async fn json(
        &mut self,
        key: &Keypair,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let bytes = body.map(|b| b.to_string().into_bytes());
        let (status, resp) = self.send(key, method, path, bytes.as_deref()).await?;
        Ok((status, serde_json::from_slice(&resp).unwrap_or(Value::Null)))
    }
}

fn update_body(sid: &str, expected: u64, step: u64) -> Vec<u8> {
    json!({
        "envelope_version": "1.0",
        "session": {
            "session_id": sid,
            "turn_id": oap_wire::ids::TurnId::new().to_string(),
            "expected_version": expected,
        },
        "input": { "patch": { "step": step } },
    })
    .to_string()
    .into_bytes()
}

async fn create_session(base: &str, key: &Keypair) -> anyhow::Result<String> {
    let mut conn = Conn::open(base).await?;
    let body = json!({ "envelope_version": "1.0",
        "input": { "scope": { "ccc": "internal", "clearance": "internal" } } });
    let (status, created) = conn
        .json(key, "POST", "/oap/session/create", Some(&body))
        .await?;
    if status != 201 {
        bail!("create answered {status}: {created}");
    }
    created["session_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no session_id in {created}"))
}

async fn full_log(base: &str, key: &Keypair, sid: &str) -> anyhow::Result<Vec<Value>> {
    let mut conn = Conn::open(base).await?;
    let mut all = Vec::new();
    let mut from = 0u64;
    loop {
        let path = format!("/oap/session/{sid}/log?from={from}&limit=1000");
        let (status, page) = conn.json(key, "GET", &path, None).await?;
        if status != 200 {
            bail!("log answered {status}: {page}");
        }
        all.extend(page["receipts"].as_array().cloned().unwrap_or_default());
        match page["next"].as_u64() {
            Some(next) => from = next,
            None => return Ok(all),
        }
    }
}

async fn tool_did(base: &str) -> anyhow::Result<String> {
    let mut conn = Conn::open(base).await?;
    conn.io
        .get_mut()
        .write_all(
            format!(
                "GET /oap/manifest HTTP/1.1\r\nhost: {}\r\n\r\n",
                conn.authority
            )
            .as_bytes(),
        )
        .await?;
    let (_, body) = conn.read_response().await?;
    let manifest: Value = serde_json::from_slice(&body)?;
    manifest["tool_did"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no tool_did in the manifest"))
}

/// What one phase measured.
struct Outcome {
    ops: u64,
    errors: u64,
    elapsed: Duration,
    /// Latencies of acknowledged requests, sorted, in microseconds.
    lat_us: Vec<u64>,
    /// Acknowledged updates per session.
    acked: Vec<u64>,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    fn pct_ms(&self, p: f64) -> f64 {
        if self.lat_us.is_empty() {
            return 0.0;
        }
        let idx = ((self.lat_us.len() - 1) as f64 * p).round() as usize;
        self.lat_us[idx] as f64 / 1000.0
    }

    fn print(&self, name: &str) {
        println!(
            "{name}: {} ok in {:.2} s = {:.0} ops/s; latency ms p50 {:.2} p99 {:.2} max {:.2}; errors {}",
            self.ops,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.pct_ms(0.50),
            self.pct_ms(0.99),
            self.lat_us.last().copied().unwrap_or(0) as f64 / 1000.0,
            self.errors
        );
    }
}

/// One worker per session, each on its own connection, sending updates back to back with the
/// `expected_version` learnt from the previous answer, for `duration`.
async fn drive(
    base: &str,
    sessions: &[(Keypair, String)],
    duration: Duration,
) -> anyhow::Result<Outcome> {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (key, sid) in sessions {
        let (key, sid) = (key.clone(), sid.clone());
        let stop = stop.clone();
        let mut conn = Conn::open(base).await?;
        tasks.push(tokio::spawn(async move {
            let mut version = 0u64;
            let mut lat = Vec::with_capacity(1 << 16);
            let mut errors = 0u64;
            let path = format!("/oap/session/{sid}/update");
            while !stop.load(Ordering::Relaxed) {
                let body = update_body(&sid, version, version + 1);
                let t0 = Instant::now();
                match conn.send(&key, "POST", &path, Some(&body)).await {
                    Ok((200, resp)) => {
                        lat.push(t0.elapsed().as_micros() as u64);
                        let v: Value = serde_json::from_slice(&resp).unwrap_or(Value::Null);
                        version = v["state_version"].as_u64().unwrap_or(version + 1);
                    }
                    Ok((status, resp)) => {
                        errors += 1;
                        let v: Value = serde_json::from_slice(&resp).unwrap_or(Value::Null);
                        eprintln!("update {sid}@{version}: {status} {v}");
                        if let Some(cur) = v["current_version"].as_u64() {
                            version = cur;
                        }
                    }
                    Err(e) => {
                        errors += 1;
                        eprintln!("update {sid}@{version}: {e:#}");
                        break;
                    }
                }
            }
            (lat, errors)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut out = Outcome {
        ops: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        lat_us: Vec::new(),
        acked: Vec::new(),
    };
    for t in tasks {
        let (lat, errors) = t.await?;
        out.ops += lat.len() as u64;
        out.acked.push(lat.len() as u64);
        out.errors += errors;
        out.lat_us.extend(lat);
    }
    out.elapsed = start.elapsed();
    out.lat_us.sort_unstable();
    Ok(out)
}

/// A bare axum server in this process that answers every request 200 `{}`.
async fn bare_handler() -> anyhow::Result<String> {
    let router = axum::Router::new()
        .fallback(|| async { ([(http::header::CONTENT_TYPE, "application/json")], "{}") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("baseline server: {e}");
        }
    });
    Ok(format!("http://{addr}"))
}

/// The `oap-ref` binary as a child process; killed when dropped.
struct ToolProcess {
    child: Child,
    url: String,
}

impl ToolProcess {
    fn start(bin: &Path, data: &Path) -> anyhow::Result<ToolProcess> {
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let url = child.stdout.take().and_then(|stdout| {
            let mut reader = std::io::BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(n) if n > 0 => {}
                    _ => return None,
                }
                if let Some(url) = line.trim().strip_prefix("listening on ") {
                    return Some(url.to_owned());
                }
            }
        });
        match url {
            Some(url) => Ok(ToolProcess { child, url }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the Tool exited before listening")
            }
        }
    }
}

impl Drop for ToolProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory that is removed when dropped unless it was given.
struct DataDir {
    path: PathBuf,
    remove: bool,
}

impl DataDir {
    fn new(given: Option<PathBuf>) -> anyhow::Result<DataDir> {
        let (path, remove) = match given {
            Some(p) => (p, false),
            None => (
                std::env::temp_dir().join(format!("oap-ref-load-{}", ulid::Ulid::new())),
                true,
            ),
        };
        std::fs::create_dir_all(&path)?;
        Ok(DataDir { path, remove })
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn sibling_tool_bin() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    exe.parent()
        .map(|d| d.join("oap-ref"))
        .ok_or_else(|| anyhow!("no directory for {}", exe.display()))
}

async fn updates(
    duration: u64,
    n: usize,
    baseline: bool,
    url: Option<String>,
    tool_bin: Option<PathBuf>,
    data: Option<PathBuf>,
) -> anyhow::Result<bool> {
    let duration = Duration::from_secs(duration);
    let mut base_rate = None;
    if baseline {
        let url = bare_handler().await?;
        let sessions: Vec<(Keypair, String)> = (0..n)
            .map(|_| {
                (
                    Keypair::generate(),
                    oap_wire::ids::SessionId::new().to_string(),
                )
            })
            .collect();
        let out = drive(&url, &sessions, duration).await?;
        out.print("baseline (bare axum handler)");
        base_rate = Some(out.rate());
    }
    let dir = DataDir::new(data)?;
    let (_process, url) = match url {
        Some(url) => (None, url),
        None => {
            let bin = match tool_bin {
                Some(b) => b,
                None => sibling_tool_bin()?,
            };
            let p = ToolProcess::start(&bin, &dir.path)?;
            let url = p.url.clone();
            (Some(p), url)
        }
    };
    let did = tool_did(&url).await?;
    let mut sessions = Vec::new();
    for _ in 0..n {
        let key = Keypair::generate();
        let sid = create_session(&url, &key).await?;
        sessions.push((key, sid));
    }
    let out = drive(&url, &sessions, duration).await?;
    out.print("oap-ref update");
    if let Some(b) = base_rate {
        println!("ratio oap-ref / baseline: {:.3}", out.rate() / b);
    }
    let mut bad = 0;
    for ((key, sid), acked) in sessions.iter().zip(&out.acked) {
        let log = full_log(&url, key, sid).await?;
        let chain = oap_wire::receipt::verify_chain(&log, sid, Some(&did));
        if log.len() as u64 != acked + 1 || chain.is_err() {
            bad += 1;
            eprintln!(
                "{sid}: {} receipts for {acked} acknowledged updates; chain {:?}",
                log.len(),
                chain.err()
            );
        }
    }
    println!(
        "durability check: {} receipts in {} logs, {} logs wrong",
        out.acked.iter().sum::<u64>() + sessions.len() as u64,
        sessions.len(),
        bad
    );
    Ok(bad == 0)
}

fn config(dir: &Path) -> oap_ref::Config {
    oap_ref::Config {
        data_dir: dir.to_owned(),
        ..oap_ref::Config::default()
    }
}

async fn restart(
    sessions: usize,
    per: u64,
    runs: usize,
    data: Option<PathBuf>,
) -> anyhow::Result<bool> {
    let dir = DataDir::new(data)?;
    let t = Instant::now();
    let running = oap_ref::serve(config(&dir.path)).await?;
    let url = running.url.clone();
    let mut tasks = Vec::new();
    for _ in 0..sessions {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let key = Keypair::generate();
            let sid = create_session(&url, &key).await?;
            let mut conn = Conn::open(&url).await?;
            let path = format!("/oap/session/{sid}/update");
            for v in 0..per {
                let (status, resp) = conn
                    .send(&key, "POST", &path, Some(&update_body(&sid, v, v + 1)))
                    .await?;
                if status != 200 {
                    bail!(
                        "update answered {status}: {}",
                        String::from_utf8_lossy(&resp)
                    );
                }
            }
            anyhow::Ok((key, sid))
        }));
    }
    let mut filled = Vec::new();
    for t in tasks {
        filled.push(t.await??);
    }
    running.shutdown().await;
    let receipts = sessions as u64 * (per + 1);
    println!(
        "fill: {receipts} receipts in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    if filled.is_empty() {
        bail!("no sessions");
    }
    let mut times = Vec::new();
    for i in 0..runs {
        let (key, sid) = &filled[(i * 37) % filled.len()];
        let t0 = Instant::now();
        let running = oap_ref::serve(config(&dir.path)).await?;
        let mut conn = Conn::open(&running.url).await?;
        let path = format!("/oap/session/{sid}/state");
        let st = loop {
            let (status, st) = conn.json(key, "GET", &path, None).await?;
            if status == 200 {
                break st;
            }
            if t0.elapsed() > Duration::from_secs(60) {
                bail!("no state after 60 s: {status} {st}");
            }
        };
        let took = t0.elapsed();
        println!(
            "restart {}: first GET state after {:.1} ms",
            i + 1,
            took.as_secs_f64() * 1e3
        );
        if st["state_version"].as_u64() != Some(per) {
            bail!("state_version after restart: {st}");
        }
        times.push(took);
        if i + 1 == runs {
            let did = running.state.engine.tool_did().to_owned();
            for (key, sid) in &filled {
                let log = full_log(&running.url, key, sid).await?;
                if log.len() as u64 != per + 1 {
                    bail!("{sid}: {} receipts after restart", log.len());
                }
                oap_wire::receipt::verify_chain(&log, sid, Some(&did))
                    .map_err(|e| anyhow!("{sid}: {e:?}"))?;
            }
            println!("all {receipts} receipts present, every chain verifies");
        }
        running.shutdown().await;
    }
    times.sort();
    if let Some(median) = times.get(times.len() / 2) {
        println!(
            "restart with {receipts} receipts: median {:.1} ms over {runs} runs",
            median.as_secs_f64() * 1e3
        );
    }
    Ok(true)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let ok = match Cli::parse().command {
        Mode::Updates {
            duration,
            sessions,
            baseline,
            url,
            tool_bin,
            data,
        } => updates(duration, sessions, baseline, url, tool_bin, data).await?,
        Mode::Restart {
            sessions,
            updates: per,
            runs,
            data,
        } => restart(sessions, per, runs, data).await?,
    };
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}
