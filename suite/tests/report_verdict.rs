//! The L4 verdict rule: requirement statuses from vector statuses, MUST
//! failures and gaps as reasons, SHOULD and MAY as warnings, per binding.
#![allow(clippy::unwrap_used)]

#[path = "report_support.rs"]
mod support;

use oap_conform::report::{
    Level, RequirementStatus, Status, Testable, VerdictResult, compute_requirements_and_verdict,
};
use support::{req, vector};

fn status_of(results: &[oap_conform::report::RequirementResult], id: &str) -> RequirementStatus {
    results.iter().find(|r| r.id == id).unwrap().status
}

#[test]
fn all_must_pass_is_a_pass() {
    let reqs = [req("A", Level::Must, "oap", Testable::Yes)];
    let vs = [
        vector("v1", "oap", &["A"], Status::Pass),
        vector("v2", "oap", &["A"], Status::NotApplicable),
    ];
    let (results, verdict) = compute_requirements_and_verdict(&vs, &reqs);
    assert_eq!(status_of(&results, "A"), RequirementStatus::Pass);
    assert_eq!(results[0].vectors, ["v1", "v2"]);
    assert_eq!(verdict.result, VerdictResult::Pass);
    assert!(verdict.reasons.is_empty());
    assert_eq!(verdict.level, "L4");
}

#[test]
fn a_failing_or_erroring_vector_fails_its_must() {
    for bad in [Status::Fail, Status::Error] {
        let reqs = [req("A", Level::Must, "oap", Testable::Yes)];
        let vs = [
            vector("v1", "oap", &["A"], Status::Pass),
            vector("v2", "oap", &["A"], bad),
        ];
        let (results, verdict) = compute_requirements_and_verdict(&vs, &reqs);
        assert_eq!(status_of(&results, "A"), RequirementStatus::Fail);
        assert_eq!(verdict.result, VerdictResult::Fail);
        assert_eq!(verdict.reasons.len(), 1);
        assert!(
            verdict.reasons[0].starts_with("A (MUST): failed by v2"),
            "{:?}",
            verdict.reasons
        );
    }
}

#[test]
fn all_not_applicable_is_not_applicable_and_does_not_fail() {
    let reqs = [req("A", Level::Must, "oap", Testable::Yes)];
    let vs = [vector("v1", "oap", &["A"], Status::NotApplicable)];
    let (results, verdict) = compute_requirements_and_verdict(&vs, &reqs);
    assert_eq!(status_of(&results, "A"), RequirementStatus::NotApplicable);
    assert_eq!(verdict.result, VerdictResult::Pass);
}

#[test]
fn an_uncovered_testable_must_fails_but_an_untestable_one_does_not() {
    let reqs = [
        req("A", Level::Must, "oap", Testable::Yes),
        req(
            "B",
            Level::Must,
            "oap",
            Testable::No("needs the store".into()),
        ),
        req("C", Level::Must, "oap", Testable::Yes),
    ];
    let vs = [vector("v1", "oap", &["C"], Status::Pass)];
    let (results, verdict) = compute_requirements_and_verdict(&vs, &reqs);
    assert_eq!(status_of(&results, "A"), RequirementStatus::Untested);
    assert!(
        results[0]
            .untested_reason
            .as_deref()
            .unwrap()
            .starts_with("uncovered")
    );
    assert_eq!(status_of(&results, "B"), RequirementStatus::Untested);
    assert_eq!(
        results[1].untested_reason.as_deref(),
        Some("not testable: needs the store")
    );
    assert_eq!(verdict.result, VerdictResult::Fail);
    assert_eq!(verdict.reasons.len(), 1);
    assert!(verdict.reasons[0].contains("uncovered"));
}

#[test]
fn a_must_whose_vectors_were_all_skipped_is_untested_and_fails() {
    let reqs = [req("A", Level::Must, "oap", Testable::Yes)];
    let vs = [
        vector("v1", "oap", &["A"], Status::Skip),
        vector("v2", "oap", &["A"], Status::NotApplicable),
    ];
    let (results, verdict) = compute_requirements_and_verdict(&vs, &reqs);
    assert_eq!(status_of(&results, "A"), RequirementStatus::Untested);
    assert_eq!(verdict.result, VerdictResult::Fail);
    assert!(verdict.reasons[0].contains("skipped (needs --restart-cmd)"));
}

