//! `--seed N` drives everything random in a run: two runs with the same seed
//! against fresh bundled Tools sign with the same identities and nonces, issue
//! the same credentials' subjects, and record the seed; another seed gives
//! other identities.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../src/bundled.rs"]
#[allow(dead_code)]
mod bundled;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use oap_conform::client::ClientConfig;
use oap_conform::report::VerdictResult;
use oap_conform::run::{RunOptions, execute, prepare};
use oap_conform::target::{HttpTarget, Target};
use oap_conform::vector::{self, Binding};
use regex::Regex;

/// What a run's requests reveal of its randomness, per vector path: every
/// DID (signers and credential parties) and every signature nonce, in order.
type Drawn = BTreeMap<String, Vec<String>>;

async fn run_with_seed(seed: u64) -> (Drawn, u64, String) {
    let set = vector::load(&vector::default_root()).unwrap();
    let tool = bundled::Bundled::start(oap_ref::FaultSet::none())
        .await
        .unwrap();
    let target: Arc<dyn Target> =
        Arc::new(HttpTarget::new(&tool.url, Some(Arc::clone(&tool.restart))).unwrap());
    let ctx = prepare(
        target,
        ClientConfig::default(),
        &set,
        Duration::from_secs(60),
        seed,
    )
    .await
    .unwrap();
    let run_id = ctx.run_id.clone();
    let opts = RunOptions {
        bindings: vec![Binding::Oap],
        // Admissions, revocations and handoffs: several actors and credentials.
        filter: Some("oap/authority/00*".into()),
        jobs: 4,
        vector_timeout: Duration::from_secs(60),
    };
    let (catalogue, digest) =
        oap_conform::run::load_catalogue(&oap_conform::run::default_catalogue()).unwrap();
    let out = execute(ctx, &set, &catalogue, digest, &opts, None, None).await;
    tool.shutdown().await;
    assert_eq!(out.report.verdict.result, VerdictResult::Pass);
    let did = Regex::new(r"did:key:z[1-9A-HJ-NP-Za-km-z]+").unwrap();
    let nonce = Regex::new(r#"nonce="([^"]+)""#).unwrap();
    let mut drawn = Drawn::new();
    for run in &out.runs {
        let seen = drawn.entry(run.path.clone()).or_default();
        for r in &run.records {
            for (name, value) in &r.request.headers {
                if name.eq_ignore_ascii_case("signature-input") {
                    seen.extend(did.find_iter(value).map(|m| m.as_str().to_owned()));
                    seen.extend(nonce.captures_iter(value).map(|c| c[1].to_owned()));
                }
            }
            let body = String::from_utf8_lossy(r.request.body.as_deref().unwrap_or_default());
            seen.extend(did.find_iter(&body).map(|m| m.as_str().to_owned()));
        }
    }
    assert!(drawn.len() >= 3, "the filter selects several vectors");
    assert!(drawn.values().all(|v| !v.is_empty()));
    (drawn, out.report.seed, run_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_identities_and_nonces() {
    let (a, seed_a, run_a) = run_with_seed(1234).await;
    let (b, seed_b, run_b) = run_with_seed(1234).await;
    let (c, _, _) = run_with_seed(1235).await;
    assert_eq!(
        (seed_a, seed_b),
        (1234, 1234),
        "the report records the seed"
    );
    assert_eq!(a, b, "same seed, same identities and nonces");
    // The run id's random part is seeded; its time part is the current time.
    assert_eq!(run_a[10..], run_b[10..]);
    for (path, drawn) in &a {
        let other = &c[path];
        assert!(
            drawn.iter().all(|x| !other.contains(x)),
            "{path}: another seed shares an identity or nonce"
        );
    }
}
