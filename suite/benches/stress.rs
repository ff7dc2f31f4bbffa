//! Throughput of `stress` against the bundled reference Tool, started in process.
//!
//! `cargo bench -p oap-conform --bench stress` starts `oap-ref` on a loopback port with a fresh
//! store, then runs the stress workload three times for each client count (8 clients on one
//! session, 32 clients over four sessions), 3,000 operations each, and prints the operations
//! per second of each run (recorded operations over the time from releasing the clients to the
//! end of the final log and state reads), the outcome mix, and whether the checkers passed.
//! The client and the Tool share the machine. Pass `CLIENTS:OPS` arguments to time other
//! shapes.

use std::net::SocketAddr;

use oap_conform::concurrency::stress;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let shapes: Vec<(usize, usize)> = std::env::args()
        .skip(1)
        .filter_map(|a| {
            let (c, o) = a.split_once(':')?;
            Some((c.parse().ok()?, o.parse().ok()?))
        })
        .collect();
    let shapes = if shapes.is_empty() {
        vec![(8, 3_000), (32, 3_000)]
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
    for (clients, ops) in shapes {
        let mut rates = Vec::new();
        for seed in 1..=3u64 {
            match stress(&running.url, clients, ops, seed, None).await {
                Ok(s) => {
                    println!(
                        "{clients} clients, {} sessions, seed {seed}: {} ops in {:.2} s = {:.0} ops/s; \
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
                Err(e) => println!("{clients} clients, seed {seed}: {e}"),
            }
        }
        println!("{clients} clients: median {:.0} ops/s", median(rates));
    }
    running.shutdown().await;
}