#[test]
fn a_partly_skipped_must_passes_with_a_warning() {
    let reqs = [req("A", Level::Must, "oap", Testable::Yes)];
    let vs = [
        vector("v1", "oap", &["A"], Status::Pass),
        vector("v2", "oap", &["A"], Status::Skip),
    ];
    let (_, verdict) = compute_requirements_and_verdict(&vs, &reqs);
    assert_eq!(verdict.result, VerdictResult::Pass);
    assert_eq!(verdict.warnings.len(), 1);
}

#[test]
fn should_failures_are_warnings_and_may_never_fails() {
    let reqs = [
        req("S", Level::Should, "oap", Testable::Yes),
        req("M", Level::May, "oap", Testable::Yes),
        req("U", Level::Should, "oap", Testable::Yes),
        req("N", Level::May, "oap", Testable::Yes),
    ];
    let vs = [
        vector("v1", "oap", &["S"], Status::Fail),
        vector("v2", "oap", &["M"], Status::Error),
    ];
    let (results, verdict) = compute_requirements_and_verdict(&vs, &reqs);
    assert_eq!(status_of(&results, "S"), RequirementStatus::Fail);
    assert_eq!(status_of(&results, "M"), RequirementStatus::Fail);
    assert_eq!(verdict.result, VerdictResult::Pass);
    // S failed, M failed (marked as not affecting the verdict), U uncovered;
    // N is an uncovered MAY and says nothing.
    assert_eq!(verdict.warnings.len(), 3, "{:?}", verdict.warnings);
    assert!(
        verdict
            .warnings
            .iter()
            .any(|w| w.contains("MAY: does not affect"))
    );
}

#[test]
fn a_known_failure_still_fails_the_verdict() {
    let reqs = [req("A", Level::Must, "oap", Testable::Yes)];
    let mut v = vector("v1", "oap", &["A"], Status::Fail);
    v.expected_failure = Some("tracked".into());
    let (_, verdict) = compute_requirements_and_verdict(&[v], &reqs);
    assert_eq!(verdict.result, VerdictResult::Fail);
    assert!(verdict.reasons[0].contains("v1 (fail, known)"));
}

#[test]
fn unknown_requirement_ids_and_empty_catalogues_are_reported() {
    let reqs = [req("A", Level::Must, "oap", Testable::Yes)];
    let vs = [vector("v1", "oap", &["A", "ZZZ", "A"], Status::Pass)];
    let (results, verdict) = compute_requirements_and_verdict(&vs, &reqs);
    assert_eq!(results[0].vectors, ["v1"], "a duplicated ID counts once");
    assert_eq!(verdict.result, VerdictResult::Pass);
    assert!(verdict.warnings.iter().any(|w| w.contains("ZZZ")));

    let (_, empty) = compute_requirements_and_verdict(&vs, &[]);
    assert_eq!(
        empty.result,
        VerdictResult::Fail,
        "nothing judged is not a pass"
    );
}

#[test]
fn verdicts_by_binding_judge_each_binding_alone() {
    let report = support::sample_report();
    assert_eq!(report.verdict.result, VerdictResult::Fail);
    let oap = &report.verdicts_by_binding["oap"];
    let amp = &report.verdicts_by_binding["amp"];
    assert_eq!(oap.result, VerdictResult::Fail);
    assert!(
        oap.reasons
            .iter()
            .any(|r| r.starts_with("OAP-3.2-2 (MUST)"))
    );
    assert!(
        oap.reasons
            .iter()
            .any(|r| r.starts_with("OAP-5-1 (MUST): uncovered"))
    );
    assert!(!oap.reasons.iter().any(|r| r.starts_with("AMP-")));
    assert_eq!(amp.result, VerdictResult::Fail);
    assert_eq!(amp.reasons.len(), 1, "{:?}", amp.reasons);
    assert!(amp.reasons[0].starts_with("AMP-4-2 (MUST)"));
    // The shared requirement is judged from each binding's own vectors.
    assert_eq!(report.requirements.len(), support::catalogue().len());

    let passing = support::passing_report();
    assert_eq!(
        passing.verdict.result,
        VerdictResult::Pass,
        "{:?}",
        passing.verdict
    );
    assert!(
        passing
            .verdicts_by_binding
            .values()
            .all(|v| v.result == VerdictResult::Pass)
    );
}

#[test]
fn the_repository_catalogue_loads_when_present() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/requirements.json");
    if !path.exists() {
        eprintln!("no {} yet; nothing to check", path.display());
        return;
    }
    let catalogue = oap_conform::report::load_requirements(&path).unwrap();
    assert!(!catalogue.is_empty());
    assert!(catalogue.iter().all(|r| r.binding == "oap"
        || r.binding == "amp"
        || oap_conform::report::requirements::ALL_BINDINGS.contains(&r.binding.as_str())));
}
