//! `report.html`: the run as one self-contained page for people.
//!
//! One file, no external assets (no fonts, images, scripts or styles from
//! elsewhere), so it can be attached to a CI run or mailed and still open
//! offline. From top to bottom: a verdict banner, a card per binding, the
//! reasons and warnings, the requirement table (status and links to the
//! vectors), the vector list with a text filter and status checkboxes, each
//! failure's transcript with the `curl` line that reproduces it, and the run's
//! particulars (environment, digests, manifest).
//!
//! Every string from the report goes through [`html`] before it reaches the
//! page, and the page's Content Security Policy admits only the stylesheet
//! and script of [`super::html_assets`], by hash, so a hostile Tool's
//! response can neither inject markup nor run script.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::escape::html;
use super::html_assets::{CSS, JS};
use super::markdown::StatusCounts;
use super::model::{Exchange, RunReport, Status, VectorResult};
use super::signing::proof_signer;
use super::transcript::{clip_body, expected_text};

/// Transcripts are shown expanded when there are at most this many failures.
const OPEN_TRANSCRIPTS_UP_TO: usize = 20;

const ALL_STATUSES: [Status; 5] = [
    Status::Pass,
    Status::Fail,
    Status::Error,
    Status::Skip,
    Status::NotApplicable,
];

fn csp_hash(content: &str) -> String {
    let digest = Sha256::digest(content.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The page's Content Security Policy: nothing but the inline stylesheet and
/// script, pinned by hash.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src 'none'; base-uri 'none'; form-action 'none'",
        csp_hash(CSS),
        csp_hash(JS)
    )
}

/// Renders the page.
pub fn render_html(report: &RunReport) -> String {
    let mut out = String::with_capacity(64 * 1024 + report.vectors.len() * 512);
    let v = &report.verdict;
    let result = v.result.as_str();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <title>{} {} – {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        html(&content_security_policy()),
        html(&v.level),
        result.to_uppercase(),
        html(&report.target.url),
    );

    let signer = report.proof.as_ref().and_then(proof_signer);
    let _ = write!(
        out,
        "<header class=\"banner {result}\"><div class=\"inner\"><h1>{} {}</h1>\
         <div class=\"meta\">{} · {} {} · started {} · {} ms · seed {}{}</div></div></header>\n<main>\n",
        html(&v.level),
        result.to_uppercase(),
        html(&report.target.url),
        html(&report.suite.name),
        html(&report.suite.version),
        html(&report.started_at),
        report.duration_ms,
        report.seed,
        signer
            .map(|d| format!(" · signed by <span class=\"mono\">{}</span>", html(d)))
            .unwrap_or_default(),
    );

    binding_cards(&mut out, report);
    if !v.reasons.is_empty() {
        let _ = write!(
            out,
            "<h2>Why {} fails ({})</h2>\n<ul class=\"lines reasons\">",
            html(&v.level),
            v.reasons.len()
        );
        for r in &v.reasons {
            // A reason that starts with a requirement ID links to its row.
            let row = report
                .requirements
                .iter()
                .position(|q| r.starts_with(&format!("{} (", q.id)));
            match row {
                Some(i) => {
                    let id = &report.requirements[i].id;
                    let _ = write!(
                        out,
                        "<li><a href=\"#r-{i}\">{}</a>{}</li>",
                        html(id),
                        html(&r[id.len()..])
                    );
                }
                None => {
                    let _ = write!(out, "<li>{}</li>", html(r));
                }
            }
        }
        out.push_str("</ul>\n");
    }
    if !v.warnings.is_empty() {
        let _ = write!(
            out,
            "<details><summary>Warnings ({})</summary><ul class=\"lines\">",
            v.warnings.len()
        );
        for w in &v.warnings {
            let _ = write!(out, "<li>{}</li>", html(w));
        }
        out.push_str("</ul></details>\n");
    }

    let vector_index: BTreeMap<&str, usize> = report
        .vectors
        .iter()
        .enumerate()
        .map(|(i, x)| (x.id.as_str(), i))
        .collect();
    requirement_table(&mut out, report, &vector_index);
    vector_list(&mut out, report);
    run_details(&mut out, report);

    let _ = write!(
        out,
        "<footer>Statuses and the verdict rule are explained in reports/README.md. \
         The signed record of this run is report.json; check it with \
         <code>oap-conform verify-report report.json</code>.</footer>\n</main>\n<script>{JS}</script>\n</body>\n</html>\n"
    );
    out
}

