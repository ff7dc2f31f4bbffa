//! Replays the recorded inputs of the targets over the reference Tool and over the suite
//! (`fuzz/regressions/<target>/`), which `oap-wire`'s own replay
//! (`suite/wire/tests/fuzz_regressions.rs`) cannot reach: each file is the case as JSON, as the
//! target's `Debug` prints it, or for the raw-byte targets (`oap_ref_amp_message`,
//! `vector_file`, `tool_response`) the input itself (`fuzz/add-regression.sh`).

use std::path::Path;

use oap_fuzz::oracle::json::EnvelopeCase;
use oap_fuzz::reference;

/// The recorded inputs of `target`, sorted (dot files skipped).
fn recorded(target: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_recorded_reference_input_passes() {
    for file in recorded("oap_ref_envelope") {
        let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let case: EnvelopeCase = serde_json::from_slice(&data)
            .unwrap_or_else(|e| panic!("{}: not a recorded case: {e}", file.display()));
        reference::envelope_verdict(&case.body.0);
    }
}

/// `oap_ref_amp_message` reads raw bytes: each file is the input itself.
#[test]
fn every_recorded_amp_message_passes() {
    for file in recorded("oap_ref_amp_message") {
        let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        oap_fuzz::targets::oap_ref_amp_message(&data);
    }
}

/// The raw-byte targets over the suite (`vector_file`, `tool_response`): each file is the input.
#[test]
fn every_recorded_suite_input_passes() {
    let mut replayed = 0;
    for (target, run) in [
        ("vector_file", oap_fuzz::targets::vector_file as fn(&[u8])),
        ("tool_response", oap_fuzz::targets::tool_response),
    ] {
        for file in recorded(target) {
            let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            run(&data);
            replayed += 1;
        }
    }
    assert!(
        replayed > 0,
        "no recorded input of the suite's targets found"
    );
}
