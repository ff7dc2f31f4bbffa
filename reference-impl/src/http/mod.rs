//! The HTTP bindings: OAP (RFC 0001 over HTTP + JSON, profile §2–§5) and AMP (RFC 004, profile
//! §12, [`amp`]), on one router and one engine.
//!
//! [`app`] builds the axum router with its tower layers: `Connection: close` on answers that leave
//! the body unread ([`connection`]), tracing, the 1 MiB body limit (its bare 413 turned into a
//! problem body; the request reader enforces the same limit on streamed bodies), a timeout and a
//! global concurrency limit. Unknown paths and methods get problem
//! bodies as well.

pub mod amp;
pub mod amp_message;
pub mod auth;
pub mod connection;
pub mod envelope;
pub mod error;
pub mod oap;
pub mod public;
pub mod request;

use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;

use crate::engine::Engine;
use error::ApiError;

/// Longest time one request may take before it is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests handled at once; more wait for a slot (within the timeout).
pub const MAX_CONCURRENT_REQUESTS: usize = 1024;

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The session engine.
    pub engine: Engine,
    /// The public base URL, when configured (else `http://` + `Host`).
    pub public_url: Option<String>,
    /// Whether the AMP binding is served (and declared in the manifest).
    pub amp: bool,
}

/// Every route of both bindings: `(method, path)`, as the OpenAPI document must describe them
/// (the AMP routes, under [`amp::PREFIX`], only when the binding is served).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/oap/manifest"),
    ("get", "/oap/openapi.json"),
    ("get", public::SCHEMA_PATH),
    ("post", "/oap/session/create"),
    ("post", "/oap/session/{id}/join"),
    ("post", "/oap/session/{id}/leave"),
    ("get", "/oap/session/{id}/state"),
    ("post", "/oap/session/{id}/update"),
    ("post", "/oap/session/{id}/close"),
    ("get", "/oap/session/{id}/log"),
    ("post", "/oap/session/{id}/pause"),
    ("post", "/oap/session/{id}/resume"),
    ("post", "/oap/session/{id}/handoff"),
    ("post", "/oap/data_delete"),
    ("post", "/oap/invoke"),
    ("post", amp::SESSION_PATH),
    ("get", "/amp/session/{id}/state"),
];

/// The body-limit layer answers an oversized `Content-Length` itself, without a problem body:
/// give it one (PRF-ERR-1).
async fn problem_for_bare_413<B>(resp: axum::http::Response<B>) -> axum::response::Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<tower::BoxError>,
{
    let is_problem = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == oap_wire::problem::PROBLEM_CONTENT_TYPE.as_bytes());
    if resp.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE && !is_problem {
        return ApiError::too_large(envelope::MAX_BODY_BYTES).into_response();
    }
    resp.map(axum::body::Body::new)
}

/// The Tool's router (both bindings).
pub fn app(state: AppState) -> Router {
    let mut routes = Router::new()
        .route("/oap/manifest", get(public::manifest))
        .route("/oap/openapi.json", get(public::openapi))
        .route(public::SCHEMA_PATH, get(public::state_schema))
        .route("/oap/session/create", post(oap::create))
        .route("/oap/session/{id}/join", post(oap::join))
        .route("/oap/session/{id}/leave", post(oap::leave))
        .route("/oap/session/{id}/state", get(oap::state))
        .route("/oap/session/{id}/update", post(oap::update))
        .route("/oap/session/{id}/close", post(oap::close))
        .route("/oap/session/{id}/log", get(oap::log))
        .route("/oap/session/{id}/pause", post(oap::pause))
        .route("/oap/session/{id}/resume", post(oap::resume))
        .route("/oap/session/{id}/handoff", post(oap::handoff))
        .route("/oap/data_delete", post(oap::data_delete))
        .route("/oap/invoke", post(oap::invoke));
    if state.amp {
        routes = routes
            .route(amp::SESSION_PATH, post(amp::session))
            .route("/amp/session/{id}/state", get(amp::state));
    }
    let routes = routes
        .fallback(|| async { ApiError::new(404, "not_found", "no such endpoint").into_response() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                405,
                "method_not_allowed",
                "this endpoint does not take this method",
            )
            .into_response()
        })
        .with_state(state.clone());
    routes.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::from_fn(connection::close_if_body_unread))
            .layer(axum::middleware::from_fn_with_state(state, amp::amp_errors))
            .layer(TraceLayer::new_for_http())
            .layer(axum::middleware::map_response(problem_for_bare_413))
            .layer(tower_http::limit::RequestBodyLimitLayer::new(
                envelope::MAX_BODY_BYTES,
            ))
            .layer(HandleErrorLayer::new(|e: tower::BoxError| async move {
                if e.is::<tower::timeout::error::Elapsed>() {
                    ApiError::new(503, "timeout", "the request took too long")
                } else {
                    ApiError::new(503, "overloaded", format!("the Tool is overloaded: {e}"))
                }
            }))
            .layer(tower::timeout::TimeoutLayer::new(REQUEST_TIMEOUT))
            .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                MAX_CONCURRENT_REQUESTS,
            )),
    )
}
