//! Replays every input the fuzzers recorded (`tests/fuzz-regressions/<target>/<name>`) through
//! the property its fuzz target checks, without cargo-fuzz.
//!
//! The properties are the fuzz workspace's own (`fuzz/src/oracle/`, included here by path), so
//! a regression runs exactly the code the target ran. A file holds the raw input for the targets
//! that read raw bytes (`strict_json`, `didkey`, `ids`, `content_digest`) and the case as JSON
//! for the structure-aware ones (what the target's `Debug` prints); `fuzz/add-regression.sh
//! TARGET ARTIFACT NAME` writes either. Every file is replayed, and a failure names its files.

#[path = "../../../fuzz/src/oracle/mod.rs"]
#[allow(dead_code)]
mod oracle;

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn regressions() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut out = Vec::new();
    for target in oracle::TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        out.extend(files.into_iter().map(|f| ((*target).to_owned(), f)));
    }
    out
}

#[test]
fn every_recorded_fuzz_input_passes() {
    let mut failures = Vec::new();
    let all = regressions();
    for (target, file) in &all {
        let name = format!(
            "{target}/{}",
            file.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        let data = match std::fs::read(file) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{name}: unreadable: {e}"));
                continue;
            }
        };
        match panic::catch_unwind(AssertUnwindSafe(|| oracle::replay(target, &data))) {
            Ok(Ok(())) => eprintln!("ok   {name}"),
            Ok(Err(e)) => failures.push(format!("{name}: {e}")),
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                failures.push(format!("{name}: {msg}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} recorded fuzz inputs fail:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn only_known_targets_have_regressions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            oracle::TARGETS.contains(&name.as_str()),
            "tests/fuzz-regressions/{name} is not a fuzz target this test replays"
        );
    }
}
