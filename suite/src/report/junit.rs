//! `junit.xml`: the run as JUnit XML, for CI systems that show test results.
//!
//! One `<testsuite>` per binding, one `<testcase>` per vector, named by the
//! vector's path (as the trials of `cargo test` are) with classname
//! `binding.area` (`oap.envelope`): the dot lets dashboards that group by
//! package show bindings and areas as a tree. Each testcase lists the vector
//! id, its level and its requirement IDs as `<properties>`.
//!
//! Mapping of statuses, chosen so that a CI job reading only this file gates
//! exactly like the suite's exit code:
//!
//! | vector | JUnit |
//! | --- | --- |
//! | pass | passed |
//! | fail | `<failure>` with the transcript as text |
//! | error | `<error>` with the transcript as text |
//! | skip, not-applicable | `<skipped>` with the reason |
//! | fail or error listed in the expectations file | `<skipped message="known failure: …">`, transcript in `<system-out>` |
//! | pass listed in the expectations file | `<failure type="stale-expectation">` |
//!
//! Known failures still fail the L4 verdict; the verdict and its reasons are
//! the `<properties>` of each `<testsuite>`.

use std::fmt::Write as _;

use super::escape::{xml_attr, xml_text};
use super::model::{RunReport, Status, VectorResult};
use super::transcript::vector_text;

/// How a vector appears in JUnit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failure,
    Error,
    Skipped,
    KnownFailure,
    Stale,
}

fn outcome(v: &VectorResult) -> Outcome {
    match (v.status, v.expected_failure.is_some()) {
        (Status::Pass, false) => Outcome::Passed,
        (Status::Pass, true) => Outcome::Stale,
        (Status::Fail | Status::Error, true) => Outcome::KnownFailure,
        (Status::Fail, false) => Outcome::Failure,
        (Status::Error, false) => Outcome::Error,
        (Status::Skip | Status::NotApplicable, _) => Outcome::Skipped,
    }
}

/// `binding.area`, the area being the directory under the binding in the
/// vector's path (`oap/envelope/001-x.json` → `oap.envelope`).
pub fn classname(v: &VectorResult) -> String {
    let parts: Vec<&str> = v.path.split('/').collect();
    match parts.as_slice() {
        [_, area, _, ..] => format!("{}.{}", v.binding, area),
        _ => v.binding.clone(),
    }
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    ms: u64,
}

fn counts<'a>(vectors: impl Iterator<Item = &'a VectorResult>) -> Counts {
    let mut c = Counts::default();
    for v in vectors {
        c.tests += 1;
        c.ms += v.duration_ms;
        match outcome(v) {
            Outcome::Passed => {}
            Outcome::Failure | Outcome::Stale => c.failures += 1,
            Outcome::Error => c.errors += 1,
            Outcome::Skipped | Outcome::KnownFailure => c.skipped += 1,
        }
    }
    c
}

fn property(out: &mut String, indent: &str, name: &str, value: &str) {
    let _ = writeln!(
        out,
        "{indent}<property name=\"{}\" value=\"{}\"/>",
        xml_attr(name),
        xml_attr(value)
    );
}

/// Renders the whole report as JUnit XML.
pub fn render_junit(report: &RunReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let all = counts(report.vectors.iter());
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\" timestamp=\"{}\">",
        xml_attr(&format!("{} {}", report.suite.name, report.verdict.level)),
        all.tests,
        all.failures,
        all.errors,
        all.skipped,
        seconds(report.duration_ms),
        xml_attr(&report.started_at),
    );
    let mut bindings: Vec<&String> = report.bindings.iter().collect();
    for v in &report.vectors {
        if !bindings.contains(&&v.binding) {
            bindings.push(&v.binding);
        }
    }
    for binding in bindings {
        let vectors: Vec<&VectorResult> = report
            .vectors
            .iter()
            .filter(|v| &v.binding == binding)
            .collect();
        let c = counts(vectors.iter().copied());
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\" timestamp=\"{}\">",
            xml_attr(binding),
            c.tests,
            c.failures,
            c.errors,
            c.skipped,
            seconds(c.ms),
            xml_attr(&report.started_at),
        );
        out.push_str("    <properties>\n");
        property(&mut out, "      ", "target", &report.target.url);
        property(&mut out, "      ", "suite_version", &report.suite.version);
        property(&mut out, "      ", "seed", &report.seed.to_string());
        if let Some(verdict) = report.verdicts_by_binding.get(binding.as_str()) {
            property(&mut out, "      ", "verdict", verdict.result.as_str());
            for reason in &verdict.reasons {
                property(&mut out, "      ", "reason", reason);
            }
            for warning in &verdict.warnings {
                property(&mut out, "      ", "warning", warning);
            }
        }
        out.push_str("    </properties>\n");
        for v in vectors {
            testcase(&mut out, v);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn testcase(out: &mut String, v: &VectorResult) {
    let _ = writeln!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\">",
        xml_attr(&v.path),
        xml_attr(&classname(v)),
        seconds(v.duration_ms),
    );
    out.push_str("      <properties>\n");
    property(out, "        ", "id", &v.id);
    property(out, "        ", "level", v.level.as_str());
    property(out, "        ", "status", v.status.as_str());
    for r in &v.requirements {
        property(out, "        ", "requirement", r);
    }
    if let Some(known) = &v.expected_failure {
        property(out, "        ", "expected_failure", known);
    }
    out.push_str("      </properties>\n");
    let reason = v.reason.as_deref().unwrap_or("");
    match outcome(v) {
        Outcome::Passed => {}
        Outcome::Failure | Outcome::Error => {
            let tag = if v.status == Status::Error {
                "error"
            } else {
                "failure"
            };
            let _ = writeln!(
                out,
                "      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>",
                xml_attr(reason),
                v.status.as_str(),
                xml_text(&vector_text(v)),
            );
        }
        Outcome::Stale => {
            let message = format!(
                "stale expectation: the vector passes; remove it from the expectations file ({})",
                v.expected_failure.as_deref().unwrap_or("")
            );
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"stale-expectation\"/>",
                xml_attr(&message)
            );
        }
        Outcome::KnownFailure => {
            let message = format!(
                "known failure ({}): {}",
                v.expected_failure.as_deref().unwrap_or(""),
                reason
            );
            let _ = writeln!(out, "      <skipped message=\"{}\"/>", xml_attr(&message));
            let _ = writeln!(
                out,
                "      <system-out>{}</system-out>",
                xml_text(&vector_text(v))
            );
        }
        Outcome::Skipped => {
            let message = format!("{}: {}", v.status.as_str(), reason);
            let _ = writeln!(out, "      <skipped message=\"{}\"/>", xml_attr(&message));
        }
    }
    out.push_str("    </testcase>\n");
}
