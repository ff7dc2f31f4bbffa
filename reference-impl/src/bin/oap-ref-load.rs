//! `oap-ref-load`: the load generator behind the "Reference Tool" figures of
//! `docs/benchmarks.md`.
//!
//! - `oap-ref-load updates --duration 10 --sessions 16 --baseline`: starts `oap-ref serve
//!   --listen 127.0.0.1:0` (the binary next to this one, or `--tool-bin`; `--url` uses a Tool
//!   already running), creates one session per convener, and drives signed `update` turns with
//!   the correct `expected_version`, one in flight per session over its own keep-alive
//!   connection, for `--duration` seconds. The requests are signed before the timed window
//!   (`--presign` per session: request `i` expects version `i`, which is what the answer to
//!   request `i - 1` says), so that the client's signing does not compete with the Tool for the
//!   CPU during the window; a session that runs out, or whose answer is not the expected one,
//!   signs on the spot (counted). It reports throughput, p50/p99/max latency, errors, and the
//!   CPU time of the client, the Tool and everything else during the window, then reads every
//!   session's log and checks that it holds one receipt per acknowledged update plus the
//!   genesis and that the chain verifies (exit status 1 if not). `--baseline` first runs the
//!   same client, with the same pre-signed requests, against `oap-ref-load bare` in its own
//!   process: a bare axum handler that does no work (200 `{}`), so that the ratio is measured
//!   in the same run.
//! - `oap-ref-load fsync`: the rate at which the disk makes small writes durable (raw
//!   `fdatasync`, and SQLite commits with the Tool's settings), and what that bounds.
//! - `oap-ref-load restart --sessions 100 --updates 999`: fills a data directory through HTTP
//!   (here 100 × (genesis + 999) = 100,000 receipts), then three times starts the Tool in this
//!   process with `oap_ref::serve` and times `serve()` to the first successful `GET state`.
//!
//! The client speaks plain HTTP/1.1 over loopback and signs every request with RFC 9421 and an
//! RFC 9530 digest (`oap_ref::testing`, shared with the socket-level tests), as any client of
//! the Tool must.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use clap::{Parser, Subcommand};
use oap_ref::testing::{self, ChildServer};
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
        /// Requests signed per session before the timed window (more are signed in the
        /// window, and counted, if a session gets through them all).
        #[arg(long, default_value_t = 12_000)]
        presign: u64,
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
    /// The bare handler of the baseline (answers 200 `{}`; prints `listening on URL`).
    Bare,
    /// How fast the disk under a directory makes small writes durable: raw `fdatasync` and
    /// SQLite commits with the Tool's settings (WAL, `synchronous=FULL`).
    Fsync {
        /// Seconds per probe.
        #[arg(long, default_value_t = 5)]
        duration: u64,
        /// Directory to probe (default: a fresh directory under the temporary directory, which
        /// is where `updates` puts the Tool's data).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Sessions to compute the one-in-flight bound for.
        #[arg(long, default_value_t = 16)]
        sessions: u64,
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

    /// Signs (now, fresh nonce) and sends one request; reads the answer: status and body.
    async fn send(
        &mut self,
        key: &Keypair,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let request = testing::http1_request(
            key,
            &self.authority,
            method,
            path,
            body,
            oap_wire::time::unix_now(),
            &testing::nonce(),
        );
        self.send_raw(&request).await
    }

    /// Sends a request already written out (head and body) and reads the answer.
    async fn send_raw(&mut self, request: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
        self.io.get_mut().write_all(request).await?;
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

/// CPU time and load figures read from `/proc` (Linux), for the client/server split.
mod cpu {
    /// Clock ticks per second of `/proc/*/stat` (`USER_HZ`, 100 on every Linux platform this
    /// runs on).
    const TICKS_PER_SECOND: f64 = 100.0;

    /// User + system CPU seconds of a process (`None`: this process), all threads.
    pub fn process_seconds(pid: Option<u32>) -> Option<f64> {
        let path = match pid {
            Some(p) => format!("/proc/{p}/stat"),
            None => "/proc/self/stat".to_owned(),
        };
        let stat = std::fs::read_to_string(path).ok()?;
        // Fields after the command name (which may contain spaces) start with the state.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        Some((utime + stime) / TICKS_PER_SECOND)
    }

    /// Busy CPU seconds of the whole machine (all cores; idle and iowait excluded).
    pub fn machine_busy_seconds() -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().next()?.strip_prefix("cpu ")?;
        let v: Vec<f64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        let total: f64 = v.iter().take(8).sum();
        let idle = v.get(3)? + v.get(4)?;
        Some((total - idle) / TICKS_PER_SECOND)
    }

    /// The 1-minute load average.
    pub fn load_average() -> String {
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned())
    }

    /// A snapshot of the counters a phase's CPU report is computed from.
    #[derive(Clone, Copy, Debug)]
    pub struct Snapshot {
        client: Option<f64>,
        server: Option<f64>,
        machine: Option<f64>,
    }

    impl Snapshot {
        pub fn take(server: Option<u32>) -> Snapshot {
            Snapshot {
                client: process_seconds(None),
                server: server.and_then(|p| process_seconds(Some(p))),
                machine: machine_busy_seconds(),
            }
        }

        /// `client s, server s, other s` (the machine's busy time minus both) since `self`.
        pub fn since(&self, later: &Snapshot) -> (Option<f64>, Option<f64>, Option<f64>) {
            let d = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
            let client = d(self.client, later.client);
            let server = d(self.server, later.server);
            let other = d(self.machine, later.machine)
                .map(|m| m - client.unwrap_or(0.0) - server.unwrap_or(0.0));
            (client, server, other)
        }
    }
}

