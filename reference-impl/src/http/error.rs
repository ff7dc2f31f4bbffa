//! `ApiError`: every refusal of the OAP binding, answered as an RFC 9457 problem body.
//!
//! One type implements `IntoResponse`, so every handler returns `Result<_, ApiError>` and no
//! error can escape without a `code`. Engine refusals convert through their stable codes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oap_wire::problem::{PROBLEM_CONTENT_TYPE, Problem};
use serde_json::Value;

use crate::engine::EngineError;

/// A problem answer: status, stable `code`, human `detail`, code-specific members.
#[derive(Debug, Clone)]
pub struct ApiError {
    problem: Box<Problem>,
}

impl ApiError {
    /// A problem with `status`, `code` and `detail`.
    pub fn new(status: u16, code: &str, detail: impl Into<String>) -> Self {
        ApiError {
            problem: Box::new(Problem::new(status, code, detail)),
        }
    }

    /// Adds a code-specific member.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.problem.extra.insert(name.to_owned(), value.into());
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.problem.status
    }

    /// The problem `code`.
    pub fn code(&self) -> &str {
        &self.problem.code
    }

    /// The human-readable `detail`.
    pub fn detail(&self) -> &str {
        &self.problem.detail
    }

    /// 400 `malformed_envelope`.
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(400, "malformed_envelope", detail)
    }

    /// 400 `invalid_identifier`.
    pub fn invalid_identifier(detail: impl Into<String>) -> Self {
        Self::new(400, "invalid_identifier", detail)
    }

    /// 401 with one of the authentication codes.
    pub fn unauthorized(code: &str, detail: impl Into<String>) -> Self {
        Self::new(401, code, detail)
    }

    /// 413 `payload_too_large`.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "payload_too_large",
            format!("the body exceeds {limit} bytes"),
        )
    }

    /// 404 `session_not_found`: one constant body, whether the session exists or not.
    pub fn session_not_found() -> Self {
        Self::new(
            404,
            "session_not_found",
            "no such session, or not a participant",
        )
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match &e {
            EngineError::NotFound => ApiError::session_not_found(),
            EngineError::VersionConflict { current, .. } => {
                ApiError::new(409, e.code(), e.to_string()).with("current_version", *current)
            }
            EngineError::Storage(_) | EngineError::Internal(_) => {
                tracing::error!(error = %e, "request failed inside the Tool");
                ApiError::new(e.http_status(), e.code(), e.to_string())
            }
            _ => ApiError::new(e.http_status(), e.code(), e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = self.problem.to_value().to_string();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        resp
    }
}
