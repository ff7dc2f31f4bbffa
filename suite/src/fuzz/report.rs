//! The fuzz report: `fuzz.json`, `fuzz.md`, and one vector file and body file
//! per finding under `findings/`.
//!
//! `fuzz.json` has the shape of the optional `fuzz` member of `report.json`
//! (`vectors/schema/report.schema.json`, `$defs/fuzz`), so a run's report and a
//! fuzz run's report describe fuzzing the same way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde::Serialize;

use super::{Counts, Finding, FuzzOptions};

/// A whole fuzz run.
#[derive(Debug, Clone, Serialize)]
pub struct FuzzReport {
    /// The Tool's base URL.
    pub target: String,
    /// Seed of the mutations (`--seed`).
    pub seed: u64,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Wall-clock duration.
    pub duration_ms: u64,
    /// Sessions fuzzed in parallel.
    pub workers: usize,
    /// Fuzz requests sent (probes and replays not counted).
    pub requests: u64,
    /// `requests` per second of the run.
    pub requests_per_second: f64,
    /// Requests sent without signature headers.
    pub unsigned: u64,
    /// Requests the profile requires to be refused.
    pub must_reject: u64,
    /// Requests answered 2xx.
    pub accepted: u64,
    /// Session probes (state, log, a valid update).
    pub probes: u64,
    /// Requests (fuzz requests, probes and replays) sent a second time on a new connection
    /// after a transport failure on one that may have been kept alive; a second failure is a
    /// finding, a success is not.
    pub retried: u64,
    /// Answers by status, or by the failure when there was none.
    pub statuses: std::collections::BTreeMap<String, u64>,
    /// Mutations drawn, by kind.
    pub mutations: std::collections::BTreeMap<String, u64>,
    /// The findings, minimised.
    pub findings: Vec<Finding>,
}

impl FuzzReport {
    /// Whether the Tool held every rule (exit code 0).
    pub fn passed(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Assembles the report.
pub fn build(
    target: &str,
    opts: &FuzzOptions,
    started_at: String,
    elapsed: Duration,
    counts: Counts,
    findings: Vec<Finding>,
) -> FuzzReport {
    let secs = elapsed.as_secs_f64().max(1e-9);
    FuzzReport {
        target: target.to_owned(),
        seed: opts.seed,
        started_at,
        duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        workers: opts.workers,
        requests: counts.sent,
        requests_per_second: (counts.sent as f64 / secs * 10.0).round() / 10.0,
        unsigned: counts.unsigned,
        must_reject: counts.must_reject,
        accepted: counts.accepted,
        probes: counts.probes,
        retried: counts.retried,
        statuses: counts.statuses,
        mutations: counts.mutations,
        findings,
    }
}

/// Files written by [`write`].
#[derive(Debug, Clone)]
pub struct Written {
    /// `fuzz.json`.
    pub json: PathBuf,
    /// `fuzz.md`.
    pub markdown: PathBuf,
    /// One vector file per finding that has one.
    pub vectors: Vec<PathBuf>,
}

/// Writes `fuzz.json`, `fuzz.md` and `findings/` under `dir`.
pub fn write(report: &FuzzReport, dir: &Path) -> std::io::Result<Written> {
    std::fs::create_dir_all(dir)?;
    let json = dir.join("fuzz.json");
    let text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(&json, text + "\n")?;
    let markdown = dir.join("fuzz.md");
    std::fs::write(&markdown, to_markdown(report))?;
    let mut vectors = Vec::new();
    if !report.findings.is_empty() {
        let fdir = dir.join("findings");
        std::fs::create_dir_all(&fdir)?;
        for f in &report.findings {
            if let Some(v) = &f.vector {
                let path = fdir.join(format!("{}-{}.json", f.id, f.kind.as_str()));
                let text = serde_json::to_string_pretty(v).map_err(std::io::Error::other)?;
                std::fs::write(&path, text + "\n")?;
                vectors.push(path);
            }
            if let Some(b) = &f.body_base64
                && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b)
            {
                std::fs::write(fdir.join(format!("{}.body", f.id)), bytes)?;
            }
        }
    }
    Ok(Written {
        json,
        markdown,
        vectors,
    })
}

/// The markdown report.
pub fn to_markdown(r: &FuzzReport) -> String {
    let mut s = String::new();
    s.push_str("# oap-conform fuzz\n\n");
    s.push_str(&format!(
        "Target `{}`, seed {}, {} workers, started {}.\n\n",
        r.target, r.seed, r.workers, r.started_at
    ));
    s.push_str(&format!(
        "{} requests in {:.1} s ({} requests/s): {} must be refused, {} unsigned, {} accepted; {} session probes.\n\n",
        r.requests,
        r.duration_ms as f64 / 1000.0,
        r.requests_per_second,
        r.must_reject,
        r.unsigned,
        r.accepted,
        r.probes
    ));
    if r.retried > 0 {
        s.push_str(&format!(
            "{} requests failed on a connection that may have been kept alive and were sent again on a new connection (only a second failure is a finding).\n\n",
            r.retried
        ));
    }
    s.push_str("| answer | count |\n| --- | --- |\n");
    for (k, v) in &r.statuses {
        s.push_str(&format!("| {k} | {v} |\n"));
    }
    s.push_str("\n| mutation | count |\n| --- | --- |\n");
    for (k, v) in &r.mutations {
        s.push_str(&format!("| {k} | {v} |\n"));
    }
    if r.findings.is_empty() {
        s.push_str("\n**No findings.**\n");
        return s;
    }
    s.push_str(&format!("\n## {} findings\n", r.findings.len()));
    for f in &r.findings {
        s.push_str(&format!(
            "\n### {} ({}; {})\n\n{}\n\n",
            f.id,
            f.kind.as_str(),
            f.requirements.join(", "),
            f.detail
        ));
        if !f.minimised.is_empty() {
            s.push_str(&format!(
                "Minimised mutations ({}): {}\n\n",
                if f.reproduced {
                    "shown again on a fresh session"
                } else {
                    "not shown again alone"
                },
                f.minimised.join("; ")
            ));
        }
        if f.vector.is_some() {
            s.push_str(&format!(
                "Vector: `findings/{}-{}.json` (copy to `vectors/oap/fuzz/`).\n\n",
                f.id,
                f.kind.as_str()
            ));
        }
        if let Some(c) = &f.curl {
            s.push_str(&format!(
                "Replay (within the signature window, from `findings/`; the Tool may refuse it as a replay):\n\n```sh\n{c}\n```\n"
            ));
        }
    }
    s
}