fn binding_cards(out: &mut String, report: &RunReport) {
    out.push_str("<div class=\"cards\">");
    let mut cards: Vec<(String, &str, StatusCounts)> = report
        .bindings
        .iter()
        .map(|b| {
            let result = report
                .verdicts_by_binding
                .get(b)
                .map(|v| v.result.as_str())
                .unwrap_or("not judged");
            (
                b.clone(),
                result,
                StatusCounts::of(report.vectors.iter().filter(|x| &x.binding == b)),
            )
        })
        .collect();
    cards.push((
        "all bindings".to_owned(),
        report.verdict.result.as_str(),
        StatusCounts::of(report.vectors.iter()),
    ));
    for (name, result, c) in cards {
        let _ = write!(
            out,
            "<div class=\"card {}\"><div class=\"name\">{}</div><div class=\"res\">{} {}</div>\
             <div class=\"counts\">{} vectors: {} pass, {} fail, {} error, {} skip, {} n/a</div></div>",
            html(result),
            html(&name),
            html(&report.verdict.level),
            html(&result.to_uppercase()),
            c.total,
            c.pass,
            c.fail,
            c.error,
            c.skip,
            c.not_applicable
        );
    }
    out.push_str("</div>\n");
}

fn requirement_table(out: &mut String, report: &RunReport, vector_index: &BTreeMap<&str, usize>) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &report.requirements {
        *counts.entry(r.status.as_str()).or_default() += 1;
    }
    let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let _ = write!(
        out,
        "<h2 id=\"requirements\">Requirements ({}: {})</h2>\n<table><thead><tr><th>requirement</th><th>level</th>\
         <th>binding</th><th>status</th><th>vectors</th><th>text</th></tr></thead><tbody>\n",
        report.requirements.len(),
        html(&summary.join(", "))
    );
    for (i, r) in report.requirements.iter().enumerate() {
        let links: Vec<String> = r
            .vectors
            .iter()
            .map(|id| match vector_index.get(id.as_str()) {
                Some(&n) => {
                    let status = report.vectors[n].status.as_str();
                    format!("<a href=\"#v-{n}\" title=\"{status}\">{}</a>", html(id))
                }
                None => html(id),
            })
            .collect();
        let untested = r
            .untested_reason
            .as_deref()
            .map(|u| format!("<br><em>{}</em>", html(u)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr id=\"r-{i}\"><td class=\"mono rid\">{}</td><td class=\"lvl\">{}</td><td>{}</td>\
             <td><span class=\"badge s-{}\">{}</span></td><td class=\"vecs mono\">{}</td><td class=\"text\">{}{untested}</td></tr>",
            html(&r.id),
            r.level.as_str(),
            html(&r.binding),
            r.status.as_str(),
            r.status.as_str(),
            links.join(" "),
            html(&r.text),
        );
    }
    out.push_str("</tbody></table>\n");
}

fn vector_list(out: &mut String, report: &RunReport) {
    let requirement_index: BTreeMap<&str, usize> = report
        .requirements
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let counts = StatusCounts::of(report.vectors.iter());
    let failures = counts.fail + counts.error;
    let _ = write!(
        out,
        "<h2 id=\"vectors-title\">Vectors ({})</h2>\n<div class=\"filters\">\
         <input type=\"search\" id=\"q\" placeholder=\"filter by id, path, title, requirement, reason\" aria-label=\"filter vectors\">",
        report.vectors.len()
    );
    for status in ALL_STATUSES {
        let n = report.vectors.iter().filter(|x| x.status == status).count();
        let _ = write!(
            out,
            "<label><input type=\"checkbox\" value=\"{s}\" checked> <span class=\"badge s-{s}\">{s}</span> {n}</label>",
            s = status.as_str()
        );
    }
    out.push_str("<span class=\"shown\" id=\"shown\"></span></div>\n<div id=\"vectors\">\n");
    for (i, x) in report.vectors.iter().enumerate() {
        vector_block(
            out,
            i,
            x,
            &requirement_index,
            failures <= OPEN_TRANSCRIPTS_UP_TO,
        );
    }
    out.push_str("</div>\n");
}

fn vector_block(
    out: &mut String,
    i: usize,
    x: &VectorResult,
    reqs: &BTreeMap<&str, usize>,
    open: bool,
) {
    let status = x.status.as_str();
    let search = format!(
        "{} {} {} {} {} {}",
        x.id,
        x.path,
        x.title,
        x.requirements.join(" "),
        x.reason.as_deref().unwrap_or(""),
        x.expected_failure.as_deref().unwrap_or("")
    )
    .to_lowercase();
    let _ = write!(
        out,
        "<div class=\"vec {status}\" id=\"v-{i}\" data-status=\"{status}\" data-text=\"{}\">\
         <div class=\"head\"><span class=\"badge s-{status}\">{status}</span><span class=\"lvl\">{}</span>\
         <span class=\"id mono\">{}</span><span class=\"path mono\">{}</span><span class=\"dur\">{} ms</span></div>\
         <div class=\"title\">{}</div>",
        html(&search),
        x.level.as_str(),
        html(&x.id),
        html(&x.path),
        x.duration_ms,
        html(&x.title),
    );
    if !x.requirements.is_empty() {
        let links: Vec<String> = x
            .requirements
            .iter()
            .map(|r| match reqs.get(r.as_str()) {
                Some(n) => format!("<a href=\"#r-{n}\">{}</a>", html(r)),
                None => html(r),
            })
            .collect();
        let _ = write!(out, "<div class=\"reqs mono\">{}</div>", links.join(" "));
    }
    if let Some(reason) = &x.reason {
        let _ = write!(out, "<div class=\"reason\">{}</div>", html(reason));
    }
    if let Some(known) = &x.expected_failure {
        let label = if x.status == Status::Pass {
            "listed as a known failure, but passes (stale)"
        } else {
            "known failure"
        };
        let _ = write!(out, "<div class=\"known\">{label}: {}</div>", html(known));
    }
    if !x.transcript.is_empty() {
        let _ = write!(
            out,
            "<details class=\"tx\"{}><summary>transcript ({} exchange{})</summary>",
            if open { " open" } else { "" },
            x.transcript.len(),
            if x.transcript.len() == 1 { "" } else { "s" }
        );
        for ex in &x.transcript {
            exchange(out, ex);
        }
        out.push_str("</details>");
    }
    out.push_str("</div>\n");
}

