//! Black-box fuzzing of a live Tool's envelope handling (`oap-conform fuzz`).
//!
//! Workers each own a session. They draw [`Case`]s (a valid create, update or
//! invoke request with one to three [`Mutation`]s), send them signed or
//! unsigned, and judge every answer:
//!
//! - a 5xx status, a dropped connection, a malformed answer or a timeout is a
//!   finding whatever the request (PRF-ENV-9, PRF-ERR-3). A request that failed
//!   on the wire (a connection closed or reset, bytes that are not HTTP; not a
//!   timeout) on a connection that may have been kept alive from an earlier
//!   request is sent once more on a new connection, and only a second failure
//!   counts: a Tool may close an idle connection just as the next request is
//!   written on it (RFC 9112 §9.3.1), which says nothing about its handling of
//!   that request. Such retries are counted in the report (`retried`);
//! - a 2xx answer to a request the profile leaves no room to accept (a broken
//!   signature, a body that is not strict I-JSON within the limits, a wrong
//!   media type or path identifier) is a finding;
//! - every few requests a probe reads the session back: `state_version` and
//!   the log must be what the accepted requests made them, and a valid update
//!   must still succeed. A failed probe is pinned on one request of the batch
//!   by replaying each on a fresh session.
//!
//! Each finding is minimised (mutations dropped, then body members deleted,
//! while the failure persists) and written as a vector file ready for
//! `vectors/oap/` and a `curl` line ([`finding`]); [`report`] writes
//! `fuzz.json` (the shape of the `fuzz` member of `report.json`) and `fuzz.md`.

pub mod finding;
pub mod mutate;
pub mod report;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use oap_wire::Keypair;
use oap_wire::ids::TurnId;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

use crate::actors::fresh_nonce;
use crate::actors::signer::{SignedRequest, sign_request};
use crate::client::{HttpClient, InResponse, OutRequest, TransportError};

pub use finding::{Finding, FindingKind};
pub use mutate::{Case, Endpoint, Mutation};
pub use report::FuzzReport;

/// Largest body the profile accepts (PRF-ENV-1).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What bounds and seeds a fuzz run.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// Stop after this many fuzz requests (probes not counted).
    pub requests: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Seed of every mutation drawn (worker `i` uses `seed + i`).
    pub seed: u64,
    /// Sessions fuzzed in parallel, one worker each.
    pub workers: usize,
    /// Session writes between two probes of a worker's session.
    pub probe_every: usize,
    /// Findings kept (the run stops once this many are found).
    pub max_findings: usize,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        FuzzOptions {
            requests: Some(10_000),
            duration: None,
            seed: 0,
            workers: 16,
            probe_every: 32,
            max_findings: 20,
        }
    }
}

/// Errors that stop a fuzz run before any request is judged.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// The first session could not be created with a valid request.
    #[error("the Tool does not accept a valid create: {0}")]
    Setup(String),
}

/// Counts of a run, merged over workers.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    /// Fuzz requests sent and answered (or failed on the wire).
    pub sent: u64,
    /// Requests the HTTP client could not even build (not counted as sent).
    pub unsendable: u64,
    /// Answers by status (`"400"`) or transport failure (`"timeout"`).
    pub statuses: BTreeMap<String, u64>,
    /// Mutations drawn, by kind.
    pub mutations: BTreeMap<String, u64>,
    /// Requests sent without signature headers.
    pub unsigned: u64,
    /// Requests the profile requires to be refused.
    pub must_reject: u64,
    /// Requests answered 2xx.
    pub accepted: u64,
    /// Session probes run (state, log, a valid update).
    pub probes: u64,
    /// Requests retried on a new connection after a transport failure (fuzz requests,
    /// probes and replays; see [`Driver::retried`]).
    pub retried: u64,
}

impl Counts {
    fn merge(&mut self, other: Counts) {
        self.sent += other.sent;
        self.unsendable += other.unsendable;
        self.unsigned += other.unsigned;
        self.must_reject += other.must_reject;
        self.accepted += other.accepted;
        self.probes += other.probes;
        self.retried += other.retried;
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in other.mutations {
            *self.mutations.entry(k).or_default() += v;
        }
    }
}

/// A session a worker writes to, with the version its accepted writes made.
#[derive(Debug, Clone)]
struct Session {
    id: String,
    version: u64,
    convener: Arc<Keypair>,
}

