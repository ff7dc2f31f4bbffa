//! Client-side helpers shared by the socket-level tests (`tests/common`) and the load generator
//! (`oap-ref-load`): signing a request the profile's way, the envelope of an `update`, and a
//! Tool binary running as a child process. They are not part of the Tool.

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use oap_wire::Keypair;
use serde_json::{Value, json};

/// A fresh request nonce.
pub fn nonce() -> String {
    format!("n{}", ulid::Ulid::new())
}

/// A fresh turn id.
pub fn turn_id() -> String {
    oap_wire::ids::TurnId::new().to_string()
}

/// An envelope for a session endpoint with a fresh turn id.
pub fn envelope(session_id: &str, expected: Option<u64>, input: Value) -> Value {
    let mut session = json!({ "session_id": session_id, "turn_id": turn_id() });
    if let Some(v) = expected {
        session["expected_version"] = json!(v);
    }
    json!({ "envelope_version": "1.0", "session": session, "input": input })
}

/// The body of an `update` of `session_id` at `expected` that sets `step`.
pub fn update_body(session_id: &str, expected: u64, step: u64) -> Vec<u8> {
    envelope(
        session_id,
        Some(expected),
        json!({ "patch": { "step": step } }),
    )
    .to_string()
    .into_bytes()
}

/// The authentication headers of one request: RFC 9421 signature (label `sig1`) and, for a
/// request with a body, its RFC 9530 digest.
#[derive(Clone, Debug)]
pub struct AuthHeaders {
    /// `Signature-Input`.
    pub signature_input: String,
    /// `Signature`.
    pub signature: String,
    /// `Content-Digest` (with `Content-Type: application/json`), when there is a body.
    pub content_digest: Option<String>,
}

/// Signs a request as `key` over `target_uri` (the absolute URL the client uses), covering
/// exactly the components the profile requires.
pub fn sign(
    key: &Keypair,
    method: &str,
    target_uri: &str,
    body: Option<&[u8]>,
    created: i64,
    nonce: &str,
) -> AuthHeaders {
    let content_digest = body.map(oap_wire::digest::content_digest);
    let sig = oap_wire::httpsig::sign(
        key,
        &oap_wire::httpsig::SignRequest {
            method,
            target_uri,
            content_type: body.map(|_| "application/json"),
            content_digest: content_digest.as_deref(),
            created,
            nonce,
            label: "sig1",
        },
    );
    AuthHeaders {
        signature_input: sig.signature_input,
        signature: sig.signature,
        content_digest,
    }
}

/// A signed HTTP/1.1 request, head and body, ready to write on a keep-alive connection to
/// `authority` (`host:port`).
pub fn http1_request(
    key: &Keypair,
    authority: &str,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    created: i64,
    nonce: &str,
) -> Vec<u8> {
    let target = format!("http://{authority}{path}");
    let auth = sign(key, method, &target, body, created, nonce);
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {authority}\r\nsignature-input: {}\r\nsignature: {}\r\n",
        auth.signature_input, auth.signature
    );
    if let Some(d) = &auth.content_digest {
        head.push_str("content-type: application/json\r\ncontent-digest: ");
        head.push_str(d);
        head.push_str("\r\n");
    }
    head.push_str(&format!(
        "content-length: {}\r\n\r\n",
        body.map_or(0, <[u8]>::len)
    ));
    let mut out = head.into_bytes();
    out.extend_from_slice(body.unwrap_or_default());
    out
}

/// A server binary running as a child process that announced `listening on URL` on its
/// standard output. Killed (SIGKILL) and reaped when dropped.
#[derive(Debug)]
pub struct ChildServer {
    /// The child.
    pub child: Child,
    /// Its base URL.
    pub url: String,
    /// Kept open so the child never writes to a closed pipe.
    _stdout: std::io::BufReader<ChildStdout>,
}

impl ChildServer {
    /// The command line `bin serve --listen 127.0.0.1:0 --data DIR [--fault F]…` of the
    /// `oap-ref` binary, to pass to [`ChildServer::start`].
    pub fn tool_command(bin: &Path, data: &Path, faults: &[&str]) -> Command {
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data);
        for f in faults {
            cmd.args(["--fault", f]);
        }
        cmd
    }

    /// Starts `cmd` (its standard output piped, standard input closed) and waits for its
    /// `listening on URL` line.
    pub fn start(mut cmd: Command) -> std::io::Result<ChildServer> {
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).spawn()?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other("no stdout from the child"));
        };
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            if !matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(std::io::Error::other("the child exited before listening"));
            }
            if let Some(url) = line.trim().strip_prefix("listening on ") {
                return Ok(ChildServer {
                    child,
                    url: url.to_owned(),
                    _stdout: reader,
                });
            }
        }
    }

    /// SIGKILL (on unix) and reap.
    pub fn kill(mut self) -> std::io::Result<()> {
        self.child.kill()?;
        self.child.wait().map(|_| ())
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
