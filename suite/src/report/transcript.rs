//! A vector's transcript as plain text, the form the JUnit and Markdown
//! outputs carry (the HTML page lays the same parts out as a table).
//!
//! The layout follows what a developer reading a failed test expects: the
//! request as sent (`>` lines), the response as received (`<` lines), what
//! the step accepted, the diff, the suite's note, and a `curl` line that
//! replays the request. Bodies are cut at [`MAX_BODY_CHARS`] here; the full
//! text stays in `report.json`.

use std::fmt::Write as _;

use super::escape::truncate;
use super::model::{Exchange, VectorResult};

/// Bodies longer than this many characters are cut in text renderings.
pub const MAX_BODY_CHARS: usize = 16 * 1024;

/// A body, cut at [`MAX_BODY_CHARS`] with a note pointing at `report.json`.
pub fn clip_body(body: &str) -> String {
    truncate(body, MAX_BODY_CHARS, "cut; the full body is in report.json")
}

/// The `expected` member of an exchange, pretty-printed.
pub fn expected_text(ex: &Exchange) -> Option<String> {
    ex.expected
        .as_ref()
        .map(|e| serde_json::to_string_pretty(e).unwrap_or_else(|_| e.to_string()))
}

/// One exchange as text.
pub fn exchange_text(ex: &Exchange) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "step {}: {} {}", ex.step, ex.method, ex.url);
    for (name, value) in &ex.request_headers {
        let _ = writeln!(out, "> {name}: {value}");
    }
    if let Some(body) = &ex.request_body {
        let _ = writeln!(out, ">");
        for line in clip_body(body).lines() {
            let _ = writeln!(out, "> {line}");
        }
    }
    match ex.status {
        Some(status) => {
            let _ = writeln!(out, "< {status}");
        }
        None => {
            let _ = writeln!(out, "< (no response)");
        }
    }
    for (name, value) in &ex.response_headers {
        let _ = writeln!(out, "< {name}: {value}");
    }
    if let Some(body) = &ex.response_body {
        let _ = writeln!(out, "<");
        for line in clip_body(body).lines() {
            let _ = writeln!(out, "< {line}");
        }
    }
    if let Some(expected) = expected_text(ex) {
        let _ = writeln!(out, "expected: {expected}");
    }
    if let Some(diff) = &ex.diff {
        let _ = writeln!(out, "diff:\n{}", diff.trim_end());
    }
    if let Some(note) = &ex.note {
        let _ = writeln!(out, "note: {note}");
    }
    let _ = writeln!(out, "reproduce: {}", ex.curl);
    out
}

/// A vector's outcome and full transcript as text.
pub fn vector_text(v: &VectorResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "vector {} ({}): {}", v.id, v.path, v.status.as_str());
    if let Some(reason) = &v.reason {
        let _ = writeln!(out, "reason: {reason}");
    }
    if let Some(known) = &v.expected_failure {
        let _ = writeln!(out, "known failure: {known}");
    }
    if !v.requirements.is_empty() {
        let _ = writeln!(out, "requirements: {}", v.requirements.join(", "));
    }
    for ex in &v.transcript {
        out.push('\n');
        out.push_str(&exchange_text(ex));
    }
    out
}
