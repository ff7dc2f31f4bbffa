//! The HTTP client every request of a run goes through: bounded in time and
//! size, never following redirects, never trusting the answer.
//!
//! A request is plain data ([`OutRequest`]: method, absolute URL, headers in
//! order, body bytes) so that what is signed, what is sent, what a transcript
//! shows and what `curl` replays are the same bytes. A response is read up to
//! a size cap under one deadline covering connect, headers and body; an
//! endless body, a silent server, a reset connection or garbage on the wire
//! becomes a [`TransportError`], never a panic or a hang.
//!
//! Gateway headers given by the user (`--header`, `--header-env`) are added
//! here, to every request, and are marked secret so transcripts redact them.

use std::time::Duration;

#[cfg(feature = "net")]
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// Default deadline for one request (connect, send, read the whole body).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on a response body.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 << 20;
/// Bodies above this size are sent on a new connection, closed after the answer.
#[cfg(feature = "net")]
const LARGE_BODY: usize = 64 * 1024;
/// What transcripts show instead of a secret header value.
pub const REDACTED: &str = "<redacted>";

/// A header added to every request whose value must never be shown.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
    /// The environment variable it came from (`--header-env`), so a `curl`
    /// line can refer to it instead of redacting.
    pub env: Option<String>,
}

impl std::fmt::Debug for SecretHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretHeader")
            .field("name", &self.name)
            .field("value", &REDACTED)
            .field("env", &self.env)
            .finish()
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Deadline for one request.
    pub request_timeout: Duration,
    /// Cap on a response body.
    pub max_response_bytes: usize,
    /// Gateway headers added to every request.
    pub secret_headers: Vec<SecretHeader>,
    /// Whether to honour `HTTP(S)_PROXY` from the environment.
    pub use_env_proxy: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            secret_headers: Vec::new(),
            use_env_proxy: false,
        }
    }
}

/// A request exactly as it will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutRequest {
    /// HTTP method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers in order (gateway headers are not included: the client adds them).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Option<Vec<u8>>,
}

/// A response as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers in order, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body bytes (at most the cap).
    pub body: Vec<u8>,
}

impl InResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as strict JSON (I-JSON, nesting at most 128 deep, at most `max_bytes`),
    /// as the runner reads every answer it judges.
    pub fn strict_json(&self, max_bytes: usize) -> Result<serde_json::Value, String> {
        if self.body.is_empty() {
            return Err("empty body".into());
        }
        let limits = oap_wire::json::JsonLimits {
            max_depth: 128,
            max_bytes,
        };
        oap_wire::json::parse_strict(&self.body, &limits)
            .map_err(|e| format!("body is not I-JSON: {e}"))
    }
}

/// Why no judgeable response arrived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The deadline passed.
    #[error("no complete response within {0:?}")]
    Timeout(Duration),
    /// The connection could not be made or was reset.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The body exceeded the cap.
    #[error("response body larger than {0} bytes")]
    TooLarge(usize),
    /// The bytes on the wire were not HTTP.
    #[error("malformed response: {0}")]
    Protocol(String),
    /// The request itself could not be built (bad method, header or URL).
    #[error("cannot send request: {0}")]
    Request(String),
}

impl TransportError {
    /// Whether the target could not be reached at all.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            TransportError::Connect(_) | TransportError::Timeout(_)
        )
    }
}

/// Errors building the client.
#[cfg(feature = "net")]
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientBuildError(String);

/// The bounded client (the `net` feature).
#[cfg(feature = "net")]
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    /// The same settings, keeping no idle connection: every request on a new connection.
    fresh: reqwest::Client,
    config: ClientConfig,
}

