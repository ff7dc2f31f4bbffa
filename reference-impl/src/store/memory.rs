//! An in-memory [`Store`]: the same contract as [`super::SqliteStore`], without a disk.
//!
//! For tests and the model-based fuzz target, which drive the engine through thousands of
//! operation sequences a second and need no durability. A write is applied atomically under one
//! lock (all of a [`Write::Turn`] or none of it, like the SQLite savepoint) and its ticket is
//! resolved at once. After [`Store::shutdown`] or [`Store::abort`] every write is refused with
//! [`StoreError::Closed`]; what was applied stays readable.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{
    AppliedMessage, HistoryRow, ReceiptRow, RequestNonce, SessionRow, Store, StoreError, Ticket,
    Write,
};

#[derive(Debug, Default)]
struct Data {
    sessions: HashMap<String, SessionRow>,
    /// Per session: version → receipt.
    receipts: HashMap<String, BTreeMap<u64, ReceiptRow>>,
    credential_nonces: HashSet<(String, String)>,
    /// Per session: seq → entry.
    history: HashMap<String, BTreeMap<u64, HistoryRow>>,
    request_nonces: HashMap<[u8; 16], i64>,
}

/// The in-memory store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    data: Mutex<Data>,
    closed: AtomicBool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read<T>(&self, f: impl FnOnce(&Data) -> T) -> Result<T, StoreError> {
        self.data
            .lock()
            .map(|d| f(&d))
            .map_err(|_| StoreError::Corrupt("store lock poisoned".into()))
    }
}

fn apply(data: &mut Data, write: Write) -> Result<(), StoreError> {
    match write {
        Write::Turn {
            session,
            receipt,
            credential_nonce,
            request_nonce,
            history,
            allow_overwrite,
        } => {
            let id = session.session_id.clone();
            // Check every constraint first, so that a refused write changes nothing.
            if let Some(r) = &receipt
                && !allow_overwrite
                && data
                    .receipts
                    .get(&id)
                    .is_some_and(|m| m.contains_key(&r.version))
            {
                return Err(StoreError::Database(format!(
                    "receipt {id} version {} already stored",
                    r.version
                )));
            }
            if let Some(h) = &history
                && !allow_overwrite
                && data
                    .history
                    .get(&id)
                    .is_some_and(|m| m.contains_key(&h.seq))
            {
                return Err(StoreError::Database(format!(
                    "history {id} seq {} already stored",
                    h.seq
                )));
            }
            if let Some(n) = request_nonce {
                record_nonce(data, &n);
            }
            if let Some(r) = receipt {
                data.receipts
                    .entry(id.clone())
                    .or_default()
                    .insert(r.version, r);
            }
            if let Some(h) = history {
                data.history
                    .entry(id.clone())
                    .or_default()
                    .insert(h.seq, *h);
            }
            if let Some(n) = credential_nonce {
                data.credential_nonces.insert((id.clone(), n));
            }
            data.sessions.insert(id, session);
        }
        Write::RequestNonce(n) => record_nonce(data, &n),
        Write::DeleteSession { session_id } => {
            data.receipts.remove(&session_id);
            data.history.remove(&session_id);
            data.credential_nonces.retain(|(s, _)| s != &session_id);
            data.sessions.remove(&session_id);
        }
    }
    Ok(())
}

fn record_nonce(data: &mut Data, n: &RequestNonce) {
    let e = data.request_nonces.entry(n.key).or_insert(n.expires_at);
    *e = (*e).max(n.expires_at);
}

impl Store for MemoryStore {
    fn load_head(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        self.read(|d| d.sessions.get(session_id).map(|s| s.head.clone()))
    }

    fn turn_exists(&self, session_id: &str, turn_id: &str) -> Result<bool, StoreError> {
        self.read(|d| {
            d.receipts
                .get(session_id)
                .is_some_and(|m| m.values().any(|r| r.turn_id == turn_id))
        })
    }

    fn turn_ids(&self, session_id: &str) -> Result<Vec<String>, StoreError> {
        self.read(|d| {
            d.receipts
                .get(session_id)
                .map(|m| m.values().map(|r| r.turn_id.clone()).collect())
                .unwrap_or_default()
        })
    }

    fn credential_nonce_used(&self, session_id: &str, nonce: &str) -> Result<bool, StoreError> {
        self.read(|d| {
            d.credential_nonces
                .contains(&(session_id.to_owned(), nonce.to_owned()))
        })
    }

