//! Times the concurrency checker on generated histories and reports its memory.
//!
//! `cargo bench -p oap-conform --bench checker` generates a linearizable history of 100,000
//! and one of 1,000,000 operations (16 clients, every operation overlapping about 16 others),
//! checks each five times and prints the median wall-clock and CPU time of the check, the
//! resident memory of the history, the peak resident memory of the process during the checks
//! (`VmHWM`, reset after generating the history) and the checker's share of it, and the ratio
//! between the two sizes (10 for linear scaling). CPU time is the check thread's own
//! (`/proc/thread-self/schedstat`), which stays meaningful on a shared, loaded machine where
//! wall-clock time does not. Pass operation counts as arguments to time other sizes.

use std::time::Instant;

use oap_conform::concurrency::check;
use oap_conform::concurrency::synth::{SynthConfig, synthesize};

/// A field of `/proc/self/status`, in kB.
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time of the calling thread, in seconds.
fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|n| n.parse::<f64>().ok())
        })
        .map_or(0.0, |ns| ns / 1e9)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

struct Run {
    ops: usize,
    wall: f64,
    cpu: f64,
}

fn run(ops: usize) -> Run {
    let before = status_kb("VmRSS:");
    let cfg = SynthConfig {
        clients: 16,
        ops,
        keep_values: false,
        ..SynthConfig::default()
    };
    let t = Instant::now();
    let history = synthesize(42, &cfg);
    let generated = t.elapsed().as_secs_f64();
    let history_kb = status_kb("VmRSS:").saturating_sub(before);
    // Reset the peak to the current size, so the next peak is the checker's own.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let resident = status_kb("VmRSS:");
    let (mut walls, mut cpus) = (Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..5 {
        let (t, c) = (Instant::now(), thread_cpu());
        let report = check(&history);
        cpus.push(thread_cpu() - c);
        walls.push(t.elapsed().as_secs_f64());
        last = Some(report);
    }
    let (wall, cpu) = (median(walls), median(cpus));
    println!(
        "{} operations (generated in {generated:.2} s)",
        history.ops.len()
    );
    if let Some(r) = last {
        println!(
            "  verdict: {}; {} overlapping pairs ({} of turns), up to {} in flight; \
             {} acknowledged, {} conflicts, {} duplicates, {} indeterminate ({} applied), \
             {} receipts served",
            if r.is_valid() { "valid" } else { "INVALID" },
            r.overlap.pairs,
            r.overlap.turn_pairs,
            r.overlap.max_in_flight,
            r.stats.acknowledged,
            r.stats.conflicts,
            r.stats.duplicates,
            r.stats.indeterminate,
            r.stats.indeterminate_applied,
            r.stats.receipts_seen,
        );
    }
    println!("  check, median of 5: {wall:.3} s wall, {cpu:.3} s CPU");
    let peak = status_kb("VmHWM:");
    println!(
        "  memory: history {:.0} MiB resident; peak during the checks (VmHWM) {:.0} MiB, \
         of which the checker's own {}",
        history_kb as f64 / 1024.0,
        peak as f64 / 1024.0,
        if reset {
            format!("{:.0} MiB", peak.saturating_sub(resident) as f64 / 1024.0)
        } else {
            "unknown (VmHWM could not be reset)".to_owned()
        }
    );
    drop(history);
    Run { ops, wall, cpu }
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100_000, 1_000_000]
    } else {
        sizes
    };
    let runs: Vec<Run> = sizes.into_iter().map(run).collect();
    if let [small, large] = &runs[..] {
        let n = large.ops as f64 / small.ops as f64;
        println!(
            "scaling {}x operations: {:.1}x wall, {:.1}x CPU (linear = {n:.0}x)",
            n,
            large.wall / small.wall,
            large.cpu / small.cpu
        );
    }
}
