//! The report of a run: its data model, the L4 verdict, and the files a run
//! leaves in `--out DIR`.
//!
//! Flow: the runner fills a [`RunReport`] with one [`VectorResult`] per vector,
//! [`apply_verdict`] judges the requirement catalogue from those results, and
//! the writers turn the report into `report.json` (schema-valid, signed),
//! `junit.xml`, `report.md` and `report.html`. [`verify_report`] checks a
//! `report.json` offline.
//!
//! Submodules hold one concept each: `model` (the types), `requirements`
//! (the catalogue), `verdict` (the rule), and one module per output format.

pub mod error;
pub mod model;
pub mod requirements;
pub mod schema;
pub mod verdict;

pub use error::ReportError;
pub use model::{
    EnvironmentInfo, Exchange, Level, RequirementResult, RequirementStatus, RunReport, Status,
    SuiteInfo, TargetInfo, VectorResult, Verdict, VerdictResult,
};
pub use requirements::{RequirementEntry, Testable, load_requirements, parse_requirements};
pub use schema::{REPORT_SCHEMA, validate_report_value};
pub use verdict::{apply_verdict, compute_requirements_and_verdict, compute_verdicts_by_binding};
