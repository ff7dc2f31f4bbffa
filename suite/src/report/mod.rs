//! The report of a run: its data model, the L4 verdict, and the files a run
//! leaves in `--out DIR`.
//!
//! Flow: the runner fills a [`RunReport`] with one [`VectorResult`] per vector,
//! [`apply_verdict`] judges the requirement catalogue from those results, and
//! [`write_all`] signs the report and writes `report.json` (schema-valid,
//! signed), `junit.xml`, `report.md` and `report.html`. [`verify_report`]
//! checks a `report.json` offline (`oap-conform verify-report`).
//!
//! One concept per module: `model` (the types), `requirements` (the
//! catalogue), `verdict` (the rule), `schema` (validation), `signing` and
//! `verify` (the proof), `escape` and `transcript` (shared by the writers),
//! and one module per output format (`junit`, `markdown`, `html`), tied
//! together by `write`.

pub mod error;
pub mod escape;
pub mod html;
pub mod html_assets;
pub mod junit;
pub mod markdown;
pub mod model;
pub mod requirements;
pub mod schema;
pub mod signing;
pub mod transcript;
pub mod verdict;
pub mod verify;
pub mod write;

pub use error::ReportError;
pub use html::render_html;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use model::{
    EnvironmentInfo, Exchange, Level, RequirementResult, RequirementStatus, RunReport, Status,
    SuiteInfo, TargetInfo, VectorResult, Verdict, VerdictResult,
};
pub use requirements::{RequirementEntry, Testable, load_requirements, parse_requirements};
pub use schema::{REPORT_SCHEMA, validate_report_value};
pub use signing::{load_signing_key, parse_signing_key, sign_report};
pub use verdict::{apply_verdict, compute_requirements_and_verdict, compute_verdicts_by_binding};
pub use verify::{
    VerifiedReport, VerifyCommandOutcome, verify_report, verify_report_command, verify_report_file,
};
pub use write::{WrittenFiles, write_all, write_all_at};
