//! `report.html` is one self-contained page, balanced whatever a Tool sends,
//! with nothing a Tool sent able to become markup or script; `report.md`
//! stays literal too. Set `REPORT_SAMPLE_DIR` to also write the sample run's
//! files there for a look in a browser.
#![allow(clippy::unwrap_used)]

#[path = "report_support.rs"]
mod support;

use base64::Engine as _;
use oap_conform::report::html::content_security_policy;
use oap_conform::report::{render_html, render_markdown, write_all};
use sha2::{Digest, Sha256};

const VOID: &[&str] = &["meta", "input", "br", "link", "img", "hr"];

/// Checks that tags balance, no text holds a raw `<`, quoted attribute
/// values hold no `<`, no element has an event handler, `src` or `style`
/// attribute, and the raw-text elements close. Returns the start tags in
/// order.
fn balanced(page: &str) -> Result<Vec<String>, String> {
    let body = page.strip_prefix("<!DOCTYPE html>\n").ok_or("no doctype")?;
    let mut stack: Vec<String> = Vec::new();
    let mut tags = Vec::new();
    let mut s = body;
    while let Some(lt) = s.find('<') {
        s = &s[lt + 1..];
        if let Some(r) = s.strip_prefix('/') {
            let gt = r.find('>').ok_or("unterminated end tag")?;
            let name = &r[..gt];
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            s = &r[gt + 1..];
            continue;
        }
        let end = s
            .find(|c: char| c.is_whitespace() || c == '>')
            .ok_or("unterminated tag")?;
        let name = s[..end].to_owned();
        if !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "text holds a raw '<' before {:?}",
                &s[..end.min(20)]
            ));
        }
        let mut t = &s[end..];
        loop {
            t = t.trim_start();
            if let Some(r) = t.strip_prefix('>') {
                t = r;
                break;
            }
            let stop = t
                .find(|c: char| c == '=' || c == '>' || c.is_whitespace())
                .ok_or("bad attribute")?;
            let attr = &t[..stop];
            if !attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') || attr.is_empty() {
                return Err(format!("bad attribute name {attr:?} on <{name}>"));
            }
            if attr.starts_with("on") || attr == "src" || attr == "style" {
                return Err(format!("attribute {attr} on <{name}>"));
            }
            t = &t[stop..];
            if let Some(r) = t.strip_prefix("=\"") {
                let close = r.find('"').ok_or("unterminated attribute")?;
                if r[..close].contains('<') {
                    return Err(format!("'<' in attribute {attr}"));
                }
                t = &r[close + 1..];
            }
        }
        tags.push(name.clone());
        if name == "style" || name == "script" {
            let close = format!("</{name}>");
            let at = t.find(&close).ok_or("unclosed raw-text element")?;
            s = &t[at + close.len()..];
            continue;
        }
        if !VOID.contains(&name.as_str()) {
            stack.push(name);
        }
        s = t;
    }
    if !stack.is_empty() {
        return Err(format!("unclosed {stack:?}"));
    }
    Ok(tags)
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
    let start = s.find(open).unwrap() + open.len();
    &s[start..start + s[start..].find(close).unwrap()]
}

#[test]
fn the_page_is_balanced_and_self_contained() {
    let page = render_html(&support::sample_report());
    let tags = balanced(&page).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tags.iter().filter(|t| *t == "script").count(), 1);
    assert_eq!(tags.iter().filter(|t| *t == "style").count(), 1);
    for t in &tags {
        assert!(
            !["img", "link", "iframe", "object", "embed", "base", "form"].contains(&t.as_str()),
            "<{t}> in the page"
        );
    }
    assert!(!between(&page, "<style>", "</style>").contains("url("));
    // Every link is to an anchor of the page itself, and every anchor exists.
    let mut rest = page.as_str();
    let mut links = 0;
    while let Some(i) = rest.find("href=\"") {
        let target = between(&rest[i..], "href=\"", "\"");
        let anchor = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external link {target}"));
        assert!(
            page.contains(&format!("id=\"{anchor}\"")),
            "dangling link {target}"
        );
        links += 1;
        rest = &rest[i + 6..];
    }
    assert!(links > 10);
}

#[test]
fn the_policy_admits_exactly_the_inline_style_and_script() {
    let page = render_html(&support::sample_report());
    let hash = |s: &str| {
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s))
        )
    };
    let csp = content_security_policy();
    assert!(page.contains(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        csp.replace('\'', "&#39;")
    )));
    assert!(csp.starts_with("default-src 'none';"));
    assert!(csp.contains(&format!(
        "style-src {};",
        hash(between(&page, "<style>", "</style>"))
    )));
    assert!(csp.contains(&format!(
        "script-src {};",
        hash(between(&page, "<script>", "</script>"))
    )));
}

#[test]
fn hostile_text_cannot_become_markup() {
    let page = render_html(&support::sample_report());
    assert!(!page.contains(support::HOSTILE));
    // Balanced, with no raw '<' in any text and no handler attribute: the
    // markup is all the page's own.
    balanced(&page).unwrap();
    for raw in ["<script>alert", "<img", "</pre></td>", "\u{1}", "\u{7f}"] {
        assert!(!page.contains(raw), "raw {raw:?} in the page");
    }
    assert!(page.contains("&lt;script&gt;alert(&#39;pwn&#39;)&lt;/script&gt;"));
    assert!(
        page.contains("\\x01\\x7f"),
        "control characters are shown, not dropped"
    );
}

