//! The OAP binding's signed endpoints: the seven of RFC 0001 §3.2, pause/resume/handoff,
//! `data_delete` and `invoke`.
//!
//! Each handler reads and authenticates the request, parses the envelope and its input (400),
//! maps it onto one engine operation, and shapes the answer. All protocol rules live in the
//! engine; this module only translates.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::engine::{CreateRequest, Op, TurnOutcome, TurnRequest, ccc::Scope};

use super::AppState;
use super::envelope::{self, Envelope, Input};
use super::error::ApiError;
use super::request::{self, Signed};

/// Longest page of `GET log`.
pub const MAX_LOG_LIMIT: usize = 1000;

fn json(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Runs `f` on an authenticated request and answers once the request's nonce is durable.
pub(super) async fn signed<F, Fut>(app: AppState, req: Request, f: F) -> Response
where
    F: FnOnce(AppState, Signed) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>>,
{
    match request::read(&app, req).await {
        Err(e) => e.into_response(),
        Ok(signed) => {
            let (nonce, recorded) = (signed.nonce, signed.nonce_recorded.clone());
            let answer = f(app.clone(), signed).await;
            request::finish(&app, nonce, &recorded, answer).await
        }
    }
}

/// The `{id}` segment of `/oap/session/{id}/…`.
fn path_session_id(signed: &Signed) -> Result<String, ApiError> {
    let id = signed
        .uri
        .path()
        .strip_prefix("/oap/session/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    envelope::session_id(id)
}

fn turn_body(o: &TurnOutcome) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("session_id".into(), json!(o.session_id));
    m.insert("state_version".into(), json!(o.state_version));
    m.insert("status".into(), json!(o.status));
    m.insert("receipt".into(), o.receipt.clone());
    m
}

/// `POST /oap/session/create`.
pub async fn create(State(app): State<AppState>, req: Request) -> Response {
    signed(app, req, |app, s| async move {
        let env = envelope::parse(&s.body, app.engine.faults())?;
        env.no_session()?;
        let input = Input::new(&env, &["ttl_seconds", "scope", "state", "turn_id"])?;
        let ttl_seconds = match input.get("ttl_seconds") {
            None => None,
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 => Some(n),
                _ => return Err(ApiError::malformed("ttl_seconds must be an integer ≥ 1")),
            },
        };
        let scope = Scope::from_value(&input.object("scope")?).map_err(ApiError::malformed)?;
        let turn_id = input.get("turn_id").map(envelope::turn_id).transpose()?;
        let outcome = app
            .engine
            .create(CreateRequest {
                actor: s.actor.clone(),
                ttl_seconds,
                scope,
                state: input.opt_object("state")?,
                turn_id,
                request_nonce: s.turn_nonce(),
            })
            .await?;
        s.nonce_committed();
        let mut body = turn_body(&outcome);
        body.insert("expires_at".into(), json!(outcome.expires_at));
        Ok(json(StatusCode::CREATED, Value::Object(body)))
    })
    .await
}

/// Which session endpoint a turn came through.
#[derive(Clone, Copy, Debug)]
enum Endpoint {
    Join,
    Leave,
    Update,
    Close,
    Pause,
    Resume,
    Handoff,
}

async fn session_turn(app: AppState, req: Request, endpoint: Endpoint) -> Response {
    signed(app, req, move |app, s| async move {
        // Shape first (PRF-ENV-10 step 4): envelope, path id, input, then session_mismatch.
        let env = envelope::parse(&s.body, app.engine.faults())?;
        let path_id = path_session_id(&s)?;
        let op = op_for(endpoint, &env)?;
        if matches!(endpoint, Endpoint::Update)
            && env
                .session
                .as_ref()
                .and_then(|s| s.expected_version)
                .is_none()
        {
            return Err(ApiError::malformed(
                "update requires session.expected_version",
            ));
        }
        let session = env.session_for(&path_id)?.cloned();
        let (turn_id, expected_version) = match session {
            Some(s) => (s.turn_id, s.expected_version),
            None => (oap_wire::ids::TurnId::new().to_string(), None),
        };
        let outcome = app
            .engine
            .turn(TurnRequest {
                actor: s.actor.clone(),
                session_id: path_id,
                turn_id,
                expected_version,
                op,
                request_nonce: s.turn_nonce(),
            })
            .await?;
        s.nonce_committed();
        let mut body = turn_body(&outcome);
        if matches!(endpoint, Endpoint::Update) {
            body.insert("state".into(), outcome.state);
        }
        Ok(json(StatusCode::OK, Value::Object(body)))
    })
    .await
}

