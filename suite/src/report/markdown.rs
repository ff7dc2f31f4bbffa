//! `report.md`: the run as a short Markdown summary for a pull request or a CI
//! job summary (`$GITHUB_STEP_SUMMARY`).
//!
//! It answers, in order: did the Tool pass L4, per binding and overall; how
//! many vectors and requirements passed; which MUST requirements failed and
//! through which vectors; what the warnings are. Transcripts stay out (they
//! are in `report.html` and `junit.xml`), except the `curl` line that
//! reproduces each failure. Every piece of text a Tool could influence goes
//! through [`markdown_inline`] or into a code block whose fence is longer than
//! any backtick run inside it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::escape::{markdown_inline as md, truncate};
use super::model::{RequirementStatus, RunReport, Status, VectorResult, Verdict};
use super::signing::proof_signer;

/// Failed vectors listed in full; the rest are counted.
const MAX_LISTED_FAILURES: usize = 50;
/// Characters of a `curl` line shown.
const MAX_CURL_CHARS: usize = 2000;

/// Vector counts by status.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StatusCounts {
    /// All vectors.
    pub total: usize,
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Errored.
    pub error: usize,
    /// Skipped.
    pub skip: usize,
    /// Not applicable.
    pub not_applicable: usize,
}

impl StatusCounts {
    /// Counts the given vectors.
    pub fn of<'a>(vectors: impl Iterator<Item = &'a VectorResult>) -> Self {
        let mut c = StatusCounts::default();
        for v in vectors {
            c.total += 1;
            match v.status {
                Status::Pass => c.pass += 1,
                Status::Fail => c.fail += 1,
                Status::Error => c.error += 1,
                Status::Skip => c.skip += 1,
                Status::NotApplicable => c.not_applicable += 1,
            }
        }
        c
    }
}

fn verdict_cell(v: &Verdict) -> String {
    format!("**{} {}**", v.level, v.result.as_str().to_uppercase())
}

/// A fenced code block that no content can close early.
fn code_block(lang: &str, content: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in content.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}{lang}\n{}\n{fence}\n", content.trim_end())
}

