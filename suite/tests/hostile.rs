//! A hostile Tool never breaks the suite.
//!
//! A raw TCP server serves a valid manifest and then, on every other request,
//! misbehaves in one way: bytes that are not HTTP, silence, an endless body, a
//! reset connection, a 500, a body nested 100,000 levels deep, a lying
//! `Content-Length`. Real vectors run against it must end as failed or errored
//! with a reason, within bounded time, and their transcripts must render.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use oap_conform::client::ClientConfig;
use oap_conform::report::Status;
use oap_conform::report::transcript::vector_text;
use oap_conform::run::prepare;
use oap_conform::runner::{run_vector, to_result};
use oap_conform::target::{HttpTarget, Target};
use oap_conform::vector;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug)]
enum Mode {
    Garbage,
    Silent,
    Endless,
    Reset,
    ServerError,
    DeepJson,
    LyingLength,
    NotJson,
}

const MANIFEST: &str = r#"{"oap_version":"1.1","tool_did":"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK","name":"hostile","conformance_level":"L4","bindings":["oap"],"actions":["echo"],"auth":{"scheme":"rfc9421-ed25519","signature_window_seconds":300},"sessions":{"supported":true,"max_participants":4,"max_duration_hours":1,"state_schema":"http://127.0.0.1:1/s.json","concurrency_model":"optimistic","resumable_after_disconnect":true,"supports_pause":true,"supports_handoff":true,"max_sessions_per_convener":2}}"#;

async fn read_head(sock: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

async fn serve_one(mut sock: TcpStream, mode: Mode) {
    let Some(head) = read_head(&mut sock).await else {
        return;
    };
    if head.starts_with("GET /oap/manifest ") {
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{MANIFEST}",
            MANIFEST.len()
        );
        let _ = sock.write_all(resp.as_bytes()).await;
        return;
    }
    match mode {
        Mode::Garbage => {
            let _ = sock
                .write_all(b"\x00\xffHTTP/9.9 banana\r\n\r\n\x01\x02")
                .await;
        }
        Mode::Silent => tokio::time::sleep(Duration::from_secs(3600)).await,
        Mode::Endless => {
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
                .await;
            let block = vec![b'['; 64 * 1024];
            while sock.write_all(&block).await.is_ok() {}
        }
        Mode::Reset => {
            // A zero linger makes the close a TCP reset; with zero it never blocks.
            #[allow(deprecated)]
            let _ = sock.set_linger(Some(Duration::ZERO));
            drop(sock);
        }
        Mode::ServerError => {
            let body = "oops";
            let resp = format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
        Mode::DeepJson => {
            let body = "[".repeat(100_000);
            let resp = format!(
                "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
        Mode::LyingLength => {
            let _ = sock
                .write_all(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{\"a\":")
                .await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Mode::NotJson => {
            let body = "<html>hello</html>";
            let resp = format!(
                "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    }
}

async fn hostile_tool(mode: Mode) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(serve_one(sock, mode));
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_tool_yields_failed_vectors_never_a_crash_or_hang() {
    let set = vector::load(&vector::default_root()).unwrap();
    let picks: Vec<_> = [
        "oap.lifecycle.001",
        "oap.receipts.002",
        "oap.auth.001",
        "oap.hijack.002",
    ]
    .iter()
    .filter_map(|id| set.find(id).cloned())
    .collect();
    assert!(!picks.is_empty(), "the picked vectors exist");
    for mode in [
        Mode::Garbage,
        Mode::Silent,
        Mode::Endless,
        Mode::Reset,
        Mode::ServerError,
        Mode::DeepJson,
        Mode::LyingLength,
        Mode::NotJson,
    ] {
        let url = hostile_tool(mode).await;
        let target: Arc<dyn Target> = Arc::new(HttpTarget::new(&url, None).unwrap());
        let client = ClientConfig {
            request_timeout: Duration::from_millis(800),
            max_response_bytes: 256 * 1024,
            ..ClientConfig::default()
        };
        let ctx = prepare(target, client, &set, Duration::from_secs(10), 0)
            .await
            .unwrap_or_else(|e| panic!("{mode:?}: the manifest is served, prepare must work: {e}"));
        let start = Instant::now();
        for v in &picks {
            let run = run_vector(&ctx, v).await;
            assert!(
                matches!(run.status, Status::Fail | Status::Error),
                "{mode:?} {}: expected fail or error, got {:?}",
                v.path,
                run.status
            );
            let reason = run.reason.clone().unwrap_or_default();
            assert!(!reason.is_empty(), "{mode:?} {}: a reason is given", v.path);
            let text = vector_text(&to_result(v, &run, &[]));
            assert!(text.contains(&v.path));
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{mode:?}: took {:?}",
            start.elapsed()
        );
    }
}

#[tokio::test]
async fn an_unreachable_target_is_told_apart() {
    let set = vector::load(&vector::default_root()).unwrap();
    // Bind then drop: nothing listens on this port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let target: Arc<dyn Target> =
        Arc::new(HttpTarget::new(&format!("http://127.0.0.1:{port}"), None).unwrap());
    let err = prepare(
        target,
        ClientConfig::default(),
        &set,
        Duration::from_secs(5),
        0,
    )
    .await
    .expect_err("unreachable");
    assert!(
        matches!(err, oap_conform::run::RunError::Unreachable(_)),
        "{err}"
    );
}