/// What one request led to.
#[derive(Debug)]
enum Answer {
    /// An answer that breaks no rule (a 4xx, or a 2xx the profile allows).
    Fine { status: u16 },
    /// A broken rule.
    Bad { kind: FindingKind, detail: String },
    /// The client could not build the request (not the Tool's fault).
    Unsendable,
    /// The Tool closed the connection while an oversized body was being sent.
    Closed,
}

/// The connection to the Tool shared by every worker.
#[derive(Debug, Clone)]
pub struct Driver {
    client: HttpClient,
    base: String,
    /// Requests sent a second time on a new connection after a transport failure.
    retried: Arc<AtomicU64>,
}

impl Driver {
    /// A driver for the Tool at `base` (no trailing `/`).
    pub fn new(client: HttpClient, base: &str) -> Self {
        Driver {
            client,
            base: base.trim_end_matches('/').to_owned(),
            retried: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Requests (fuzz requests, probes and replays) retried on a new connection so far.
    pub fn retried(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }

    /// Sends `req`. A transport failure other than a timeout, on a connection that may have been
    /// kept alive from an earlier request, is retried once on a new connection; the second
    /// attempt's outcome is the answer, and its failure carries the first one's too.
    async fn send(&self, req: &OutRequest) -> Result<InResponse, TransportError> {
        let first = match self.client.send(req).await {
            Err(e @ (TransportError::Connect(_) | TransportError::Protocol(_)))
                if self.client.may_reuse(req) =>
            {
                e
            }
            other => return other,
        };
        self.retried.fetch_add(1, Ordering::Relaxed);
        self.client.send_fresh(req).await.map_err(|second| {
            let again = |e: String| format!("{e} (and first, on a kept-alive connection: {first})");
            match second {
                TransportError::Connect(e) => TransportError::Connect(again(e)),
                TransportError::Protocol(e) => TransportError::Protocol(again(e)),
                other => other,
            }
        })
    }

    /// The target's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A correctly signed request.
    fn signed(&self, method: &str, path: &str, body: Option<Vec<u8>>, key: &Keypair) -> OutRequest {
        let url = format!("{}{path}", self.base);
        let nonce = fresh_nonce();
        let ct = body.as_ref().map(|_| crate::actors::signer::JSON);
        let headers = sign_request(
            &SignedRequest {
                method,
                url: &url,
                body: body.as_deref(),
                content_type: ct,
                key,
                nonce: &nonce,
                now: oap_wire::time::unix_now(),
            },
            &Default::default(),
        )
        .unwrap_or_default();
        OutRequest {
            method: method.to_owned(),
            url,
            headers,
            body,
        }
    }

    /// Creates a session with a valid request from a fresh convener.
    async fn new_session(&self) -> Result<Session, String> {
        let convener = Arc::new(Keypair::generate());
        let body = Endpoint::Create.base_body("", 0, "");
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let req = self.signed("POST", "/oap/session/create", Some(bytes), &convener);
        let resp = self.send(&req).await.map_err(|e| e.to_string())?;
        if !(200..300).contains(&resp.status) {
            return Err(format!(
                "create answered {}: {}",
                resp.status,
                String::from_utf8_lossy(&resp.body)
            ));
        }
        let id = json_body(&resp)
            .and_then(|v| {
                v.get("session_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .ok_or_else(|| "create answered without a session_id".to_owned())?;
        Ok(Session {
            id,
            version: 0,
            convener,
        })
    }

    /// The request of `case` against `session`, and whether it must be refused.
    pub fn build(
        &self,
        case: &Case,
        session_id: &str,
        expected_version: u64,
        key: &Keypair,
    ) -> Option<(OutRequest, bool)> {
        let turn = TurnId::new().to_string();
        let base = case.endpoint.base_body(session_id, expected_version, &turn);
        let body = case.render_body(&base);
        let must_reject = case.must_reject(&body);
        let url = format!(
            "{}{}",
            self.base,
            case.endpoint.path(case.path_id(session_id))
        );
        let ct = case.content_type();
        let opts = case.sign_options();
        let mut headers = if case.unsigned() {
            vec![
                ("Content-Type".to_owned(), ct.clone()),
                (
                    "Content-Digest".to_owned(),
                    oap_wire::digest::content_digest(&body),
                ),
            ]
        } else {
            let nonce = opts.nonce.clone().unwrap_or_else(fresh_nonce);
            sign_request(
                &SignedRequest {
                    method: "POST",
                    url: &url,
                    body: Some(&body),
                    content_type: Some(&ct),
                    key,
                    nonce: &nonce,
                    now: oap_wire::time::unix_now(),
                },
                &opts,
            )
            .ok()?
        };
        for name in case.dropped_headers() {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        }
        Some((
            OutRequest {
                method: "POST".to_owned(),
                url,
                headers,
                body: Some(body),
            },
            must_reject,
        ))
    }

    /// Sends `req` and applies the rules every answer must follow.
    async fn judge(&self, req: &OutRequest, must_reject: bool) -> Answer {
        let oversized = req.body.as_ref().is_some_and(|b| b.len() > MAX_BODY_BYTES);
        match self.send(req).await {
            Err(TransportError::Request(_)) => Answer::Unsendable,
            // A Tool may answer an oversized body 413 and close the connection before reading
            // it all (RFC 9110 §15.5.14); the client then fails writing the rest, without
            // reading the answer. Closing on a body over the limit refuses it.
            Err(TransportError::Connect(e) | TransportError::Protocol(e))
                if oversized && (e.contains("Broken pipe") || e.contains("reset")) =>
            {
                Answer::Closed
            }
            Err(e) => Answer::Bad {
                kind: FindingKind::Transport,
                detail: e.to_string(),
            },
            Ok(resp) if resp.status >= 500 => Answer::Bad {
                kind: FindingKind::ServerError,
                detail: format!("answered {}: {}", resp.status, snippet(&resp.body)),
            },
            Ok(resp) if (200..300).contains(&resp.status) && must_reject => Answer::Bad {
                kind: FindingKind::AcceptedInvalid,
                detail: format!(
                    "answered {} to a request the profile requires to be refused: {}",
                    resp.status,
                    snippet(&resp.body)
                ),
            },
            Ok(resp) if !(200..500).contains(&resp.status) || (300..400).contains(&resp.status) => {
                Answer::Bad {
                    kind: FindingKind::ServerError,
                    detail: format!("answered {}, neither 2xx nor 4xx", resp.status),
                }
            }
            Ok(resp) => Answer::Fine {
                status: resp.status,
            },
        }
    }

    /// Reads `session` back and writes to it validly: the version and the log
    /// must be what accepted writes made them, and the write must succeed.
    async fn probe(&self, session: &mut Session) -> Result<(), (FindingKind, String)> {
        let changed = |d: String| (FindingKind::StateChanged, d);
        let path = format!("/oap/session/{}/state", session.id);
        let req = self.signed("GET", &path, None, &session.convener);
        let resp = self
            .send(&req)
            .await
            .map_err(|e| (FindingKind::Transport, format!("GET state: {e}")))?;
        let version = json_body(&resp)
            .filter(|_| resp.status == 200)
            .and_then(|v| v.get("state_version").and_then(Value::as_u64));
        if version != Some(session.version) {
            return Err(changed(format!(
                "GET state answered {} with state_version {version:?}; the accepted requests left it at {}",
                resp.status, session.version
            )));
        }
        let path = format!(
            "/oap/session/{}/log?from={}&limit=2",
            session.id, session.version
        );
        let req = self.signed("GET", &path, None, &session.convener);
        let resp = self
            .send(&req)
            .await
            .map_err(|e| (FindingKind::Transport, format!("GET log: {e}")))?;
        let versions: Option<Vec<Option<u64>>> = json_body(&resp)
            .filter(|_| resp.status == 200)
            .and_then(|v| {
                v.get("receipts").and_then(Value::as_array).map(|r| {
                    r.iter()
                        .map(|x| x.get("state_version").and_then(Value::as_u64))
                        .collect()
                })
            });
        if versions != Some(vec![Some(session.version)]) {
            return Err(changed(format!(
                "GET log from version {} answered {} with receipt versions {versions:?}; expected exactly [{}]",
                session.version, resp.status, session.version
            )));
        }
        let turn = TurnId::new().to_string();
        let body = Endpoint::Update.base_body(&session.id, session.version, &turn);
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let path = format!("/oap/session/{}/update", session.id);
        let req = self.signed("POST", &path, Some(bytes), &session.convener);
        let resp = self
            .send(&req)
            .await
            .map_err(|e| (FindingKind::Transport, format!("valid update: {e}")))?;
        let next = json_body(&resp).and_then(|v| v.get("state_version").and_then(Value::as_u64));
        if !(200..300).contains(&resp.status) || next != Some(session.version + 1) {
            return Err((
                FindingKind::Unusable,
                format!(
                    "a valid update at version {} answered {} (state_version {next:?}): {}",
                    session.version,
                    resp.status,
                    snippet(&resp.body)
                ),
            ));
        }
        session.version += 1;
        Ok(())
    }

    /// Re-reads the session's version after an accepted write.
    async fn resync(&self, session: &mut Session) {
        let path = format!("/oap/session/{}/state", session.id);
        let req = self.signed("GET", &path, None, &session.convener);
        if let Ok(resp) = self.send(&req).await
            && let Some(v) =
                json_body(&resp).and_then(|v| v.get("state_version").and_then(Value::as_u64))
        {
            session.version = v;
        }
    }

    /// Sends `case` on a fresh session and says whether the failure `kind` shows.
    /// Returns the request sent when it does.
    pub async fn reproduce(&self, case: &Case, kind: FindingKind) -> Option<OutRequest> {
        let mut session = self.new_session().await.ok()?;
        let key = self.case_key(case, &session);
        let (req, must_reject) = self.build(case, &session.id, session.version, &key)?;
        let answer = self.judge(&req, must_reject).await;
        let shown = match (answer, kind) {
            (Answer::Bad { kind: k, .. }, _) => k == kind,
            (Answer::Unsendable | Answer::Closed, _) => false,
            (Answer::Fine { status }, FindingKind::StateChanged | FindingKind::Unusable) => {
                (400..500).contains(&status)
                    && matches!(self.probe(&mut session).await, Err((k, _)) if k == kind)
            }
            (Answer::Fine { .. }, _) => false,
        };
        shown.then_some(req)
    }

    /// Creates sign as a fresh actor (so accepted creates never hit the
    /// per-convener quota); session writes sign as the session's convener.
    fn case_key(&self, case: &Case, session: &Session) -> Arc<Keypair> {
        match case.endpoint {
            Endpoint::Create => Arc::new(Keypair::generate()),
            _ => Arc::clone(&session.convener),
        }
    }
}

/// Runs the fuzzer against `driver`'s Tool.
pub async fn fuzz(driver: &Driver, opts: &FuzzOptions) -> Result<FuzzReport, FuzzError> {
    let start = Instant::now();
    let started_at = oap_wire::time::now_rfc3339();
    // One valid create first: a Tool that refuses it cannot be fuzzed meaningfully.
    driver.new_session().await.map_err(FuzzError::Setup)?;
    let budget = Arc::new(AtomicU64::new(0));
    let found = Arc::new(AtomicUsize::new(0));
    let deadline = opts.duration.map(|d| start + d);
    let mut tasks = Vec::new();
    for i in 0..opts.workers.max(1) {
        let w = Worker {
            driver: driver.clone(),
            rng: StdRng::seed_from_u64(opts.seed.wrapping_add(i as u64)),
            opts: opts.clone(),
            budget: Arc::clone(&budget),
            found: Arc::clone(&found),
            deadline,
            counts: Counts::default(),
            raw: Vec::new(),
        };
        tasks.push(tokio::spawn(w.run()));
    }
    let mut counts = Counts::default();
    let mut raw: Vec<RawFinding> = Vec::new();
    for t in tasks {
        if let Ok((c, r)) = t.await {
            counts.merge(c);
            raw.extend(r);
        }
    }
    let elapsed = start.elapsed();
    raw.truncate(opts.max_findings.max(1));
    let mut findings = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        findings.push(finding::finish(driver, r, i + 1, opts.seed).await);
    }
    counts.retried = driver.retried();
    Ok(report::build(
        driver.base_url(),
        opts,
        started_at,
        elapsed,
        counts,
        findings,
    ))
}

/// A finding before minimisation.
#[derive(Debug, Clone)]
pub struct RawFinding {
    /// What broke.
    pub kind: FindingKind,
    /// What the Tool did.
    pub detail: String,
    /// The case (for state and usability findings, the one replay pinned it on).
    pub case: Option<Case>,
}

struct Worker {
    driver: Driver,
    rng: StdRng,
    opts: FuzzOptions,
    budget: Arc<AtomicU64>,
    found: Arc<AtomicUsize>,
    deadline: Option<Instant>,
    counts: Counts,
    raw: Vec<RawFinding>,
}

impl Worker {
    fn more(&self) -> bool {
        if self.found.load(Ordering::Relaxed) >= self.opts.max_findings.max(1) {
            return false;
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        match self.opts.requests {
            Some(n) => self.budget.fetch_add(1, Ordering::Relaxed) < n,
            None => self.deadline.is_some(),
        }
    }

    fn record(&mut self, kind: FindingKind, detail: String, case: Option<Case>) {
        // One finding per kind and mutation set is enough; the rest repeat it.
        let key = |c: &Option<Case>| {
            c.as_ref()
                .map(|c| c.mutations.iter().map(Mutation::kind).collect::<Vec<_>>())
        };
        if self
            .raw
            .iter()
            .any(|r| r.kind == kind && key(&r.case) == key(&case))
        {
            return;
        }
        self.found.fetch_add(1, Ordering::Relaxed);
        self.raw.push(RawFinding { kind, detail, case });
    }

    async fn run(mut self) -> (Counts, Vec<RawFinding>) {
        let mut session = match self.driver.new_session().await {
            Ok(s) => s,
            Err(e) => {
                self.record(
                    FindingKind::Unusable,
                    format!("creating a session: {e}"),
                    None,
                );
                return (self.counts, self.raw);
            }
        };
        let mut batch: Vec<Case> = Vec::new();
        while self.more() {
            let (sid, ver) = (session.id.clone(), session.version);
            let case = mutate::draw_case(&mut self.rng, |e| {
                e.base_body(&sid, ver, "trn_01ARZ3NDEKTSV4RRFFQ69G5FAV")
            });
            for m in &case.mutations {
                *self
                    .counts
                    .mutations
                    .entry(m.kind().to_owned())
                    .or_default() += 1;
            }
            let key = self.driver.case_key(&case, &session);
            let Some((req, must_reject)) = self.driver.build(&case, &sid, ver, &key) else {
                self.counts.unsendable += 1;
                continue;
            };
            self.counts.unsigned += u64::from(case.unsigned());
            self.counts.must_reject += u64::from(must_reject);
            let answer = self.driver.judge(&req, must_reject).await;
            match answer {
                Answer::Unsendable => self.counts.unsendable += 1,
                Answer::Closed => {
                    self.counts.sent += 1;
                    *self
                        .counts
                        .statuses
                        .entry("closed_oversized".to_owned())
                        .or_default() += 1;
                    if case.endpoint.is_session_write() {
                        batch.push(case);
                    }
                }
                Answer::Bad { kind, detail } => {
                    self.counts.sent += 1;
                    *self
                        .counts
                        .statuses
                        .entry(kind.as_str().to_owned())
                        .or_default() += 1;
                    self.record(kind, detail, Some(case));
                    // The session may be in any state now: start a clean one.
                    if let Ok(s) = self.driver.new_session().await {
                        session = s;
                    }
                    batch.clear();
                }
                Answer::Fine { status, .. } => {
                    self.counts.sent += 1;
                    *self.counts.statuses.entry(status.to_string()).or_default() += 1;
                    if (200..300).contains(&status) {
                        self.counts.accepted += 1;
                        if case.endpoint.is_session_write() {
                            self.driver.resync(&mut session).await;
                        }
                    } else if case.endpoint.is_session_write() {
                        batch.push(case);
                    }
                }
            }
            if batch.len() >= self.opts.probe_every.max(1) {
                self.probe(&mut session, &mut batch).await;
            }
        }
        if !batch.is_empty() || self.raw.is_empty() {
            self.probe(&mut session, &mut batch).await;
        }
        (self.counts, self.raw)
    }

    /// Probes the session; on failure pins it on one request of the batch.
    async fn probe(&mut self, session: &mut Session, batch: &mut Vec<Case>) {
        self.counts.probes += 1;
        if let Err((kind, detail)) = self.driver.probe(session).await {
            let mut pinned = None;
            for case in batch.iter() {
                if self.driver.reproduce(case, kind).await.is_some() {
                    pinned = Some(case.clone());
                    break;
                }
            }
            let detail = match &pinned {
                Some(_) => detail,
                None => format!(
                    "{detail} (after {} refused requests; no single one of them shows it again alone)",
                    batch.len()
                ),
            };
            self.record(kind, detail, pinned);
            if let Ok(s) = self.driver.new_session().await {
                *session = s;
            }
        }
        batch.clear();
    }
}

fn json_body(resp: &InResponse) -> Option<Value> {
    serde_json::from_slice(&resp.body).ok()
}

/// The first 300 characters of a body, for details.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(300).collect();
    if text.chars().count() > 300 {
        s.push('…');
    }
    s
}