/// What one phase measured.
struct Outcome {
    ops: u64,
    errors: u64,
    /// Requests signed during the timed window (the pre-signed ones ran out or went stale).
    signed_inline: u64,
    elapsed: Duration,
    /// Latencies of acknowledged requests, sorted, in microseconds.
    lat_us: Vec<u64>,
    /// Acknowledged updates per session.
    acked: Vec<u64>,
    /// CPU seconds during the window: client, server, everything else on the machine.
    cpu: (Option<f64>, Option<f64>, Option<f64>),
    /// 1-minute load average before and after the window.
    load: (String, String),
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
            "{name}: {} ok in {:.2} s = {:.0} ops/s; latency ms p50 {:.2} p99 {:.2} max {:.2}; errors {}; signed in the window {}",
            self.ops,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.pct_ms(0.50),
            self.pct_ms(0.99),
            self.lat_us.last().copied().unwrap_or(0) as f64 / 1000.0,
            self.errors,
            self.signed_inline,
        );
        let secs = self.elapsed.as_secs_f64();
        let show = |x: Option<f64>| match x {
            Some(v) => format!(
                "{v:.2} s ({:.0} % of one core, {:.0} µs per op)",
                100.0 * v / secs,
                1e6 * v / self.ops.max(1) as f64
            ),
            None => "n/a".to_owned(),
        };
        println!(
            "  cpu: client {}; server {}; other processes {}; load average {} before, {} after",
            show(self.cpu.0),
            show(self.cpu.1),
            show(self.cpu.2),
            self.load.0,
            self.load.1
        );
    }
}

/// The `expected_version` field of an answer (serde skips everything else without building it).
#[derive(serde::Deserialize)]
struct Ack {
    state_version: Option<u64>,
    current_version: Option<u64>,
}

/// One session's load: its key, id, and the requests signed before the window (the `i`-th
/// expects version `i`).
struct Worker {
    key: Keypair,
    sid: String,
    presigned: Vec<Vec<u8>>,
}

/// Signs `per` updates of each session ahead of the window: request `i` expects version `i`,
/// which is what the Tool's answer to request `i - 1` will say (one request in flight per
/// session). The sessions take turns (request 0 of every session, then request 1, …), so that
/// the turn ids, ULIDs of the signing time, interleave across sessions as those of clients
/// sending live would; signed session after session, each session's ids would form one block
/// and every new turn would land in the middle of the Tool's turn-id index. Prints the
/// client's signing cost per request.
fn presign(authority: &str, sessions: &[(Keypair, String)], per: u64) -> Vec<Worker> {
    let t = Instant::now();
    let created = oap_wire::time::unix_now();
    let mut workers: Vec<Worker> = sessions
        .iter()
        .map(|(key, sid)| Worker {
            key: key.clone(),
            sid: sid.clone(),
            presigned: Vec::with_capacity(usize::try_from(per).unwrap_or(0)),
        })
        .collect();
    for v in 0..per {
        for w in &mut workers {
            let path = format!("/oap/session/{}/update", w.sid);
            let body = testing::update_body(&w.sid, v, v + 1);
            w.presigned.push(testing::http1_request(
                &w.key,
                authority,
                "POST",
                &path,
                Some(&body),
                created,
                &testing::nonce(),
            ));
        }
    }
    let n = per * sessions.len() as u64;
    println!(
        "pre-signed {n} requests in {:.2} s ({:.1} µs each: body, digest, Ed25519 signature, head)",
        t.elapsed().as_secs_f64(),
        t.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64
    );
    workers
}

