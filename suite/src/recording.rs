//! Recording exchanges as transcript entries: the request as sent, the
//! response as received, what was expected, a unified diff and a `curl` line.
//!
//! This is where secrets are removed. Gateway headers (`--header`,
//! `--header-env`) are added by the client to every request; transcripts show
//! them as `<redacted>`, and the `curl` line refers to the environment
//! variable a `--header-env` value came from, so the line still works when
//! pasted into a shell that has it.

use serde_json::Value;

use crate::client::{InResponse, OutRequest, REDACTED, SecretHeader};
use crate::report::Exchange;

/// Bodies up to this size appear inline in a `curl` line; larger or binary
/// ones are piped in through `base64 -d`.
const CURL_INLINE_MAX: usize = 8 * 1024;

/// One request of a vector and what came of it.
#[derive(Debug, Clone)]
pub struct Record {
    /// 0-based step index.
    pub step: usize,
    /// The request as sent (without gateway headers).
    pub request: OutRequest,
    /// The response, if one arrived.
    pub response: Option<InResponse>,
    /// The acceptable outcomes, as written in the vector.
    pub expected: Option<Value>,
    /// Unified diff, expected view against actual.
    pub diff: Option<String>,
    /// What the suite concluded.
    pub note: Option<String>,
}

/// Turns a record into a report exchange, redacting secret headers.
pub fn to_exchange(record: &Record, secrets: &[SecretHeader]) -> Exchange {
    let mut request_headers = record.request.headers.clone();
    request_headers.extend(
        secrets
            .iter()
            .map(|s| (s.name.clone(), REDACTED.to_owned())),
    );
    let response_headers = record
        .response
        .as_ref()
        .map(|r| r.headers.clone())
        .unwrap_or_default();
    Exchange {
        // Reports number steps from 1, as reasons do ("step 3").
        step: record.step.saturating_add(1),
        method: record.request.method.clone(),
        url: record.request.url.clone(),
        request_headers,
        request_body: record.request.body.as_deref().map(lossy),
        status: record.response.as_ref().map(|r| r.status),
        response_headers,
        response_body: record
            .response
            .as_ref()
            .filter(|r| !r.body.is_empty())
            .map(|r| lossy(&r.body)),
        expected: record.expected.clone(),
        diff: record.diff.clone(),
        curl: curl_line(&record.request, secrets),
        note: record.note.clone(),
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// POSIX shell single-quoting.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A one-line `curl` command that sends the same bytes.
pub fn curl_line(req: &OutRequest, secrets: &[SecretHeader]) -> String {
    use base64::Engine;
    let mut parts: Vec<String> = vec!["curl".into(), "-sS".into(), "-i".into()];
    if req.method != "GET" || req.body.is_some() {
        parts.push("-X".into());
        parts.push(shell_quote(&req.method));
    }
    parts.push(shell_quote(&req.url));
    for (name, value) in &req.headers {
        parts.push("-H".into());
        parts.push(shell_quote(&format!("{name}: {value}")));
    }
    for s in secrets {
        parts.push("-H".into());
        match &s.env {
            Some(var) => parts.push(format!("\"{}: ${var}\"", s.name)),
            None => parts.push(shell_quote(&format!("{}: {REDACTED}", s.name))),
        }
    }
    let mut prefix = String::new();
    if let Some(body) = &req.body {
        match std::str::from_utf8(body) {
            Ok(text) if body.len() <= CURL_INLINE_MAX && !text.contains('\0') => {
                parts.push("--data-binary".into());
                parts.push(shell_quote(text));
            }
            _ => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(body);
                prefix = format!("printf '%s' {} | base64 -d | ", shell_quote(&b64));
                parts.push("--data-binary".into());
                parts.push("@-".into());
            }
        }
    }
    format!("{prefix}{}", parts.join(" "))
}

/// A unified diff of two JSON values, pretty-printed; `None` when equal.
pub fn json_diff(expected: &Value, actual: &Value) -> Option<String> {
    let e = serde_json::to_string_pretty(expected).unwrap_or_else(|_| expected.to_string());
    let a = serde_json::to_string_pretty(actual).unwrap_or_else(|_| actual.to_string());
    if e == a {
        return None;
    }
    Some(
        similar::TextDiff::from_lines(&e, &a)
            .unified_diff()
            .context_radius(3)
            .header("expected", "actual")
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(body: Option<&[u8]>) -> OutRequest {
        OutRequest {
            method: "POST".into(),
            url: "http://127.0.0.1:1/oap/session/create".into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn curl_quotes_and_redacts() {
        let secrets = vec![
            SecretHeader {
                name: "X-Api-Key".into(),
                value: "hunter2".into(),
                env: None,
            },
            SecretHeader {
                name: "Authorization".into(),
                value: "Bearer s3cret".into(),
                env: Some("GW_TOKEN".into()),
            },
        ];
        let line = curl_line(&req(Some(b"{\"a\":\"it's\"}")), &secrets);
        assert!(
            line.contains(r#"--data-binary '{"a":"it'\''s"}'"#),
            "{line}"
        );
        assert!(!line.contains("hunter2") && !line.contains("s3cret"));
        assert!(line.contains("\"Authorization: $GW_TOKEN\""));
        let ex = to_exchange(
            &Record {
                step: 0,
                request: req(None),
                response: None,
                expected: None,
                diff: None,
                note: None,
            },
            &secrets,
        );
        let shown = serde_json::to_string(&ex).unwrap_or_default();
        assert!(!shown.contains("hunter2") && !shown.contains("s3cret"));
        assert!(shown.contains(REDACTED));
    }

    #[test]
    fn binary_bodies_go_through_base64() {
        let line = curl_line(&req(Some(&[0xff, 0xfe, b'{'])), &[]);
        assert!(
            line.starts_with("printf '%s' '//57' | base64 -d | curl"),
            "{line}"
        );
    }

    #[test]
    fn diff_shows_only_changes() {
        let d = json_diff(
            &json!({"status": 409, "a": 1}),
            &json!({"status": 200, "a": 1}),
        );
        let d = d.unwrap_or_default();
        assert!(
            d.contains("-  \"status\": 409") && d.contains("+  \"status\": 200"),
            "{d}"
        );
        assert!(json_diff(&json!(1), &json!(1)).is_none());
    }
}