#[cfg(feature = "net")]
impl HttpClient {
    /// Builds a client.
    pub fn new(config: ClientConfig) -> Result<Self, ClientBuildError> {
        let build = |idle: usize| {
            let mut builder = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(config.request_timeout)
                .timeout(config.request_timeout)
                .pool_max_idle_per_host(idle)
                .user_agent(concat!("oap-conform/", env!("CARGO_PKG_VERSION")));
            if !config.use_env_proxy {
                builder = builder.no_proxy();
            }
            builder.build().map_err(|e| ClientBuildError(e.to_string()))
        };
        Ok(HttpClient {
            inner: build(16)?,
            fresh: build(0)?,
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Sends a request and reads the response under the deadline and cap.
    pub async fn send(&self, req: &OutRequest) -> Result<InResponse, TransportError> {
        if !self.may_reuse(req) {
            // A Tool may answer a large body early (413) without reading it; a connection
            // left in that state must not be reused, and one from the pool may be closing.
            return self.send_fresh(req).await;
        }
        self.send_on(&self.inner, req, false).await
    }

    /// Whether [`HttpClient::send`] may send `req` on a connection kept alive from an earlier
    /// request (large bodies always go on a new one).
    pub fn may_reuse(&self, req: &OutRequest) -> bool {
        req.body.as_ref().is_none_or(|b| b.len() <= LARGE_BODY)
    }

    /// Like [`HttpClient::send`], but on a new connection (never one kept alive from an earlier
    /// request), which is closed after the answer (`Connection: close`).
    pub async fn send_fresh(&self, req: &OutRequest) -> Result<InResponse, TransportError> {
        self.send_on(&self.fresh, req, true).await
    }

    async fn send_on(
        &self,
        client: &reqwest::Client,
        req: &OutRequest,
        close: bool,
    ) -> Result<InResponse, TransportError> {
        let deadline = self.config.request_timeout;
        match tokio::time::timeout(deadline, self.send_inner(client, req, close)).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout(deadline)),
        }
    }

    async fn send_inner(
        &self,
        client: &reqwest::Client,
        req: &OutRequest,
        close: bool,
    ) -> Result<InResponse, TransportError> {
        let bad = |e: String| TransportError::Request(e);
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|e| bad(format!("method {:?}: {e}", req.method)))?;
        let url =
            reqwest::Url::parse(&req.url).map_err(|e| bad(format!("URL {:?}: {e}", req.url)))?;
        let mut headers = HeaderMap::new();
        let all = req.headers.iter().map(|(n, v)| (n, v)).chain(
            self.config
                .secret_headers
                .iter()
                .map(|h| (&h.name, &h.value)),
        );
        for (name, value) in all {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| bad(format!("header name {name:?}: {e}")))?;
            let value = HeaderValue::from_bytes(value.as_bytes())
                .map_err(|e| bad(format!("header {name}: {e}")))?;
            headers.append(name, value);
        }
        if close {
            headers.insert(
                reqwest::header::CONNECTION,
                HeaderValue::from_static("close"),
            );
        }
        let mut builder = client.request(method, url).headers(headers);
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let mut resp = builder.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let cap = self.config.max_response_bytes;
        if resp.content_length().is_some_and(|n| n > cap as u64) {
            return Err(TransportError::TooLarge(cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > cap {
                return Err(TransportError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(InResponse {
            status,
            headers,
            body,
        })
    }
}

#[cfg(feature = "net")]
fn classify(e: reqwest::Error) -> TransportError {
    let text = error_chain(&e);
    if e.is_timeout() {
        TransportError::Timeout(Duration::ZERO)
    } else if e.is_connect() {
        TransportError::Connect(text)
    } else if e.is_builder() {
        TransportError::Request(text)
    } else if e.is_body() || e.is_decode() || e.is_request() {
        // A reset mid-exchange or bytes that are not HTTP.
        if text.contains("reset") || text.contains("closed") || text.contains("broken pipe") {
            TransportError::Connect(text)
        } else {
            TransportError::Protocol(text)
        }
    } else {
        TransportError::Protocol(text)
    }
}

/// The error and its sources on one line.
#[cfg(feature = "net")]
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