fn headers_text(headers: &[(String, String)]) -> String {
    headers.iter().map(|(n, v)| format!("{n}: {v}\n")).collect()
}

fn exchange(out: &mut String, ex: &Exchange) {
    let status = ex
        .status
        .map(|s| s.to_string())
        .unwrap_or_else(|| "no response".to_owned());
    let mut request = headers_text(&ex.request_headers);
    if let Some(body) = &ex.request_body {
        request.push('\n');
        request.push_str(&clip_body(body));
    }
    let mut response = headers_text(&ex.response_headers);
    if ex.status.is_none() && response.is_empty() && ex.response_body.is_none() {
        response.push_str("(no response)");
    }
    if let Some(body) = &ex.response_body {
        response.push('\n');
        response.push_str(&clip_body(body));
    }
    let _ = write!(
        out,
        "<div class=\"ex\"><div class=\"exhead mono\">step {} · <b>{}</b> {} → <b>{}</b></div>\
         <div class=\"grid\"><div><h4>request</h4><pre>{}</pre></div><div><h4>response</h4><pre>{}</pre></div></div>\
         <div class=\"below\">",
        ex.step,
        html(&ex.method),
        html(&ex.url),
        html(&status),
        html(&request),
        html(&response),
    );
    if let Some(expected) = expected_text(ex) {
        let _ = write!(out, "<h4>expected</h4><pre>{}</pre>", html(&expected));
    }
    if let Some(diff) = &ex.diff {
        out.push_str("<h4>diff</h4><pre class=\"diff\">");
        for line in diff.lines() {
            let class = match line.chars().next() {
                Some('+') => "add",
                Some('-') => "del",
                Some('@') => "hunk",
                _ => "",
            };
            let _ = writeln!(out, "<span class=\"{class}\">{}</span>", html(line));
        }
        out.push_str("</pre>");
    }
    if let Some(note) = &ex.note {
        let _ = write!(out, "<div class=\"note\">{}</div>", html(note));
    }
    let _ = write!(
        out,
        "<h4>reproduce</h4><div class=\"curl\"><pre>{}</pre><button class=\"copy\" type=\"button\">copy</button></div></div></div>",
        html(&ex.curl)
    );
}

fn run_details(out: &mut String, report: &RunReport) {
    let env = &report.environment;
    let _ = write!(
        out,
        "<h2 id=\"run\">Run</h2>\n<table><tbody>\
         <tr><th>suite</th><td class=\"mono\">{} {}</td></tr>\
         <tr><th>vector set digest</th><td class=\"mono\">{}</td></tr>\
         <tr><th>requirements digest</th><td class=\"mono\">{}</td></tr>\
         <tr><th>target</th><td class=\"mono\">{}</td></tr>\
         <tr><th>manifest digest</th><td class=\"mono\">{}</td></tr>\
         <tr><th>bindings</th><td>{}</td></tr>\
         <tr><th>environment</th><td>{} / {}{}</td></tr>\
         <tr><th>seed</th><td class=\"mono\">{}</td></tr>\
         </tbody></table>\n",
        html(&report.suite.name),
        html(&report.suite.version),
        html(&report.suite.vectors_digest),
        html(&report.suite.requirements_digest),
        html(&report.target.url),
        html(report.target.manifest_digest.as_deref().unwrap_or("none")),
        html(&report.bindings.join(", ")),
        html(&env.os),
        html(&env.arch),
        env.hostname
            .as_deref()
            .map(|h| format!(" / {}", html(h)))
            .unwrap_or_default(),
        report.seed,
    );
    let blocks = [
        (
            "manifest served by the target",
            report.target.manifest.as_ref(),
        ),
        ("fuzzing", report.fuzz.as_ref()),
        ("concurrency", report.concurrency.as_ref()),
        ("proof", report.proof.as_ref()),
    ];
    for (name, value) in blocks {
        if let Some(value) = value {
            let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
            let _ = writeln!(
                out,
                "<details><summary>{name}</summary><div class=\"ex\"><pre>{}</pre></div></details>",
                html(&clip_body(&text))
            );
        }
    }
}
