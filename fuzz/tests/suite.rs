//! The properties of the targets over the suite (`vector_file`, `tool_response`) hold on the
//! suite's own vectors, and are not vacuous: the round trip runs on every vector file, and the
//! judged answers include passes (whose predicates the target restates) as well as failures.

use oap_conform::client::InResponse;
use oap_fuzz::suite;

#[test]
fn every_vector_file_loads_and_round_trips() {
    let root = oap_conform::vector::default_root();
    let files = suite::vector_files();
    assert!(files.len() > 300, "only {} vector files", files.len());
    for (path, binding, _) in files {
        let bytes = std::fs::read(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            suite::load_round_trip(*binding, &bytes).is_some(),
            "{path} is refused by the loader under its own binding"
        );
    }
}

#[test]
fn a_vector_under_the_other_binding_is_refused() {
    let root = oap_conform::vector::default_root();
    let (path, binding, _) = &suite::vector_files()[0];
    let bytes = std::fs::read(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let other = match binding {
        oap_conform::vector::Binding::Oap => oap_conform::vector::Binding::Amp,
        oap_conform::vector::Binding::Amp => oap_conform::vector::Binding::Oap,
    };
    assert!(suite::load_round_trip(other, &bytes).is_none());
}

fn committed_step_seeds() -> Vec<Vec<u8>> {
    let dir = oap_fuzz::seeds::seeds_dir().join("tool_response");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("step-"))
        .map(|e| {
            let data = std::fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), data)
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, d)| d).collect()
}

/// Many step seeds pass their step (the target's restated predicates run on them; the others
/// fail on what an expected view of an empty body cannot give: schemas, types, regexes); none
/// passes with a status no outcome accepts.
#[test]
fn step_seeds_pass_and_a_wrong_status_never_does() {
    let seeds = committed_step_seeds();
    assert!(seeds.len() > 100, "only {} step seeds", seeds.len());
    let mut passed = 0;
    for data in &seeds {
        let input = suite::split_response(data);
        let step = suite::pick_step(input.step);
        assert_eq!(
            format!("{} {}", step.vector, step.index),
            input.step,
            "a seed names a step that is gone; bless the seeds"
        );
        if suite::judge_response(&step.outcomes, &input.response).is_some() {
            passed += 1;
        }
        let wrong = InResponse {
            status: 599,
            ..input.response.clone()
        };
        assert_eq!(suite::judge_response(&step.outcomes, &wrong), None);
    }
    assert!(
        passed * 5 > seeds.len(),
        "only {passed} of {} step seeds pass their step",
        seeds.len()
    );
}

#[test]
fn split_and_join_are_inverse() {
    let resp = InResponse {
        status: 409,
        headers: vec![
            ("content-type".into(), "application/problem+json".into()),
            ("x-a".into(), "1".into()),
        ],
        body: b"{\"code\":\"version_conflict\"}\n\n{}".to_vec(),
    };
    let data = suite::join_response("oap.lifecycle.001 2", &resp);
    let input = suite::split_response(&data);
    assert_eq!(input.step, "oap.lifecycle.001 2");
    assert_eq!(input.response, resp);
}
