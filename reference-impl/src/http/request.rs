//! Reading a request before any handler logic: body size (413), media type (415), then
//! authentication (401), in the profile's check order, and the final wait that makes the
//! request's nonce durable before the answer leaves.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::AppState;
use super::auth::{self, Actor};
use super::envelope::MAX_BODY_BYTES;
use super::error::ApiError;
use crate::faults::Fault;
use crate::store::RequestNonce;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A request that passed size, media type and authentication.
#[derive(Debug)]
pub struct Signed {
    /// The authenticated signer's did:key: the request's actor.
    pub actor: String,
    /// The request path and query.
    pub uri: Uri,
    /// The request headers.
    pub headers: HeaderMap,
    /// The body (empty for GET).
    pub body: Bytes,
    /// The request's accepted nonce.
    pub nonce: RequestNonce,
    /// Set once the nonce was committed with a turn, so that [`finish`] need not write it.
    pub nonce_recorded: Arc<AtomicBool>,
}

impl Signed {
    /// The nonce to commit with this request's turn.
    pub fn turn_nonce(&self) -> Option<RequestNonce> {
        Some(self.nonce)
    }

    /// Notes that a turn carrying [`Signed::turn_nonce`] was acknowledged (so is durable).
    pub fn nonce_committed(&self) {
        self.nonce_recorded.store(true, Ordering::SeqCst);
    }
}

/// Reads and authenticates a request (bodies are read for POST only).
pub async fn read(app: &AppState, req: Request) -> Result<Signed, ApiError> {
    let (parts, body) = req.into_parts();
    let has_body = parts.method == Method::POST;
    let bytes = if has_body {
        let bytes = read_body(&parts.headers, body).await?;
        check_media_type(&parts.headers)?;
        bytes
    } else {
        Bytes::new()
    };
    let Actor { did, nonce } = auth::authenticate(
        &app.engine,
        app.public_url.as_deref(),
        &parts.method,
        &parts.uri,
        &parts.headers,
        has_body.then_some(&bytes[..]),
    )
    .await?;
    Ok(Signed {
        actor: did,
        uri: parts.uri,
        headers: parts.headers,
        body: bytes,
        nonce,
        nonce_recorded: Arc::new(AtomicBool::new(false)),
    })
}

async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(ApiError::too_large(MAX_BODY_BYTES));
    }
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if is_length_limit(&*e) => Err(ApiError::too_large(MAX_BODY_BYTES)),
        Err(e) => Err(ApiError::new(
            400,
            "malformed_envelope",
            format!("reading the body: {e}"),
        )),
    }
}

/// Whether a body error is (or wraps) a length-limit error: the limit may have been hit by the
/// tower body-limit layer's wrapper or by this module's own.
fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// `Content-Type` must be `application/json` (parameters such as `charset=utf-8` allowed).
fn check_media_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            415,
            "unsupported_media_type",
            "request bodies must be Content-Type: application/json",
        ))
    }
}

/// Answers once the request's nonce is durable: committed with the request's turn, or written
/// now. If it cannot be made durable the answer is withheld (503), so that no replay could
/// succeed after a crash.
pub async fn finish(
    app: &AppState,
    nonce: RequestNonce,
    recorded: &AtomicBool,
    answer: Result<Response, ApiError>,
) -> Response {
    if recorded.load(Ordering::SeqCst) || app.engine.faults().has(Fault::AckBeforeDurable) {
        // (With `ack-before-durable` the broken Tool answers without waiting for the disk.)
        return answer.unwrap_or_else(IntoResponse::into_response);
    }
    match app.engine.record_request_nonce(nonce).wait().await {
        Ok(()) => answer.unwrap_or_else(IntoResponse::into_response),
        Err(e) => ApiError::new(
            503,
            "storage_unavailable",
            format!("recording the request nonce: {e}"),
        )
        .into_response(),
    }
}
