//! `junit.xml` is well-formed XML whatever a Tool sends, has one testcase per
//! vector with its requirement IDs as properties, and maps statuses so a CI
//! job gates like the suite's exit code.
#![allow(clippy::unwrap_used)]

#[path = "report_support.rs"]
mod support;

use oap_conform::report::{Status, render_junit};

/// A small XML 1.0 well-formedness checker: one root, balanced tags, quoted
/// attributes without `<` and without duplicates, only the five predefined
/// entities or character references, only XML characters, no raw `<` or `&`
/// in text. Returns the element names in document order.
fn well_formed(xml: &str) -> Result<Vec<String>, String> {
    fn check_text(t: &str) -> Result<(), String> {
        for c in t.chars() {
            let ok = matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
            if !ok {
                return Err(format!("character {:?} is not allowed in XML", c));
            }
        }
        let mut rest = t;
        while let Some(i) = rest.find('&') {
            let after = &rest[i + 1..];
            let end = after.find(';').ok_or("unterminated entity")?;
            let name = &after[..end];
            let ok = matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
                || name
                    .strip_prefix("#x")
                    .is_some_and(|h| u32::from_str_radix(h, 16).is_ok())
                || name
                    .strip_prefix('#')
                    .is_some_and(|d| d.parse::<u32>().is_ok());
            if !ok {
                return Err(format!("bad entity &{name};"));
            }
            rest = &after[end + 1..];
        }
        Ok(())
    }
    fn is_name(s: &str) -> bool {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    }

    let rest = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .ok_or("no XML declaration")?;
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut roots = 0;
    let mut s = rest;
    loop {
        let Some(lt) = s.find('<') else {
            if !s.trim().is_empty() && stack.is_empty() {
                return Err("text after the root".into());
            }
            check_text(s)?;
            break;
        };
        let text = &s[..lt];
        if stack.is_empty() && !text.trim().is_empty() {
            return Err("text outside the root".into());
        }
        check_text(text)?;
        s = &s[lt..];
        if let Some(body) = s.strip_prefix("</") {
            let gt = body.find('>').ok_or("unterminated end tag")?;
            let name = body[..gt].trim_end();
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            s = &body[gt + 1..];
            continue;
        }
        let body = &s[1..];
        let name_end = body
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .ok_or("unterminated tag")?;
        let name = &body[..name_end];
        if !is_name(name) {
            return Err(format!("bad element name {name:?}"));
        }
        let mut t = &body[name_end..];
        let mut attrs = std::collections::BTreeSet::new();
        let self_closing;
        loop {
            t = t.trim_start();
            if let Some(r) = t.strip_prefix("/>") {
                self_closing = true;
                t = r;
                break;
            }
            if let Some(r) = t.strip_prefix('>') {
                self_closing = false;
                t = r;
                break;
            }
            let eq = t.find('=').ok_or("attribute without value")?;
            let attr = t[..eq].trim();
            if !is_name(attr) || !attrs.insert(attr.to_owned()) {
                return Err(format!("bad or duplicate attribute {attr:?} on {name}"));
            }
            let v = t[eq + 1..].strip_prefix('"').ok_or("unquoted attribute")?;
            let close = v.find('"').ok_or("unterminated attribute")?;
            let value = &v[..close];
            if value.contains('<') {
                return Err(format!("'<' in attribute {attr}"));
            }
            check_text(value)?;
            t = &v[close + 1..];
        }
        if stack.is_empty() {
            roots += 1;
        }
        names.push(name.to_owned());
        if !self_closing {
            stack.push(name.to_owned());
        }
        s = t;
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements {stack:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(names)
}

fn unescape(s: &str) -> String {
    s.replace("&#10;", "\n")
        .replace("&#13;", "\r")
        .replace("&#9;", "\t")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[test]
fn the_checker_rejects_what_it_should() {
    let decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    for bad in [
        "<a><b></a></b>",
        "<a x=\"<\"/>",
        "<a>&nbsp;</a>",
        "<a>1 < 2</a>",
        "<a/><b/>",
        "<a x=\"1\" x=\"2\"/>",
        "<a>\u{1}</a>",
        "<a>",
    ] {
        assert!(well_formed(&format!("{decl}{bad}")).is_err(), "{bad}");
    }
    assert!(well_formed(&format!("{decl}<a x=\"&#10;\"><b/>t &amp; u</a>\n")).is_ok());
}

#[test]
fn junit_is_well_formed_with_one_testcase_per_vector() {
    let report = support::sample_report();
    let xml = render_junit(&report);
    let names = well_formed(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(
        names.iter().filter(|n| *n == "testcase").count(),
        report.vectors.len()
    );
    assert_eq!(names.iter().filter(|n| *n == "testsuite").count(), 2);
    assert!(xml.contains(
        "<testsuites name=\"oap-conform L4\" tests=\"8\" failures=\"1\" errors=\"1\" skipped=\"3\""
    ));
    assert!(xml.contains(
        "<testcase name=\"oap/envelope/oap-envelope-002.json\" classname=\"oap.envelope\" time=\"0.012\">"
    ));
    assert!(xml.contains("<property name=\"requirement\" value=\"OAP-3.2-2\"/>"));
    assert!(xml.contains("<property name=\"verdict\" value=\"fail\"/>"));
    assert!(xml.contains(
        "<skipped message=\"not-applicable: manifest does not declare supports_pause\"/>"
    ));
    assert!(xml.contains("<skipped message=\"known failure (tracked upstream)"));
    assert!(xml.contains("<error message=\"timed out after 10 s\" type=\"error\">"));
}

#[test]
fn hostile_text_is_escaped_and_survives_as_text() {
    let report = support::sample_report();
    let xml = render_junit(&report);
    assert!(
        !xml.contains("<script"),
        "raw markup from the Tool reached the XML"
    );
    assert!(!xml.contains("<img"));
    // The failure message decodes back to the reason, control characters made visible.
    let start = xml.find("<failure message=\"").unwrap() + "<failure message=\"".len();
    let end = start + xml[start..].find('"').unwrap();
    let decoded = unescape(&xml[start..end]);
    let reason = report.vectors[1]
        .reason
        .clone()
        .unwrap()
        .replace('\u{1}', "\\x01")
        .replace('\u{7f}', "\\x7f");
    assert_eq!(decoded, reason);
    // The transcript is in the failure text, with the curl line.
    assert!(xml.contains("reproduce: curl -sS -X POST"));
}

#[test]
fn a_stale_expectation_fails_in_junit() {
    let mut report = support::passing_report();
    report.vectors[0].expected_failure = Some("was broken".into());
    assert_eq!(report.vectors[0].status, Status::Pass);
    let xml = render_junit(&report);
    well_formed(&xml).unwrap();
    assert!(xml.contains("type=\"stale-expectation\""));
}
