//! Through real sockets: restart on the same data directory (sessions, ledger, nonces and log
//! intact; a replayed request is still refused) and a crash-like abort.

use std::time::Duration;

use oap_ref::{Config, Running};
use serde_json::{Value, json};

use crate::support::{Agent, env, nonce, scope};

struct Client {
    http: reqwest::Client,
    base: String,
}

struct Sent {
    method: &'static str,
    path: String,
    body: Option<Vec<u8>>,
    created: i64,
    nonce: String,
}

impl Client {
    fn new(running: &Running) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: running.url.clone(),
        }
    }

    async fn send(&self, agent: &Agent, s: &Sent) -> (u16, Value) {
        let target = format!("{}{}", self.base, s.path);
        let digest = s.body.as_deref().map(oap_wire::digest::content_digest);
        let headers = oap_wire::httpsig::sign(
            &agent.key,
            &oap_wire::httpsig::SignRequest {
                method: s.method,
                target_uri: &target,
                content_type: s.body.as_ref().map(|_| "application/json"),
                content_digest: digest.as_deref(),
                created: s.created,
                nonce: &s.nonce,
                label: "sig1",
            },
        );
        let mut req = self
            .http
            .request(s.method.parse().unwrap(), &target)
            .header("signature-input", headers.signature_input)
            .header("signature", headers.signature);
        if let (Some(body), Some(d)) = (&s.body, &digest) {
            req = req
                .header("content-type", "application/json")
                .header("content-digest", d)
                .body(body.clone());
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn call(
        &self,
        agent: &Agent,
        method: &'static str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let s = Sent {
            method,
            path: path.to_owned(),
            body: body.map(|b| b.to_string().into_bytes()),
            created: oap_wire::time::unix_now(),
            nonce: nonce(),
        };
        self.send(agent, &s).await
    }
}

fn config(dir: &std::path::Path) -> Config {
    Config {
        data_dir: dir.to_owned(),
        ..Config::default()
    }
}

#[tokio::test]
async fn restart_keeps_sessions_ledger_nonces_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let running = oap_ref::serve(config(dir.path())).await.unwrap();
    let client = Client::new(&running);
    let (a, b) = (Agent::new(), Agent::new());
    let manifest: Value = reqwest::get(format!("{}/oap/manifest", running.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tool_did = manifest["tool_did"].as_str().unwrap().to_owned();

    let create =
        json!({ "envelope_version": "1.0", "input": { "scope": scope("internal", "internal") } });
    let (status, created) = client
        .call(&a, "POST", "/oap/session/create", Some(create))
        .await;
    assert_eq!(status, 201, "{created}");
    let sid = created["session_id"].as_str().unwrap().to_owned();
    let adm = crate::support::credential(
        &a,
        json!({ "type": "SessionAdmission", "session_id": sid,
        "subject": b.did(), "scope": scope("internal", "internal"), "nonce": nonce(),
        "issued_at": oap_wire::time::now_rfc3339(),
        "expires_at": oap_wire::time::format_unix(oap_wire::time::unix_now() + 600) }),
    );
    let join = env(&sid, None, json!({ "admission": adm.clone() }));
    assert_eq!(
        client
            .call(&b, "POST", &format!("/oap/session/{sid}/join"), Some(join))
            .await
            .0,
        200
    );
    let update = Sent {
        method: "POST",
        path: format!("/oap/session/{sid}/update"),
        body: Some(
            env(&sid, Some(1), json!({"patch": {"step": 7}}))
                .to_string()
                .into_bytes(),
        ),
        created: oap_wire::time::unix_now(),
        nonce: nonce(),
    };
    assert_eq!(client.send(&b, &update).await.0, 200);
    let (_, log_before) = client
        .call(&b, "GET", &format!("/oap/session/{sid}/log"), None)
        .await;
    running.shutdown().await;

    let running = oap_ref::serve(config(dir.path())).await.unwrap();
    let client = Client::new(&running);
    // The same request, replayed after the restart: still refused.
    assert_eq!(
        client.send(&b, &update).await.1["code"],
        json!("replayed_request")
    );
    let (status, st) = client
        .call(&b, "GET", &format!("/oap/session/{sid}/state"), None)
        .await;
    assert_eq!(status, 200, "{st}");
    assert_eq!(st["state_version"], json!(2));
    assert_eq!(st["state"], json!({"step": 7}));
    assert_eq!(st["participants"].as_array().unwrap().len(), 2);
    let (_, log_after) = client
        .call(&b, "GET", &format!("/oap/session/{sid}/log"), None)
        .await;
    assert_eq!(log_before, log_after);
    // The spent admission stays spent; the chain continues with the same key.
    let (_, left) = client
        .call(
            &b,
            "POST",
            &format!("/oap/session/{sid}/leave"),
            Some(env(&sid, None, json!({}))),
        )
        .await;
    assert_eq!(left["state_version"], json!(3));
    let rejoin = env(&sid, None, json!({ "admission": adm }));
    let (status, body) = client
        .call(
            &b,
            "POST",
            &format!("/oap/session/{sid}/join"),
            Some(rejoin),
        )
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("invalid_credential"))
    );
    let (_, log) = client
        .call(&a, "GET", &format!("/oap/session/{sid}/log"), None)
        .await;
    let receipts = log["receipts"].as_array().unwrap();
    oap_wire::receipt::verify_chain(receipts, &sid, Some(&tool_did)).unwrap();
    running.shutdown().await;
}

#[tokio::test]
async fn acknowledged_turns_survive_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let running = oap_ref::serve(config(dir.path())).await.unwrap();
    let client = Client::new(&running);
    let a = Agent::new();
    let create =
        json!({ "envelope_version": "1.0", "input": { "scope": scope("public", "public") } });
    let (_, created) = client
        .call(&a, "POST", "/oap/session/create", Some(create))
        .await;
    let sid = created["session_id"].as_str().unwrap().to_owned();
    let mut acked = 0;
    for v in 0..20u64 {
        let body = env(&sid, Some(v), json!({"patch": {"step": v}}));
        if client
            .call(
                &a,
                "POST",
                &format!("/oap/session/{sid}/update"),
                Some(body),
            )
            .await
            .0
            == 200
        {
            acked += 1;
        }
    }
    running.abort();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let running = oap_ref::serve(config(dir.path())).await.unwrap();
    let client = Client::new(&running);
    let (_, st) = client
        .call(&a, "GET", &format!("/oap/session/{sid}/state"), None)
        .await;
    assert_eq!(st["state_version"], json!(acked));
    running.shutdown().await;
}