/// One task per session, each on its own connection, sending updates back to back with the
/// `expected_version` learnt from the previous answer, for `duration`. A request is taken from
/// the session's pre-signed ones while they match that version; otherwise it is signed on the
/// spot (and counted).
async fn drive(
    base: &str,
    workers: Vec<Worker>,
    duration: Duration,
    server_pid: Option<u32>,
) -> anyhow::Result<Outcome> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut conns = Vec::new();
    for _ in &workers {
        conns.push(Conn::open(base).await?);
    }
    let load_before = cpu::load_average();
    let before = cpu::Snapshot::take(server_pid);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (w, mut conn) in workers.into_iter().zip(conns) {
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut version = 0u64;
            let mut lat = Vec::with_capacity(1 << 16);
            let (mut errors, mut inline) = (0u64, 0u64);
            let mut presigned_valid = true;
            let path = format!("/oap/session/{}/update", w.sid);
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                let sent = match usize::try_from(version)
                    .ok()
                    .and_then(|v| w.presigned.get(v))
                {
                    Some(request) if presigned_valid => conn.send_raw(request).await,
                    _ => {
                        inline += 1;
                        let body = testing::update_body(&w.sid, version, version + 1);
                        conn.send(&w.key, "POST", &path, Some(&body)).await
                    }
                };
                match sent {
                    Ok((200, resp)) => {
                        lat.push(t0.elapsed().as_micros() as u64);
                        let ack: Option<Ack> = serde_json::from_slice(&resp).ok();
                        version = ack.and_then(|a| a.state_version).unwrap_or(version + 1);
                    }
                    Ok((status, resp)) => {
                        errors += 1;
                        // The pre-signed sequence assumed this request would succeed.
                        presigned_valid = false;
                        eprintln!(
                            "update {}@{version}: {status} {}",
                            w.sid,
                            String::from_utf8_lossy(&resp)
                        );
                        let ack: Option<Ack> = serde_json::from_slice(&resp).ok();
                        if let Some(cur) = ack.and_then(|a| a.current_version) {
                            version = cur;
                        }
                    }
                    Err(e) => {
                        errors += 1;
                        eprintln!("update {}@{version}: {e:#}", w.sid);
                        break;
                    }
                }
            }
            (lat, errors, inline)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut out = Outcome {
        ops: 0,
        errors: 0,
        signed_inline: 0,
        elapsed: Duration::ZERO,
        lat_us: Vec::new(),
        acked: Vec::new(),
        cpu: (None, None, None),
        load: (load_before, String::new()),
    };
    for t in tasks {
        let (lat, errors, inline) = t.await?;
        out.ops += lat.len() as u64;
        out.acked.push(lat.len() as u64);
        out.errors += errors;
        out.signed_inline += inline;
        out.lat_us.extend(lat);
    }
    out.elapsed = start.elapsed();
    out.cpu = before.since(&cpu::Snapshot::take(server_pid));
    out.load.1 = cpu::load_average();
    out.lat_us.sort_unstable();
    Ok(out)
}