fn op_for(endpoint: Endpoint, env: &Envelope) -> Result<Op, ApiError> {
    Ok(match endpoint {
        Endpoint::Join => Op::Join {
            admission: Input::new(env, &["admission"])?.object("admission")?,
        },
        Endpoint::Leave => Op::Leave {
            revocation: Input::new(env, &["revocation"])?.opt_object("revocation")?,
        },
        Endpoint::Update => Op::Update {
            patch: Input::new(env, &["patch"])?.object("patch")?,
        },
        Endpoint::Handoff => Op::Handoff {
            handoff: Input::new(env, &["handoff"])?.object("handoff")?,
        },
        Endpoint::Close | Endpoint::Pause | Endpoint::Resume => {
            Input::new(env, &[])?;
            match endpoint {
                Endpoint::Close => Op::Close,
                Endpoint::Pause => Op::Pause,
                _ => Op::Resume,
            }
        }
    })
}

macro_rules! turn_handler {
    ($($(#[$doc:meta])* $name:ident => $endpoint:ident,)+) => {$(
        $(#[$doc])*
        pub async fn $name(State(app): State<AppState>, req: Request) -> Response {
            session_turn(app, req, Endpoint::$endpoint).await
        }
    )+};
}

turn_handler! {
    /// `POST /oap/session/{id}/join`.
    join => Join,
    /// `POST /oap/session/{id}/leave`.
    leave => Leave,
    /// `POST /oap/session/{id}/update`.
    update => Update,
    /// `POST /oap/session/{id}/close`.
    close => Close,
    /// `POST /oap/session/{id}/pause`.
    pause => Pause,
    /// `POST /oap/session/{id}/resume`.
    resume => Resume,
    /// `POST /oap/session/{id}/handoff`.
    handoff => Handoff,
}

/// `GET /oap/session/{id}/state`.
pub async fn state(State(app): State<AppState>, req: Request) -> Response {
    signed(app, req, |app, s| async move {
        let id = path_session_id(&s)?;
        let view = app.engine.state(&s.actor, &id).await?;
        Ok(json(StatusCode::OK, view))
    })
    .await
}

/// `GET /oap/session/{id}/log?from=&limit=`.
pub async fn log(State(app): State<AppState>, req: Request) -> Response {
    signed(app, req, |app, s| async move {
        let id = path_session_id(&s)?;
        let mut from = 0u64;
        let mut limit = MAX_LOG_LIMIT;
        for pair in s
            .uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let n = || {
                v.parse::<u64>().map_err(|_| {
                    ApiError::malformed(format!(
                        "query parameter {k} must be a non-negative integer"
                    ))
                })
            };
            match k {
                "from" => from = n()?,
                "limit" => {
                    limit = usize::try_from(n()?)
                        .unwrap_or(MAX_LOG_LIMIT)
                        .min(MAX_LOG_LIMIT)
                }
                _ => {}
            }
        }
        let page = app.engine.log(&s.actor, &id, from, limit).await?;
        // Receipts are stored as the JSON the Tool signed: splice them in verbatim.
        let body = format!(
            "{{\"session_id\":{},\"receipts\":[{}],\"next\":{}}}",
            Value::String(page.session_id),
            page.receipts.join(","),
            page.next
                .map_or_else(|| "null".to_owned(), |n| n.to_string()),
        );
        Ok((
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response())
    })
    .await
}

/// `POST /oap/data_delete`.
pub async fn data_delete(State(app): State<AppState>, req: Request) -> Response {
    signed(app, req, |app, s| async move {
        let env = envelope::parse(&s.body, app.engine.faults())?;
        env.no_session()?;
        let input = Input::new(&env, &["session_id"])?;
        let id = match input.get("session_id") {
            Some(Value::String(id)) => envelope::session_id(id)?,
            Some(_) => return Err(ApiError::malformed("input.session_id must be a string")),
            None => return Err(ApiError::malformed("input.session_id is required")),
        };
        app.engine.delete(&s.actor, &id).await?;
        Ok(json(
            StatusCode::OK,
            json!({ "session_id": id, "deleted": true }),
        ))
    })
    .await
}

/// `POST /oap/invoke`: stateless without `session`, a session turn with it.
pub async fn invoke(State(app): State<AppState>, req: Request) -> Response {
    signed(app, req, |app, s| async move {
        let env = envelope::parse(&s.body, app.engine.faults())?;
        let action = env
            .action
            .clone()
            .ok_or_else(|| ApiError::malformed("action is required"))?;
        let input = env.input.clone().unwrap_or_else(|| json!({}));
        crate::engine::run_action(&action, &input)?;
        let Some(session) = env.session.clone() else {
            let (output, receipt) = app.engine.invoke(&s.actor, &action, &input)?;
            return Ok(json(
                StatusCode::OK,
                json!({ "output": output, "receipt": receipt }),
            ));
        };
        let outcome = app
            .engine
            .turn(TurnRequest {
                actor: s.actor.clone(),
                session_id: session.session_id,
                turn_id: session.turn_id,
                expected_version: session.expected_version,
                op: Op::Invoke { action, input },
                request_nonce: s.turn_nonce(),
            })
            .await?;
        s.nonce_committed();
        let mut body = turn_body(&outcome);
        body.insert("output".into(), outcome.output.unwrap_or(Value::Null));
        Ok(json(StatusCode::OK, Value::Object(body)))
    })
    .await
}
