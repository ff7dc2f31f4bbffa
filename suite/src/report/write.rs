//! Writing a run's files into `--out DIR`.
//!
//! [`write_all`] signs the report, checks that what it is about to write
//! verifies (so a report the suite cannot verify is never left behind), and
//! writes `report.json`, `junit.xml`, `report.md` and `report.html`. Each file
//! is written to a temporary name and renamed into place, so a reader never
//! sees a half-written file and an interrupted run leaves the previous run's
//! files whole.

use std::path::{Path, PathBuf};

use oap_wire::Keypair;

use super::error::ReportError;
use super::html::render_html;
use super::junit::render_junit;
use super::markdown::render_markdown;
use super::model::RunReport;
use super::signing::{render_signed, sign_report};
use super::verify::verify_report_bytes;

/// File name of the signed JSON report.
pub const REPORT_JSON: &str = "report.json";
/// File name of the JUnit XML.
pub const JUNIT_XML: &str = "junit.xml";
/// File name of the Markdown summary.
pub const REPORT_MD: &str = "report.md";
/// File name of the HTML page.
pub const REPORT_HTML: &str = "report.html";

/// The files a run wrote, and who signed the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFiles {
    /// `report.json`.
    pub report_json: PathBuf,
    /// `junit.xml`.
    pub junit_xml: PathBuf,
    /// `report.md`.
    pub report_md: PathBuf,
    /// `report.html`.
    pub report_html: PathBuf,
    /// The DID of the key that signed `report.json`.
    pub signer: String,
}

/// Signs `report` with `signing_key` (a fresh key when `None`), dated now, and
/// writes the four report files into `out_dir`, creating it if needed.
pub fn write_all(
    report: &RunReport,
    out_dir: &Path,
    signing_key: Option<&Keypair>,
) -> Result<WrittenFiles, ReportError> {
    let fresh;
    let key = match signing_key {
        Some(key) => key,
        None => {
            fresh = Keypair::generate();
            &fresh
        }
    };
    write_all_at(report, out_dir, key, &oap_wire::time::now_rfc3339())
}

/// [`write_all`] with an explicit key and proof creation time (RFC 3339), for
/// reproducible output.
pub fn write_all_at(
    report: &RunReport,
    out_dir: &Path,
    key: &Keypair,
    created: &str,
) -> Result<WrittenFiles, ReportError> {
    let signed = sign_report(report, key, created)?;
    let json = render_signed(&signed)?;
    let verified = verify_report_bytes(json.as_bytes(), Some(&key.did))?;
    let signed_report = verified.report;

    std::fs::create_dir_all(out_dir).map_err(|source| ReportError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let files = WrittenFiles {
        report_json: out_dir.join(REPORT_JSON),
        junit_xml: out_dir.join(JUNIT_XML),
        report_md: out_dir.join(REPORT_MD),
        report_html: out_dir.join(REPORT_HTML),
        signer: verified.signer,
    };
    write_atomically(&files.report_json, json.as_bytes())?;
    write_atomically(&files.junit_xml, render_junit(&signed_report).as_bytes())?;
    write_atomically(&files.report_md, render_markdown(&signed_report).as_bytes())?;
    write_atomically(&files.report_html, render_html(&signed_report).as_bytes())?;
    Ok(files)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|source| {
        // Best effort: do not leave the temporary file behind.
        let _ = std::fs::remove_file(&tmp);
        io(source)
    })
}
