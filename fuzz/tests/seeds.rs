//! The committed seeds (`fuzz/seeds/`) are exactly what `oap_fuzz::seeds::generate` makes, and
//! every seed passes its target's property. `OAP_FUZZ_BLESS=1` rewrites the committed seeds.

use std::collections::BTreeMap;
use std::fs;

use arbitrary::{Arbitrary, Unstructured};
use oap_fuzz::engine_model::EngineInput;
use oap_fuzz::generate::envelope::EnvelopeInput;
use oap_fuzz::generate::signed::{ChainInput, ProofInput, SigInput};
use oap_fuzz::{seeds, targets};

fn committed() -> BTreeMap<String, BTreeMap<String, Vec<u8>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    let Ok(dirs) = fs::read_dir(seeds::seeds_dir()) else {
        return out;
    };
    for dir in dirs.flatten() {
        let target = dir.file_name().to_string_lossy().into_owned();
        for file in fs::read_dir(dir.path()).into_iter().flatten().flatten() {
            let data = fs::read(file.path()).unwrap_or_default();
            out.entry(target.clone())
                .or_default()
                .insert(file.file_name().to_string_lossy().into_owned(), data);
        }
    }
    out
}

/// Targets whose seeds come from the suite's own vectors (`vectors/`), which change with the
/// suite: their committed seeds are a snapshot (regenerate with `OAP_FUZZ_BLESS=1`), not
/// compared with a fresh generation, and [`every_committed_seed_passes`] runs them.
const SNAPSHOT_TARGETS: &[&str] = &["oap_ref_amp_message", "vector_file", "tool_response"];

#[test]
fn seeds_are_current() {
    let fresh = seeds::generate().unwrap_or_else(|e| panic!("cannot generate seeds: {e}"));
    let fresh: BTreeMap<String, BTreeMap<String, Vec<u8>>> =
        fresh.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    if std::env::var_os("OAP_FUZZ_BLESS").is_some() {
        let dir = seeds::seeds_dir();
        let _ = fs::remove_dir_all(&dir);
        for (target, files) in &fresh {
            fs::create_dir_all(dir.join(target)).unwrap_or_else(|e| panic!("{e}"));
            for (name, data) in files {
                fs::write(dir.join(target).join(name), data).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        return;
    }
    let committed = committed();
    for (target, files) in &fresh {
        if SNAPSHOT_TARGETS.contains(&target.as_str()) {
            continue;
        }
        for (name, data) in files {
            let have = committed.get(target).and_then(|f| f.get(name));
            assert!(
                have == Some(data),
                "fuzz/seeds/{target}/{name} is missing or stale; run \
                 OAP_FUZZ_BLESS=1 cargo test --manifest-path fuzz/Cargo.toml --test seeds"
            );
        }
    }
    for (target, files) in &committed {
        if SNAPSHOT_TARGETS.contains(&target.as_str()) {
            continue;
        }
        for name in files.keys() {
            assert!(
                fresh.get(target).is_some_and(|f| f.contains_key(name)),
                "fuzz/seeds/{target}/{name} is no longer generated; run \
                 OAP_FUZZ_BLESS=1 cargo test --manifest-path fuzz/Cargo.toml --test seeds"
            );
        }
    }
}

fn run(target: &str, data: &[u8]) {
    let typed = |u: Unstructured<'_>| -> bool {
        match target {
            "envelope_structured" => EnvelopeInput::arbitrary_take_rest(u)
                .map(|i| targets::envelope_structured(&i))
                .is_ok(),
            "oap_ref_envelope" => EnvelopeInput::arbitrary_take_rest(u)
                .map(|i| targets::oap_ref_envelope(&i))
                .is_ok(),
            "httpsig_headers" => SigInput::arbitrary_take_rest(u)
                .map(|i| targets::httpsig_headers(&i))
                .is_ok(),
            "credential_proof" => ProofInput::arbitrary_take_rest(u)
                .map(|i| targets::credential_proof(&i))
                .is_ok(),
            "receipt_chain" => ChainInput::arbitrary_take_rest(u)
                .map(|i| targets::receipt_chain(&i))
                .is_ok(),
            "engine_model" => EngineInput::arbitrary_take_rest(u)
                .map(|i| targets::engine_model(&i))
                .is_ok(),
            _ => false,
        }
    };
    match target {
        "strict_json" => targets::strict_json(data),
        "didkey" => targets::didkey(data),
        "ids" => targets::ids(data),
        "content_digest" => targets::content_digest(data),
        "oap_ref_amp_message" => targets::oap_ref_amp_message(data),
        "vector_file" => targets::vector_file(data),
        "tool_response" => targets::tool_response(data),
        _ => {
            typed(Unstructured::new(data));
        }
    }
}

#[test]
fn every_seed_passes() {
    let fresh = seeds::generate().unwrap_or_else(|e| panic!("cannot generate seeds: {e}"));
    for (target, files) in fresh {
        for data in files.values() {
            run(target, data);
        }
    }
}

#[test]
fn every_committed_seed_passes() {
    for (target, files) in committed() {
        for data in files.values() {
            run(&target, data);
        }
    }
}