/// `oap-ref-load bare`: an axum server that answers every request 200 `{}` and does no work,
/// on the same runtime settings as the Tool (`#[tokio::main]`, one worker per core).
async fn bare() -> anyhow::Result<()> {
    let router = axum::Router::new()
        .fallback(|| async { ([(http::header::CONTENT_TYPE, "application/json")], "{}") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    axum::serve(listener, router).await?;
    Ok(())
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

fn authority(url: &str) -> anyhow::Result<String> {
    Ok(url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("only http:// URLs: {url}"))?
        .trim_end_matches('/')
        .to_owned())
}

struct UpdatesArgs {
    duration: u64,
    sessions: usize,
    presign: u64,
    baseline: bool,
    url: Option<String>,
    tool_bin: Option<PathBuf>,
    data: Option<PathBuf>,
}

async fn updates(a: UpdatesArgs) -> anyhow::Result<bool> {
    let duration = Duration::from_secs(a.duration);
    let n = a.sessions;
    let mut base_rate = None;
    if a.baseline {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("bare");
        let server = ChildServer::start(cmd).context("starting the bare handler")?;
        let sessions: Vec<(Keypair, String)> = (0..n)
            .map(|_| {
                (
                    Keypair::generate(),
                    oap_wire::ids::SessionId::new().to_string(),
                )
            })
            .collect();
        let workers = presign(&authority(&server.url)?, &sessions, a.presign);
        let out = drive(&server.url, workers, duration, Some(server.child.id())).await?;
        out.print("baseline (bare axum handler, own process)");
        base_rate = Some(out.rate());
    }
    let dir = DataDir::new(a.data)?;
    let (process, url) = match a.url {
        Some(url) => (None, url),
        None => {
            let bin = match a.tool_bin {
                Some(b) => b,
                None => sibling_tool_bin()?,
            };
            let mut cmd = ChildServer::tool_command(&bin, &dir.path, &[]);
            if std::env::var_os("RUST_LOG").is_none() {
                // The Tool's group-commit figures (commits, batch sizes) on standard error.
                cmd.env("RUST_LOG", "warn,oap_ref::store::writer=debug");
            }
            let p =
                ChildServer::start(cmd).with_context(|| format!("starting {}", bin.display()))?;
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
    let workers = presign(&authority(&url)?, &sessions, a.presign);
    let pid = process.as_ref().map(|p| p.child.id());
    let out = drive(&url, workers, duration, pid).await?;
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

/// Latencies of one probe, in microseconds, sorted.
fn report_probe(name: &str, mut lat_us: Vec<u64>, elapsed: Duration) -> f64 {
    lat_us.sort_unstable();
    let pct = |p: f64| {
        let i = ((lat_us.len().saturating_sub(1)) as f64 * p).round() as usize;
        lat_us.get(i).copied().unwrap_or(0) as f64 / 1000.0
    };
    let rate = lat_us.len() as f64 / elapsed.as_secs_f64();
    println!(
        "{name}: {} in {:.2} s = {rate:.0}/s; ms p50 {:.2} p99 {:.2} max {:.2}",
        lat_us.len(),
        elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    rate
}

/// Runs `step` back to back for `duration`; its latencies.
fn probe(
    duration: Duration,
    mut step: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<(Vec<u64>, Duration)> {
    let start = Instant::now();
    let mut lat = Vec::new();
    while start.elapsed() < duration {
        let t = Instant::now();
        step()?;
        lat.push(t.elapsed().as_micros() as u64);
    }
    Ok((lat, start.elapsed()))
}

/// `oap-ref-load fsync`: the durable-write rate of the disk, which bounds durable updates when
/// each session has one update in flight (an update is answered only after the commit that
/// holds it, so no session can go faster than one update per commit).
fn fsync_probe(duration: Duration, dir: Option<PathBuf>, sessions: u64) -> anyhow::Result<bool> {
    use std::io::{Seek as _, SeekFrom, Write as _};
    let dir = DataDir::new(dir)?;
    println!(
        "probing {} ({} s each; load average {})",
        dir.path.display(),
        duration.as_secs(),
        cpu::load_average()
    );
    let page = [0x5au8; 4096];
    // 1. Overwrite the same 4 KiB and fdatasync (a WAL being reused after a checkpoint).
    let mut f = std::fs::File::create(dir.path.join("probe-overwrite"))?;
    f.write_all(&page)?;
    f.sync_all()?;
    let (lat, el) = probe(duration, || {
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&page)?;
        f.sync_data()?;
        Ok(())
    })?;
    report_probe("write 4 KiB in place + fdatasync", lat, el);
    // 2. Append 4 KiB and fdatasync (a growing WAL: the file size changes, so the journal
    //    commits too).
    let mut f = std::fs::File::create(dir.path.join("probe-append"))?;
    let (lat, el) = probe(duration, || {
        f.write_all(&page)?;
        f.sync_data()?;
        Ok(())
    })?;
    report_probe("append 4 KiB + fdatasync", lat, el);
    // 3. SQLite with the store's settings: one transaction per commit, one ~1 KiB row each
    //    (about the size of one update's head, receipt and nonce rows).
    let conn = rusqlite::Connection::open(dir.path.join("probe.sqlite3"))?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        bail!("journal_mode is {mode}, not wal");
    }
    conn.execute_batch(
        "PRAGMA synchronous=FULL; CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL);",
    )?;
    let row = vec![0x5au8; 1024];
    let mut k = 0i64;
    let (lat, el) = probe(duration, || {
        k += 1;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        conn.prepare_cached("INSERT INTO t (k, v) VALUES (?1, ?2)")?
            .execute(rusqlite::params![k, &row])?;
        conn.execute_batch("COMMIT")?;
        Ok(())
    })?;
    let commits = report_probe("SQLite commit (WAL, synchronous=FULL, 1 KiB row)", lat, el);
    println!(
        "bound for {sessions} sessions with one update in flight each: {sessions} × {commits:.0} commits/s = {:.0} durable updates/s",
        sessions as f64 * commits
    );
    Ok(true)
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
                    .send(
                        &key,
                        "POST",
                        &path,
                        Some(&testing::update_body(&sid, v, v + 1)),
                    )
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
            presign,
            baseline,
            url,
            tool_bin,
            data,
        } => {
            updates(UpdatesArgs {
                duration,
                sessions,
                presign,
                baseline,
                url,
                tool_bin,
                data,
            })
            .await?
        }
        Mode::Bare => {
            bare().await?;
            true
        }
        Mode::Fsync {
            duration,
            dir,
            sessions,
        } => fsync_probe(Duration::from_secs(duration), dir, sessions)?,
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
