//! The request replay cache (profile §3): each (`keyid`, `nonce`) is accepted once within the
//! signature window, durably.
//!
//! Accepted nonces are held in memory as 16-byte hashes with their expiry (pruned as they
//! expire) and written through the store's group commit, in the same transaction as the turn the
//! request makes (or on their own when it makes none); a binding answers only once that write is
//! durable, so an answered request's nonce always survives a crash. At start the engine reads
//! every nonce still live in the store (accepted by a previous run within the window) into
//! memory, so a check never has to ask the store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use sha2::{Digest, Sha256};

use crate::faults::Fault;
use crate::store::{RequestNonce, Ticket, Write};

use super::{Engine, EngineError, lock};

/// How far in the future a signature's `created` may lie (profile §3).
pub const MAX_FUTURE_SKEW_SECONDS: i64 = 30;
/// How often the in-memory cache is pruned.
const PRUNE_EVERY_SECONDS: i64 = 10;

/// In-memory replay cache.
pub(super) struct ReplayCache {
    seen: Mutex<HashMap<[u8; 16], i64>>,
    last_prune: AtomicI64,
}

impl ReplayCache {
    /// A cache holding `previous`, the nonces a previous run accepted that are still live.
    pub(super) fn new(now: i64, previous: Vec<RequestNonce>) -> Self {
        let mut seen: HashMap<[u8; 16], i64> = HashMap::with_capacity(previous.len());
        for n in previous {
            let e = seen.entry(n.key).or_insert(n.expires_at);
            *e = (*e).max(n.expires_at);
        }
        ReplayCache {
            seen: Mutex::new(seen),
            last_prune: AtomicI64::new(now),
        }
    }
}

/// The outcome of presenting a request nonce.
#[derive(Debug)]
pub enum NonceCheck {
    /// First use: accepted and reserved in memory. It must be made durable before the request
    /// is answered: with the request's turn ([`crate::engine::TurnRequest::request_nonce`]), or
    /// on its own with [`Engine::record_request_nonce`].
    Fresh(RequestNonce),
    /// Already accepted within the window.
    Replayed,
}

fn key_of(keyid: &str, nonce: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(keyid.as_bytes());
    h.update([0u8]);
    h.update(nonce.as_bytes());
    let digest = h.finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

impl Engine {
    /// Accepts (`keyid`, `nonce`) if it was not accepted within the window, and records it
    /// durably. `created` is the signature's (already checked) creation time.
    pub async fn accept_request_nonce(
        &self,
        keyid: &str,
        nonce: &str,
        created: i64,
    ) -> Result<NonceCheck, EngineError> {
        let now = self.now();
        let window = i64::from(self.limits().signature_window_seconds);
        let expires_at = now
            .max(created)
            .saturating_add(window + MAX_FUTURE_SKEW_SECONDS);
        let key = key_of(keyid, nonce);
        let cache = &self.inner.replay;
        let check = !self.fault(Fault::AcceptReusedNonce);
        {
            let mut seen = lock(&cache.seen);
            if now - cache.last_prune.load(Ordering::Relaxed) >= PRUNE_EVERY_SECONDS {
                cache.last_prune.store(now, Ordering::Relaxed);
                seen.retain(|_, exp| *exp >= now);
            }
            match seen.get(&key) {
                Some(exp) if *exp >= now && check => return Ok(NonceCheck::Replayed),
                _ => {
                    seen.insert(key, expires_at);
                }
            }
        }
        Ok(NonceCheck::Fresh(RequestNonce { key, expires_at }))
    }

    /// Makes an accepted request nonce durable on its own (for requests that made no turn).
    pub fn record_request_nonce(&self, nonce: RequestNonce) -> Ticket {
        self.store().submit(Write::RequestNonce(nonce))
    }
}
