//! The AMP binding's messages over HTTP for the workload (profile §12): `SESSION_INIT` and
//! `SESSION_ACCEPT` to set a session up, `SESSION_MSG` and `SESSION_STATE` to race, and the state
//! endpoint for the `history`. Signed and sent like every other request of [`SessionClient`]; each answer read
//! into a [`Ret`], nothing guessed: a 5xx, a timeout or a 200 that is not a readable
//! `SESSION_ACK` is [`Ret::Indeterminate`].

use oap_wire::Keypair;
use serde_json::{Value, json};

use super::answer::{self, body_json, truncated};
use super::history::Ret;
use super::wire::{SessionClient, SetupError};
use crate::client::InResponse;

/// The endpoint every AMP message is posted to.
pub const AMP_PATH: &str = "/amp/session";

impl SessionClient {
    /// Posts one AMP message signed by `key`.
    async fn amp_post(&self, key: &Keypair, message: &Value) -> Result<InResponse, Ret> {
        self.send(key, "POST", AMP_PATH, Some(message)).await
    }

    /// One setup message that must be answered 200 with a reply of type `reply`.
    async fn amp_setup(
        &self,
        what: &'static str,
        key: &Keypair,
        message: &Value,
        reply: &str,
    ) -> Result<(), SetupError> {
        let refused = |status, body| SetupError::Refused { what, status, body };
        let resp = match self.amp_post(key, message).await {
            Ok(resp) => resp,
            Err(ret) => return Err(refused(0, format!("{ret:?}"))),
        };
        let ok = body_json(&resp)
            .as_ref()
            .and_then(|b| b.get("type"))
            .and_then(Value::as_str)
            == Some(reply);
        if resp.status == 200 && ok {
            Ok(())
        } else {
            Err(refused(resp.status, truncated(&resp)))
        }
    }

    /// `SESSION_INIT` (id `init`) by `initiator` for `session_id`, inviting `invitees`; the
    /// reply must be `SESSION_ACCEPT`.
    pub async fn amp_init(
        &self,
        initiator: &Keypair,
        session_id: &str,
        invitees: &[&str],
    ) -> Result<(), SetupError> {
        let message = json!({
            "type": "SESSION_INIT",
            "id": "init",
            "from": initiator.did,
            "session_id": session_id,
            "purpose": "concurrency-scenario",
            "ttl": 3600,
            "participants": invitees,
        });
        self.amp_setup("SESSION_INIT", initiator, &message, "SESSION_ACCEPT")
            .await
    }

    /// `SESSION_ACCEPT` (id `accept`) by `invitee`; the reply must be `SESSION_ACK`.
    pub async fn amp_accept(&self, invitee: &Keypair, session_id: &str) -> Result<(), SetupError> {
        let message = json!({
            "type": "SESSION_ACCEPT",
            "id": "accept",
            "from": invitee.did,
            "session_id": session_id,
        });
        self.amp_setup("SESSION_ACCEPT", invitee, &message, "SESSION_ACK")
            .await
    }

    /// `SESSION_MSG` with id `msg_id` and `body`, by `key`.
    pub async fn amp_message(
        &self,
        key: &Keypair,
        session_id: &str,
        msg_id: &str,
        body: &Value,
    ) -> Ret {
        let message = json!({
            "type": "SESSION_MSG",
            "id": msg_id,
            "from": key.did,
            "session_id": session_id,
            "body": body,
        });
        match self.amp_post(key, &message).await {
            Ok(resp) => answer::amp_ack(&resp),
            Err(ret) => ret,
        }
    }

    /// `SESSION_STATE` with id `msg_id`, `expected_seq` and the context merge `patch`, by
    /// `key`: a `SESSION_ACK`, or a `version_conflict` with its `current_seq`.
    pub async fn amp_state(
        &self,
        key: &Keypair,
        session_id: &str,
        msg_id: &str,
        expected_seq: u64,
        patch: &Value,
    ) -> Ret {
        let message = json!({
            "type": "SESSION_STATE",
            "id": msg_id,
            "from": key.did,
            "session_id": session_id,
            "patch": patch,
            "expected_seq": expected_seq,
        });
        match self.amp_post(key, &message).await {
            Ok(resp) => answer::amp_state_ack(&resp),
            Err(ret) => ret,
        }
    }

    /// `GET /amp/session/{id}/state` by `key`: its `history`.
    pub async fn amp_history(&self, key: &Keypair, session_id: &str) -> Ret {
        let path = format!("{AMP_PATH}/{session_id}/state");
        match self.send(key, "GET", &path, None).await {
            Ok(resp) => answer::amp_history(&resp),
            Err(ret) => ret,
        }
    }
}
