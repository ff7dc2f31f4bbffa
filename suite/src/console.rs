//! What `oap-conform run` prints: a progress bar on a terminal or one plain
//! line per vector otherwise, and the closing summary (counts, failures with
//! their reasons, known and stale expectations, the verdict and its reasons).
//! Output goes through [`say`] so that a closed pipe (`| head`) ends the
//! printing quietly instead of panicking.

use std::io::IsTerminal as _;
use std::sync::Arc;

use oap_conform::run::{RunOutput, counts};
use oap_conform::runner::{Progress, VectorRun};

/// Prints a line on standard output; a closed pipe (`| head`) is not an error.
pub fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// A progress bar on a terminal, plain lines otherwise.
pub fn progress_reporter(total: usize) -> (Progress, Option<indicatif::ProgressBar>) {
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let b = bar.clone();
        let p: Progress = Arc::new(move |r: &VectorRun| {
            if r.status.is_failure() {
                b.println(format!("{:<14} {}", r.status.as_str(), r.path));
            }
            b.set_message(r.path.clone());
            b.inc(1);
        });
        (p, Some(bar))
    } else {
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let p: Progress = Arc::new(move |r: &VectorRun| {
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            eprintln!(
                "[{n:>4}/{total}] {:<14} {} ({} ms)",
                r.status.as_str(),
                r.path,
                r.duration.as_millis()
            );
        });
        (p, None)
    }
}

/// Progress of a stress run of `ops` operations: a bar on a terminal, otherwise a plain line
/// at every tenth of the budget.
pub fn stress_progress(
    ops: usize,
) -> (
    oap_conform::concurrency::workload::Progress,
    Option<indicatif::ProgressBar>,
) {
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(ops as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} ops {elapsed} {per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let b = bar.clone();
        (Arc::new(move || b.inc(1)), Some(bar))
    } else {
        let step = (ops / 10).max(1);
        let start = std::time::Instant::now();
        let p = Arc::new(move || {
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if n.is_multiple_of(step) {
                eprintln!(
                    "[{n:>8}/{ops}] operations, {:.1} s",
                    start.elapsed().as_secs_f64()
                );
            }
        });
        (p, None)
    }
}

pub fn print_summary(output: &RunOutput, report: &std::path::Path) {
    let r = &output.report;
    let line: Vec<String> = counts(r)
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    say(&format!("\nvectors: {}", line.join(", ")));
    for v in r.vectors.iter().filter(|v| v.status.is_failure()) {
        let known = v
            .expected_failure
            .as_deref()
            .map(|k| format!(" [known: {k}]"))
            .unwrap_or_default();
        say(&format!(
            "  {} {}: {}{known}",
            v.status.as_str(),
            v.path,
            v.reason.as_deref().unwrap_or("")
        ));
    }
    for s in &output.expectations.stale {
        say(&format!(
            "  stale expectation: {s} passes; remove it from the expectations file"
        ));
    }
    say(&format!(
        "verdict {}: {}",
        r.verdict.level,
        r.verdict.result.as_str().to_uppercase()
    ));
    for reason in r.verdict.reasons.iter().take(20) {
        say(&format!("  - {reason}"));
    }
    if r.verdict.reasons.len() > 20 {
        say(&format!(
            "  … {} more in the report",
            r.verdict.reasons.len() - 20
        ));
    }
    if !r.verdict.warnings.is_empty() {
        say(&format!(
            "{} warning(s); see the report",
            r.verdict.warnings.len()
        ));
    }
    say(&format!("report: {}", report.display()));
}
