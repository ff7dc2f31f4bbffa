//! RFC 9457 problem details, the body of every error response.
//!
//! The profile adds one extension member, `code`: a stable snake_case string that a client (and
//! the suite) can match on, since `title` and `detail` are for humans. `type` is
//! `urn:oap:problem:<code>`, so that the RFC's primary identifier is as stable as `code`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The media type of a problem body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The prefix of every problem `type` URI.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:oap:problem:";

/// A problem details object (RFC 9457) with the profile's `code` member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// The problem type URI (`urn:oap:problem:<code>`).
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary: the HTTP reason phrase of `status`.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// A human-readable explanation of this occurrence.
    pub detail: String,
    /// The stable, machine-readable error code.
    pub code: String,
    /// Code-specific extension members (e.g. `current_version`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Problem {
    /// A problem with `type` and `title` derived from `code` and `status`.
    pub fn new(status: u16, code: &str, detail: impl Into<String>) -> Self {
        Self {
            type_uri: format!("{PROBLEM_TYPE_PREFIX}{code}"),
            title: reason_phrase(status).to_owned(),
            status,
            detail: detail.into(),
            code: code.to_owned(),
            extra: Map::new(),
        }
    }

    /// Adds an extension member.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(name.to_owned(), value.into());
        self
    }

    /// The problem as a JSON value.
    pub fn to_value(&self) -> Value {
        let mut m = self.extra.clone();
        m.insert("type".into(), self.type_uri.clone().into());
        m.insert("title".into(), self.title.clone().into());
        m.insert("status".into(), self.status.into());
        m.insert("detail".into(), self.detail.clone().into());
        m.insert("code".into(), self.code.clone().into());
        Value::Object(m)
    }
}

/// The reason phrase of the status codes the profile uses (`"Error"` for others).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shape() {
        let p = Problem::new(409, "version_conflict", "stale").with("current_version", 3);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v, p.to_value());
        assert_eq!(v["type"], "urn:oap:problem:version_conflict");
        assert_eq!(v["title"], "Conflict");
        assert_eq!(v["current_version"], 3);
        let back: Problem = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
    }
}