/// Renders the Markdown summary.
pub fn render_markdown(report: &RunReport) -> String {
    let mut out = String::new();
    let v = &report.verdict;
    let _ = writeln!(out, "## OAP conformance: {}\n", verdict_cell(v));
    let _ = writeln!(
        out,
        "Target {} · {} {} · seed {} · started {} · {} ms\n",
        md(&report.target.url),
        md(&report.suite.name),
        md(&report.suite.version),
        report.seed,
        md(&report.started_at),
        report.duration_ms,
    );

    out.push_str("| binding | verdict | vectors | pass | fail | error | skip | not applicable |\n");
    out.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    let mut rows: Vec<(String, Option<&Verdict>, StatusCounts)> = report
        .bindings
        .iter()
        .map(|b| {
            let counts = StatusCounts::of(report.vectors.iter().filter(|x| &x.binding == b));
            (md(b), report.verdicts_by_binding.get(b), counts)
        })
        .collect();
    rows.push((
        "**all**".to_owned(),
        Some(v),
        StatusCounts::of(report.vectors.iter()),
    ));
    for (name, verdict, c) in rows {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            verdict.map(verdict_cell).unwrap_or_else(|| "–".to_owned()),
            c.total,
            c.pass,
            c.fail,
            c.error,
            c.skip,
            c.not_applicable
        );
    }

    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &report.requirements {
        *by_status.entry(r.status.as_str()).or_default() += 1;
    }
    let summary: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let _ = writeln!(
        out,
        "\nRequirements: {} ({} in all).\n",
        summary.join(", "),
        report.requirements.len()
    );

    if !v.reasons.is_empty() {
        out.push_str("### Why L4 fails\n\n");
        for reason in &v.reasons {
            let _ = writeln!(out, "- {}", md(reason));
        }
        out.push('\n');
    }

    let failed: Vec<_> = report
        .requirements
        .iter()
        .filter(|r| r.status == RequirementStatus::Fail)
        .collect();
    if !failed.is_empty() {
        out.push_str("### Failed requirements\n\n");
        out.push_str(
            "| requirement | level | binding | failing vectors |\n| --- | --- | --- | --- |\n",
        );
        for r in failed {
            let failing: Vec<String> = report
                .vectors
                .iter()
                .filter(|x| r.vectors.contains(&x.id) && x.status.is_failure())
                .map(|x| {
                    let known = if x.expected_failure.is_some() {
                        ", known"
                    } else {
                        ""
                    };
                    format!("{} ({}{known})", md(&x.id), x.status.as_str())
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                md(&r.id),
                r.level.as_str(),
                md(&r.binding),
                failing.join(", ")
            );
        }
        out.push('\n');
    }

    if !v.warnings.is_empty() {
        let _ = writeln!(out, "### Warnings ({})\n", v.warnings.len());
        for w in &v.warnings {
            let _ = writeln!(out, "- {}", md(w));
        }
        out.push('\n');
    }

    let failing: Vec<&VectorResult> = report
        .vectors
        .iter()
        .filter(|x| x.status.is_failure())
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Failed vectors ({})</summary>\n",
            failing.len()
        );
        for x in failing.iter().take(MAX_LISTED_FAILURES) {
            let known = x
                .expected_failure
                .as_deref()
                .map(|k| format!(" (known failure: {})", md(k)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- **{}** {} `{}`{known}: {}",
                md(&x.id),
                md(&x.path),
                x.status.as_str(),
                md(x.reason.as_deref().unwrap_or("")),
            );
            if let Some(last) = x.transcript.last() {
                out.push('\n');
                for line in code_block("sh", &truncate(&last.curl, MAX_CURL_CHARS, "cut")).lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
        if failing.len() > MAX_LISTED_FAILURES {
            let _ = writeln!(
                out,
                "- … and {} more (see report.html)",
                failing.len() - MAX_LISTED_FAILURES
            );
        }
        out.push_str("\n</details>\n\n");
    }

    let untested: Vec<_> = report
        .requirements
        .iter()
        .filter(|r| r.status == RequirementStatus::Untested)
        .collect();
    if !untested.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Untested requirements ({})</summary>\n",
            untested.len()
        );
        out.push_str("| requirement | level | why |\n| --- | --- | --- |\n");
        for r in untested {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                md(&r.id),
                r.level.as_str(),
                md(r.untested_reason.as_deref().unwrap_or(""))
            );
        }
        out.push_str("\n</details>\n\n");
    }

    if let Some(f) = &report.fuzz {
        fuzz_section(&mut out, f);
    }

    match report.proof.as_ref().and_then(proof_signer) {
        Some(did) => {
            let _ = writeln!(
                out,
                "Signed by {}; check with `oap-conform verify-report report.json`.",
                md(did)
            );
        }
        None => out.push_str("This summary is not signed; `report.json` is the signed record.\n"),
    }
    out
}

/// The `fuzz` member (`oap-conform run --fuzz-requests N`): counts and findings.
fn fuzz_section(out: &mut String, f: &serde_json::Value) {
    let n = |k: &str| f.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let rate = f
        .get("requests_per_second")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(0.0);
    let findings = f
        .get("findings")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "### Fuzzing: {} findings\n\n{} mutated requests ({rate} requests/s, seed {}): {} must be refused, {} accepted, {} session probes.\n",
        findings.len(),
        n("requests"),
        n("seed"),
        n("must_reject"),
        n("accepted"),
        n("probes")
    );
    for x in findings {
        let s = |k: &str| x.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
        let _ = writeln!(
            out,
            "- **{}** `{}`: {}",
            md(s("id")),
            md(s("kind")),
            md(s("detail"))
        );
    }
    if !findings.is_empty() {
        out.push('\n');
    }
}
