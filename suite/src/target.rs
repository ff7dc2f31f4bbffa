//! The Tool under test, as the suite sees it: a base URL, its manifest, and
//! optionally a way to restart it.
//!
//! Every target is reached over HTTP. The bundled reference Tool is started by
//! the binary (or the test harness) and handed in like any vendor endpoint, as
//! a URL plus a restart hook, so the library judges every Tool through the same
//! code path and never names the one it ships with. For remote Tools,
//! `--restart-cmd` becomes a hook that runs a shell command and waits until
//! the manifest answers again.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::client::{HttpClient, OutRequest, TransportError};

/// A restart in progress.
pub type RestartFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
/// Restarts the Tool; resolves when it is serving again.
pub type RestartHook = Arc<dyn Fn() -> RestartFuture + Send + Sync>;

/// Path of the manifest.
pub const MANIFEST_PATH: &str = "/oap/manifest";
/// How long a restarted Tool may take to answer again.
pub const RESTART_READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a `--restart-cmd` may run.
pub const RESTART_CMD_TIMEOUT: Duration = Duration::from_secs(120);

/// The Tool under test.
pub trait Target: Send + Sync {
    /// Base URL without a trailing `/` (`http://127.0.0.1:8080`, `https://gw/tools/x`).
    fn base_url(&self) -> &str;
    /// Whether [`Target::restart`] is available.
    fn can_restart(&self) -> bool;
    /// Restarts the Tool and resolves once it answers again.
    fn restart(&self) -> RestartFuture;
}

/// A Tool reached over HTTP, with an optional restart hook.
#[derive(Clone)]
pub struct HttpTarget {
    base: String,
    hook: Option<RestartHook>,
}

impl std::fmt::Debug for HttpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTarget")
            .field("base", &self.base)
            .field("restart", &self.hook.is_some())
            .finish()
    }
}

/// Errors about the target's address or manifest.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The URL is not an absolute http(s) URL.
    #[error("target {0:?} is not an absolute http:// or https:// URL")]
    BadUrl(String),
    /// Nothing answered.
    #[error("target unreachable at {url}: {source}")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// Why.
        source: TransportError,
    },
    /// Something answered, but not a manifest.
    #[error("no usable manifest at {url}: {reason}")]
    BadManifest {
        /// The URL tried.
        url: String,
        /// Why.
        reason: String,
    },
}

impl HttpTarget {
    /// A target at `base` (trailing `/` removed).
    pub fn new(base: &str, hook: Option<RestartHook>) -> Result<Self, TargetError> {
        let parsed = url::Url::parse(base).map_err(|_| TargetError::BadUrl(base.into()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(TargetError::BadUrl(base.into()));
        }
        Ok(HttpTarget {
            base: base.trim_end_matches('/').to_owned(),
            hook,
        })
    }

    /// Whether the host is a loopback address (no proxy applies).
    pub fn is_loopback(&self) -> bool {
        url::Url::parse(&self.base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .is_some_and(|h| h == "localhost" || h == "[::1]" || h.starts_with("127."))
    }
}

impl Target for HttpTarget {
    fn base_url(&self) -> &str {
        &self.base
    }

    fn can_restart(&self) -> bool {
        self.hook.is_some()
    }

    fn restart(&self) -> RestartFuture {
        match &self.hook {
            Some(hook) => hook(),
            None => Box::pin(async { Err("no restart hook (--restart-cmd)".to_owned()) }),
        }
    }
}

/// Fetches and parses the manifest (public, unsigned).
pub async fn fetch_manifest(client: &HttpClient, base: &str) -> Result<Value, TargetError> {
    let url = format!("{base}{MANIFEST_PATH}");
    let req = OutRequest {
        method: "GET".into(),
        url: url.clone(),
        headers: vec![("Accept".into(), "application/json".into())],
        body: None,
    };
    let resp = client
        .send(&req)
        .await
        .map_err(|source| TargetError::Unreachable {
            url: url.clone(),
            source,
        })?;
    let bad = |reason: String| TargetError::BadManifest {
        url: url.clone(),
        reason,
    };
    if resp.status != 200 {
        return Err(bad(format!("status {}", resp.status)));
    }
    let limits = oap_wire::json::JsonLimits {
        max_depth: 64,
        max_bytes: client.config().max_response_bytes,
    };
    let manifest = oap_wire::json::parse_strict(&resp.body, &limits)
        .map_err(|e| bad(format!("not JSON: {e}")))?;
    if !manifest.is_object() {
        return Err(bad("not a JSON object".into()));
    }
    Ok(manifest)
}

/// Waits until the manifest answers 200 again, polling.
pub async fn wait_until_ready(
    client: &HttpClient,
    base: &str,
    timeout: Duration,
) -> Result<(), String> {
    let start = tokio::time::Instant::now();
    loop {
        match fetch_manifest(client, base).await {
            Ok(_) => return Ok(()),
            Err(e) if start.elapsed() >= timeout => {
                return Err(format!("Tool not ready after {timeout:?}: {e}"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// A restart hook that runs `sh -c CMD` and then waits for the manifest.
pub fn command_restart_hook(cmd: String, client: HttpClient, base: String) -> RestartHook {
    Arc::new(move || {
        let (cmd, client, base) = (cmd.clone(), client.clone(), base.clone());
        Box::pin(async move {
            let child = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .kill_on_drop(true)
                .output();
            let out = tokio::time::timeout(RESTART_CMD_TIMEOUT, child)
                .await
                .map_err(|_| {
                    format!("restart command did not finish within {RESTART_CMD_TIMEOUT:?}")
                })?
                .map_err(|e| format!("restart command could not run: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "restart command failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            wait_until_ready(&client, &base, RESTART_READY_TIMEOUT).await
        })
    })
}

/// Whether a dotted manifest path (`sessions.supports_pause`) is `true`.
pub fn capability(manifest: &Value, path: &str) -> bool {
    path.split('.')
        .try_fold(manifest, |v, key| v.get(key))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn capabilities_are_true_only_when_declared_true() {
        let m = json!({"sessions": {"supports_pause": true, "supports_handoff": "yes"}});
        assert!(capability(&m, "sessions.supports_pause"));
        assert!(!capability(&m, "sessions.supports_handoff"));
        assert!(!capability(&m, "sessions.nope"));
        assert!(!capability(&m, "x.y.z"));
    }

    #[test]
    fn urls() {
        assert!(HttpTarget::new("ftp://x", None).is_err());
        assert!(HttpTarget::new("not a url", None).is_err());
        let t = HttpTarget::new("http://127.0.0.1:9/", None).ok();
        assert_eq!(t.as_ref().map(|t| t.base_url()), Some("http://127.0.0.1:9"));
        assert!(t.is_some_and(|t| t.is_loopback() && !t.can_restart()));
    }
}