#[test]
fn the_page_shows_verdicts_requirements_vectors_and_transcripts() {
    let report = support::sample_report();
    let page = render_html(&report);
    assert!(page.contains("<header class=\"banner fail\">"));
    assert!(page.contains("<h1>L4 FAIL</h1>"));
    for v in &report.vectors {
        assert!(page.contains(&format!("data-status=\"{}\"", v.status.as_str())));
    }
    assert_eq!(
        page.matches("<div class=\"vec ").count(),
        report.vectors.len()
    );
    assert_eq!(
        page.matches("<tr id=\"r-").count(),
        report.requirements.len()
    );
    assert!(page.contains("<h4>reproduce</h4><div class=\"curl\"><pre>curl -sS -X POST"));
    for status in ["pass", "fail", "error", "skip", "not-applicable"] {
        assert!(page.contains(&format!(
            "<input type=\"checkbox\" value=\"{status}\" checked>"
        )));
    }
    assert!(page.contains("id=\"q\""));
    // Each reason naming a requirement links to that requirement's row.
    for reason in &report.verdict.reasons {
        let (id, _) = reason.split_once(' ').unwrap();
        let row = report.requirements.iter().position(|r| r.id == id).unwrap();
        assert!(
            page.contains(&format!("<li><a href=\"#r-{row}\">{id}</a> (")),
            "{reason}"
        );
    }
    let passing = render_html(&support::passing_report());
    assert!(passing.contains("<h1>L4 PASS</h1>"));
    balanced(&passing).unwrap();
}

#[test]
fn markdown_summary_is_literal_and_tabular() {
    let report = support::sample_report();
    let md = render_markdown(&report);
    assert!(md.starts_with("## OAP conformance: **L4 FAIL**"));
    assert!(
        md.contains("| oap | **L4 FAIL** | 6 | 2 | 1 | 1 | 1 | 1 |"),
        "{md}"
    );
    assert!(
        md.contains("| **all** | **L4 FAIL** | 8 | 3 | 2 | 1 | 1 | 1 |"),
        "{md}"
    );
    assert!(
        md.contains("| OAP-3.2-2 | MUST | oap | oap-envelope-002 (fail) |"),
        "{md}"
    );
    assert!(!md.contains("<script"));
    assert!(!md.contains("<img"));
    assert!(!md.contains("[link](javascript"));
    // Every table row has exactly as many unescaped pipes as its header.
    for block in md.split("\n\n") {
        let rows: Vec<&str> = block.lines().filter(|l| l.starts_with('|')).collect();
        let pipes = |l: &str| {
            let b = l.as_bytes();
            (0..b.len())
                .filter(|&i| b[i] == b'|' && (i == 0 || b[i - 1] != b'\\'))
                .count()
        };
        if let Some(first) = rows.first() {
            assert!(rows.iter().all(|r| pipes(r) == pipes(first)), "{block}");
        }
    }
}

#[test]
fn write_sample_for_a_browser_when_asked() {
    let Some(dir) = std::env::var_os("REPORT_SAMPLE_DIR") else {
        return;
    };
    let files = write_all(&support::sample_report(), std::path::Path::new(&dir), None).unwrap();
    let passing = std::path::Path::new(&dir).join("passing");
    write_all(&support::passing_report(), &passing, None).unwrap();
    eprintln!("sample report written to {}", files.report_html.display());
}

/// The browser for [`the_page_runs_in_headless_chromium`]: `$CHROMIUM`, or
/// `/usr/bin/chromium` when it exists.
fn chromium() -> Option<std::path::PathBuf> {
    std::env::var_os("CHROMIUM")
        .map(std::path::PathBuf::from)
        .or_else(|| Some(std::path::PathBuf::from("/usr/bin/chromium")))
        .filter(|p| p.exists())
}

/// The failing sample in a real browser, under the page's own Content
/// Security Policy: the filter script must run (it fills in the "N of M
/// shown" count), and a screenshot is left for a look. Skipped, with a note,
/// where no Chromium is installed.
#[test]
fn the_page_runs_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("no Chromium (set CHROMIUM=/path/to/chromium): skipped");
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-html-chromium");
    let files = write_all(&support::sample_report(), &dir, None).unwrap();
    let url = format!("file://{}", files.report_html.display());
    let headless = |extra: &[&str]| {
        std::process::Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .args(extra)
            .arg(&url)
            .output()
            .unwrap()
    };
    let dom = headless(&["--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let items = support::sample_report().vectors.len();
    assert!(
        dom.contains(&format!("{items} of {items} shown")),
        "the filter script did not run under the page's policy:\n{dom}"
    );
    let shot = dir.join("report.png");
    let out = headless(&[
        "--window-size=1280,2000",
        &format!("--screenshot={}", shot.display()),
    ]);
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 0),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("screenshot of the failing sample: {}", shot.display());
}