    fn open_sessions(&self, convener: &str, now: i64) -> Result<u64, StoreError> {
        self.read(|d| {
            d.sessions
                .values()
                .filter(|s| s.convener == convener && s.open && s.expires_at > now)
                .count() as u64
        })
    }

    fn receipts(
        &self,
        session_id: &str,
        from: u64,
        through: u64,
        limit: usize,
    ) -> Result<Vec<ReceiptRow>, StoreError> {
        if from > through {
            return Ok(Vec::new());
        }
        self.read(|d| {
            d.receipts
                .get(session_id)
                .map(|m| {
                    m.range(from..=through)
                        .take(limit)
                        .map(|(_, r)| r.clone())
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    fn amp_message(
        &self,
        session_id: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<AppliedMessage>, StoreError> {
        self.read(|d| {
            d.history.get(session_id).and_then(|m| {
                m.values()
                    .find(|h| h.sender == sender && h.msg_id == msg_id)
                    .map(|h| AppliedMessage {
                        seq: h.seq,
                        kind: h.kind.clone(),
                    })
            })
        })
    }

    fn amp_history(&self, session_id: &str, through: u64) -> Result<Vec<String>, StoreError> {
        self.read(|d| {
            d.history
                .get(session_id)
                .map(|m| m.range(..=through).map(|(_, h)| h.entry.clone()).collect())
                .unwrap_or_default()
        })
    }

    fn live_request_nonces(&self, now: i64) -> Result<Vec<RequestNonce>, StoreError> {
        self.read(|d| {
            d.request_nonces
                .iter()
                .filter(|(_, e)| **e >= now)
                .map(|(key, e)| RequestNonce {
                    key: *key,
                    expires_at: *e,
                })
                .collect()
        })
    }

    fn submit(&self, write: Write) -> Ticket {
        if self.closed.load(Ordering::SeqCst) {
            return Ticket::ready(Err(StoreError::Closed));
        }
        let result = match self.data.lock() {
            Ok(mut d) => apply(&mut d, write),
            Err(_) => Err(StoreError::Corrupt("store lock poisoned".into())),
        };
        Ticket::ready(result)
    }

    fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    fn abort(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, convener: &str, open: bool, expires_at: i64) -> SessionRow {
        SessionRow {
            session_id: id.into(),
            convener: convener.into(),
            open,
            expires_at,
            head: format!("head of {id}"),
        }
    }

    fn turn(id: &str, version: u64, turn_id: &str) -> Write {
        Write::Turn {
            session: row(id, "did:a", true, 100),
            receipt: Some(ReceiptRow {
                version,
                turn_id: turn_id.into(),
                body: format!("r{version}"),
            }),
            credential_nonce: Some(format!("c{version}")),
            request_nonce: Some(RequestNonce {
                key: [version as u8; 16],
                expires_at: 50,
            }),
            history: None,
            allow_overwrite: false,
        }
    }

    async fn ok(s: &MemoryStore, w: Write) {
        assert_eq!(s.submit(w).wait().await, Ok(()));
    }

    #[tokio::test]
    async fn turns_are_stored_and_read_back() {
        let s = MemoryStore::new();
        assert_eq!(s.load_head("s1"), Ok(None));
        ok(&s, turn("s1", 0, "t0")).await;
        ok(&s, turn("s1", 1, "t1")).await;
        ok(&s, turn("s1", 2, "t2")).await;
        assert_eq!(s.load_head("s1"), Ok(Some("head of s1".into())));
        assert_eq!(s.turn_exists("s1", "t1"), Ok(true));
        assert_eq!(s.turn_exists("s1", "t9"), Ok(false));
        assert_eq!(s.turn_exists("s2", "t1"), Ok(false));
        assert_eq!(s.turn_ids("s1").map(|v| v.len()), Ok(3));
        let page = s.receipts("s1", 1, 2, 10).unwrap_or_default();
        assert_eq!(page.iter().map(|r| r.version).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(s.receipts("s1", 0, 2, 1).map(|v| v.len()), Ok(1));
        assert_eq!(s.receipts("s1", 2, 1, 10), Ok(Vec::new()));
        assert_eq!(s.credential_nonce_used("s1", "c1"), Ok(true));
        assert_eq!(s.credential_nonce_used("s2", "c1"), Ok(false));
        assert_eq!(s.live_request_nonces(50).map(|v| v.len()), Ok(3));
        assert_eq!(s.live_request_nonces(51), Ok(Vec::new()));
    }

    #[tokio::test]
    async fn a_duplicate_version_is_refused_and_changes_nothing() {
        let s = MemoryStore::new();
        ok(&s, turn("s1", 0, "t0")).await;
        let err = s.submit(turn("s1", 0, "other")).wait().await;
        assert!(matches!(err, Err(StoreError::Database(_))));
        assert_eq!(s.turn_exists("s1", "other"), Ok(false));
        assert_eq!(s.credential_nonce_used("s1", "c0"), Ok(true));
        let mut w = turn("s1", 0, "over");
        if let Write::Turn {
            allow_overwrite, ..
        } = &mut w
        {
            *allow_overwrite = true;
        }
        ok(&s, w).await;
        assert_eq!(s.turn_ids("s1"), Ok(vec!["over".to_owned()]));
    }

    #[tokio::test]
    async fn open_sessions_count_per_convener_until_expiry() {
        let s = MemoryStore::new();
        for (id, conv, open, exp) in [
            ("a", "did:x", true, 100),
            ("b", "did:x", true, 10),
            ("c", "did:x", false, 100),
            ("d", "did:y", true, 100),
        ] {
            let w = Write::Turn {
                session: row(id, conv, open, exp),
                receipt: None,
                credential_nonce: None,
                request_nonce: None,
                history: None,
                allow_overwrite: false,
            };
            ok(&s, w).await;
        }
        assert_eq!(s.open_sessions("did:x", 5), Ok(2));
        assert_eq!(s.open_sessions("did:x", 50), Ok(1));
        assert_eq!(s.open_sessions("did:z", 0), Ok(0));
    }

    #[tokio::test]
    async fn nonces_keep_the_later_expiry_and_deletion_erases_a_session() {
        let s = MemoryStore::new();
        let n = |e| {
            Write::RequestNonce(RequestNonce {
                key: [7; 16],
                expires_at: e,
            })
        };
        ok(&s, n(30)).await;
        ok(&s, n(20)).await;
        assert_eq!(
            s.live_request_nonces(30),
            Ok(vec![RequestNonce {
                key: [7; 16],
                expires_at: 30
            }])
        );
        ok(&s, turn("s1", 0, "t0")).await;
        ok(&s, turn("s2", 0, "t0")).await;
        ok(
            &s,
            Write::DeleteSession {
                session_id: "s1".into(),
            },
        )
        .await;
        assert_eq!(s.load_head("s1"), Ok(None));
        assert_eq!(s.turn_ids("s1"), Ok(Vec::new()));
        assert_eq!(s.credential_nonce_used("s1", "c0"), Ok(false));
        assert_eq!(s.load_head("s2"), Ok(Some("head of s2".into())));
    }

    #[tokio::test]
    async fn amp_history_is_kept_in_order_and_found_by_sender_and_id() {
        let s = MemoryStore::new();
        for seq in [2u64, 1] {
            let mut w = turn("s1", seq, &format!("t{seq}"));
            if let Write::Turn { history, .. } = &mut w {
                *history = Some(Box::new(HistoryRow {
                    seq,
                    sender: "did:a".into(),
                    msg_id: format!("m{seq}"),
                    kind: "SESSION_UPDATE".into(),
                    entry: format!("e{seq}"),
                }));
            }
            ok(&s, w).await;
        }
        assert_eq!(
            s.amp_history("s1", 5),
            Ok(vec!["e1".to_owned(), "e2".to_owned()])
        );
        assert_eq!(s.amp_history("s1", 1), Ok(vec!["e1".to_owned()]));
        let m = s.amp_message("s1", "did:a", "m2").unwrap_or_default();
        assert_eq!(m.map(|m| m.seq), Some(2));
        assert_eq!(s.amp_message("s1", "did:b", "m2"), Ok(None));
    }

    #[tokio::test]
    async fn a_closed_store_refuses_writes_and_keeps_reads() {
        let s = MemoryStore::new();
        ok(&s, turn("s1", 0, "t0")).await;
        s.shutdown();
        assert_eq!(
            s.submit(turn("s1", 1, "t1")).wait().await,
            Err(StoreError::Closed)
        );
        assert_eq!(s.turn_ids("s1").map(|v| v.len()), Ok(1));
    }
}
