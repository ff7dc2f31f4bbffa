//! The public (unsigned) documents: the manifest, the state schema and the OpenAPI description.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::engine::{ACTIONS, schema};
use crate::faults::Fault;

use super::AppState;
use super::auth::base_url;

/// Path of the state schema.
pub const SCHEMA_PATH: &str = "/oap/schemas/session-state.json";
/// The OpenAPI 3.1 description, kept as a file beside this module.
pub const OPENAPI: &str = include_str!("openapi.json");

/// `GET /oap/manifest`.
pub async fn manifest(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let base = base_url(app.public_url.as_deref(), &headers);
    let limits = app.engine.limits();
    let mut doc = json!({
        "oap_version": "1.1",
        "tool_did": app.engine.tool_did(),
        "name": "oap-ref",
        "conformance_level": "L4",
        "bindings": if app.amp { vec!["oap", "amp"] } else { vec!["oap"] },
        "actions": ACTIONS,
        "auth": {
            "scheme": "rfc9421-ed25519",
            "signature_window_seconds": limits.signature_window_seconds,
        },
        "sessions": {
            "supported": true,
            "max_participants": limits.max_participants,
            "max_duration_hours": limits.max_duration_hours,
            "state_schema": format!("{base}{SCHEMA_PATH}"),
            "concurrency_model": "optimistic",
            "resumable_after_disconnect": true,
            "supports_pause": true,
            "supports_handoff": true,
            "max_sessions_per_convener": limits.max_sessions_per_convener,
        },
    });
    if app.engine.faults().has(Fault::ManifestMissingSessionsBlock)
        && let Some(obj) = doc.as_object_mut()
    {
        obj.remove("sessions");
    }
    (StatusCode::OK, axum::Json(doc)).into_response()
}

/// `GET /oap/schemas/session-state.json`.
pub async fn state_schema(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let base = base_url(app.public_url.as_deref(), &headers);
    let doc: Value = schema::document(&format!("{base}{SCHEMA_PATH}"));
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/schema+json")],
        doc.to_string(),
    )
        .into_response()
}

/// `GET /oap/openapi.json` (without the AMP paths when the AMP binding is not served).
pub async fn openapi(State(app): State<AppState>) -> Response {
    let body = if app.amp {
        OPENAPI.to_owned()
    } else {
        let mut doc: Value = serde_json::from_str(OPENAPI).unwrap_or(Value::Null);
        if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
            paths.retain(|p, _| !p.starts_with(super::amp::PREFIX));
        }
        doc.to_string()
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
