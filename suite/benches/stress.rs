//! Throughput of `stress` against the bundled reference Tool, started in process.
//!
//! `cargo bench -p oap-conform --bench stress` starts `oap-ref` on a loopback port with a fresh
//! store, then runs the stress workload three times for each client count (8 clients on one
//! session, 32 clients over four sessions), 3,000 operations each, and prints the operations
//! per second of each run (recorded operations over the time from releasing the clients to the
//! end of the final log and state reads), the outcome mix, and whether the checkers passed.
//! Then the same for the AMP binding (`SESSION_MSG`s and `SESSION_STATE`s raced by the
//! participants of AMP sessions). The client and the Tool share the machine. Pass
//! `[oap:|amp:]CLIENTS:OPS` arguments to time other shapes.
//!
//! Before each stress run, a baseline runs in the same process against the same Tool: the same
//! number of clients each sending their share of the operations as unsigned `GET
//! /oap/manifest` requests through the suite's HTTP client, which measures the request round
//! trip of this machine with no signing, no verification and no durable write. The ratio of
//! the two medians says how much of the Tool's per-operation cost is the turn itself.

use std::net::SocketAddr;
use std::time::Instant;

use oap_conform::client::{ClientConfig, HttpClient, OutRequest};
use oap_conform::concurrency::{StressOptions, stress_with};
use oap_conform::vector::Binding;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

/// `clients` tasks sending `ops` unsigned manifest reads in all; requests per second.
async fn baseline(url: &str, clients: usize, ops: usize) -> Option<f64> {
    let http = HttpClient::new(ClientConfig::default()).ok()?;
    let per_client = ops.div_ceil(clients);
    let req = OutRequest {
        method: "GET".into(),
        url: format!("{url}/oap/manifest"),
        headers: Vec::new(),
        body: None,
    };
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (http, req) = (http.clone(), req.clone());
            tokio::spawn(async move {
                let mut ok = 0usize;
                for _ in 0..per_client {
                    if http.send(&req).await.is_ok_and(|r| r.status == 200) {
                        ok += 1;
                    }
                }
                ok
            })
        })
        .collect();
    let mut done = 0;
    for t in tasks {
        done += t.await.ok()?;
    }
    Some(done as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let shapes: Vec<(Binding, usize, usize)> = std::env::args()
        .skip(1)
        .filter_map(|a| {
            let (binding, rest) = match a.split_once(':') {
                Some(("amp", rest)) => (Binding::Amp, rest),
                Some(("oap", rest)) => (Binding::Oap, rest),
                _ => (Binding::Oap, a.as_str()),
            };
            let (c, o) = rest.split_once(':')?;
            Some((binding, c.parse().ok()?, o.parse().ok()?))
        })
        .collect();
    let shapes = if shapes.is_empty() {
        vec![
            (Binding::Oap, 8, 3_000),
            (Binding::Oap, 32, 3_000),
            (Binding::Amp, 8, 3_000),
            (Binding::Amp, 32, 3_000),
        ]
    } else {
        shapes
    };
    let Ok(dir) = tempfile::tempdir() else {
        eprintln!("cannot create a store directory");
        return;
    };
    let config = oap_ref::Config {
        data_dir: dir.path().to_path_buf(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..oap_ref::Config::default()
    };
    let running = match oap_ref::serve(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start oap-ref: {e}");
            return;
        }
    };
    for (binding, clients, ops) in shapes {
        let name = binding.as_str();
        let mut rates = Vec::new();
        let mut base = Vec::new();
        for seed in 1..=3u64 {
            if let Some(b) = baseline(&running.url, clients, ops).await {
                println!("{name}, {clients} clients, baseline run {seed}: {b:.0} requests/s");
                base.push(b);
            }
            let mut opts = StressOptions::new(&running.url, clients, ops, seed);
            opts.binding = binding;
            match stress_with(opts).await {
                Ok(s) => {
                    println!(
                        "{name}, {clients} clients, {} sessions, seed {seed}: {} ops in {:.2} s = {:.0} ops/s; \
                         {} acknowledged, {} conflicts, {} duplicates, {} refused, {} indeterminate; \
                         {} turn pairs overlapping; {}",
                        s.sessions,
                        s.ops,
                        s.elapsed.as_secs_f64(),
                        s.ops_per_sec,
                        s.acknowledged,
                        s.conflicts,
                        s.duplicates,
                        s.refused,
                        s.indeterminate,
                        s.overlap.turn_pairs,
                        if s.passed() { "passed" } else { "VIOLATIONS" },
                    );
                    rates.push(s.ops_per_sec);
                }
                Err(e) => println!("{name}, {clients} clients, seed {seed}: {e}"),
            }
        }
        let (r, b) = (median(rates), median(base));
        println!(
            "{name}, {clients} clients: median {r:.0} ops/s; baseline median {b:.0} requests/s; ratio {:.2}",
            r / b.max(1e-9)
        );
    }
    running.shutdown().await;
}
