//! The session engine: one state machine for every binding, with no HTTP in it.
//!
//! The engine owns the rules of `docs/profile.md`: versions, the admission ledger, convener
//! authority and handoff, credentials, CCC, quotas, the lifecycle, receipts and the request
//! replay cache. Bindings authenticate and parse, then call [`Engine::create`],
//! [`Engine::turn`], [`Engine::state`], [`Engine::log`], [`Engine::delete`] or
//! [`Engine::invoke`]; the AMP binding calls [`Engine::amp_message`] and [`Engine::amp_state`]
//! ([`amp`]).
//!
//! Concurrency: each session has a slot holding its head and a turn lock. A turn takes the
//! lock, decides against the current head, submits its write to the store, waits until it is
//! durable and only then installs the new head and releases the lock. So turns on one session
//! are serialised and never lose an update, turns on different sessions run in parallel (and
//! share group commits), and readers, who take no lock, only ever see durable heads. Writing
//! operations run in their own task, so a client that disconnects mid-turn can never leave a
//! committed turn uninstalled.

pub mod amp;
pub mod ccc;
pub mod clock;
pub mod credentials;
mod error;
mod model;
mod ops;
pub mod receipts;
mod replay;
pub mod schema;
mod turn;

pub use amp::{AmpMessage, AmpOutcome, AmpRequest, AmpStatus};
pub use error::EngineError;
pub use model::{Participant, SessionHead, Status};
pub use ops::{CreateRequest, LogPage, Op, TurnOutcome, TurnRequest};
pub use replay::{MAX_FUTURE_SKEW_SECONDS, NonceCheck};

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use oap_wire::Keypair;
use serde_json::Value;

use crate::config::Limits;
use crate::faults::{Fault, FaultSet};
use crate::store::{Store, StoreError};
use clock::Clock;

/// How long the `ack-before-durable` fault holds a write back after answering.
const WRITE_BEHIND: std::time::Duration = std::time::Duration::from_millis(500);

/// Sessions kept in memory before idle ones are dropped from the cache.
const CACHE_SOFT_LIMIT: usize = 100_000;

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the engine's data is
/// only ever replaced whole, so it cannot be left half-written).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The turn ids already used in a session, as ULID values: loaded from the store on the
/// session's first turn in this process, then kept up to date, so that the duplicate-turn check
/// of every later turn is a memory lookup.
#[derive(Debug, Default)]
struct TurnIds(Option<std::collections::HashSet<u128>>);

/// The ULID value of a `trn_` id (`None` for anything else, which is then looked up in the
/// store instead).
fn turn_ulid(turn_id: &str) -> Option<u128> {
    turn_id
        .strip_prefix(oap_wire::ids::TURN_PREFIX)
        .and_then(|u| ulid::Ulid::from_string(u).ok())
        .map(u128::from)
}

/// One cached session: its durable head, and the lock that serialises its turns (guarding the
/// session's used turn ids).
#[derive(Debug)]
struct Slot {
    turn: tokio::sync::Mutex<TurnIds>,
    /// `None` once the session is deleted.
    head: RwLock<Option<Arc<SessionHead>>>,
}

impl Slot {
    fn new(head: SessionHead) -> Self {
        Slot {
            turn: tokio::sync::Mutex::new(TurnIds::default()),
            head: RwLock::new(Some(Arc::new(head))),
        }
    }

    fn current(&self) -> Option<Arc<SessionHead>> {
        self.head.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn install(&self, head: Option<SessionHead>) {
        *self.head.write().unwrap_or_else(|e| e.into_inner()) = head.map(Arc::new);
    }
}

struct Inner {
    store: Arc<dyn Store>,
    key: Keypair,
    limits: Limits,
    faults: FaultSet,
    clock: Arc<dyn Clock>,
    schema: schema::StateSchema,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    deleted: Mutex<HashSet<String>>,
    creators: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    replay: replay::ReplayCache,
}

/// The session engine (cheap to clone; clones share everything).
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("tool_did", &self.inner.key.did)
            .field("faults", &self.inner.faults)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `store`, signing receipts with `key`.
    pub fn new(
        store: Arc<dyn Store>,
        key: Keypair,
        limits: Limits,
        faults: FaultSet,
        clock: Arc<dyn Clock>,
    ) -> Result<Engine, EngineError> {
        let now = clock.unix_now();
        let previous_nonces = store.live_request_nonces(now)?;
        Ok(Engine {
            inner: Arc::new(Inner {
                store,
                key,
                limits,
                faults,
                schema: schema::StateSchema::new()?,
                slots: Mutex::new(HashMap::new()),
                deleted: Mutex::new(HashSet::new()),
                creators: Mutex::new(HashMap::new()),
                replay: replay::ReplayCache::new(now, previous_nonces),
                clock,
            }),
        })
    }

    /// The Tool's DID (signer of every receipt).
    pub fn tool_did(&self) -> &str {
        &self.inner.key.did
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The fault switches in force.
    pub fn faults(&self) -> &FaultSet {
        &self.inner.faults
    }

    /// Whether a fault switch is on.
    pub(crate) fn fault(&self, fault: Fault) -> bool {
        self.inner.faults.has(fault)
    }

    /// Hands a write to the store and waits until it is durable: no answer goes out before
    /// its write is on disk (PRF-DUR-1).
    ///
    /// With the `ack-before-durable` fault the broken Tool writes behind instead: it answers at
    /// once and hands the write to the store [`WRITE_BEHIND`] later, so a read of the log right
    /// after the answer misses the turn, and a restart in that window loses it.
    pub(crate) async fn persist(&self, write: crate::store::Write) -> Result<(), EngineError> {
        if self.fault(Fault::AckBeforeDurable) {
            let store = Arc::clone(&self.inner.store);
            tokio::spawn(async move {
                tokio::time::sleep(WRITE_BEHIND).await;
                drop(store.submit(write));
            });
            return Ok(());
        }
        self.inner.store.submit(write).wait().await?;
        Ok(())
    }

    /// The current time, Unix seconds.
    pub fn now(&self) -> i64 {
        self.inner.clock.unix_now()
    }

    /// The underlying store.
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Stops accepting writes, commits what is queued and waits for the disk.
    pub async fn shutdown(&self) {
        let store = self.inner.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.shutdown()).await;
    }

    /// Stops at once, dropping queued writes (crash-like).
    pub fn abort(&self) {
        self.inner.store.abort();
    }

    /// Runs a blocking store call off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || f(&*store))
            .await
            .map_err(|e| EngineError::Internal(format!("store task: {e}")))?
            .map_err(EngineError::from)
    }

    /// Runs `f` in its own task, so that dropping the caller cannot interrupt it.
    async fn detached<T, F>(&self, f: impl FnOnce(Engine) -> F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, EngineError>> + Send + 'static,
    {
        tokio::spawn(f(self.clone()))
            .await
            .map_err(|e| EngineError::Internal(format!("turn task: {e}")))?
    }

    /// The cached slot of a session, loading its head from the store on first use.
    async fn slot(&self, session_id: &str) -> Result<Arc<Slot>, EngineError> {
        if let Some(slot) = lock(&self.inner.slots).get(session_id) {
            return Ok(slot.clone());
        }
        let id = session_id.to_owned();
        let Some(json) = self.blocking(move |s| s.load_head(&id)).await? else {
            return Err(EngineError::NotFound);
        };
        let head: SessionHead = serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("session head {session_id}: {e}")))?;
        if lock(&self.inner.deleted).contains(session_id) {
            return Err(EngineError::NotFound);
        }
        let mut slots = lock(&self.inner.slots);
        if slots.len() >= CACHE_SOFT_LIMIT {
            slots.retain(|_, s| Arc::strong_count(s) > 1);
        }
        Ok(slots
            .entry(session_id.to_owned())
            .or_insert_with(|| Arc::new(Slot::new(head)))
            .clone())
    }

    /// Whether `turn_id` was already used in the session (`ids` is the session's cache, loaded
    /// on first use; `None` when the caller does not hold the turn lock).
    async fn turn_used(
        &self,
        session_id: &str,
        turn_id: &str,
        ids: Option<&mut TurnIds>,
    ) -> Result<bool, EngineError> {
        let (Some(ids), Some(value)) = (ids, turn_ulid(turn_id)) else {
            let (id, turn) = (session_id.to_owned(), turn_id.to_owned());
            return self.blocking(move |s| s.turn_exists(&id, &turn)).await;
        };
        if ids.0.is_none() {
            let id = session_id.to_owned();
            let stored = self.blocking(move |s| s.turn_ids(&id)).await?;
            ids.0 = Some(stored.iter().filter_map(|t| turn_ulid(t)).collect());
        }
        Ok(ids.0.as_ref().is_some_and(|set| set.contains(&value)))
    }

    /// The membership rule (profile §5.2): outsiders cannot tell an existing session from a
    /// missing one.
    fn check_member(&self, head: &SessionHead, actor: &str) -> Result<(), EngineError> {
        if head.is_participant(actor) || self.fault(Fault::AcceptNonParticipant) {
            return Ok(());
        }
        if self.fault(Fault::ExistenceOracle) {
            return Err(EngineError::NotParticipant);
        }
        Err(EngineError::NotFound)
    }

    /// Convener authority (RFC 0001 §3.6).
    fn check_convener(&self, head: &SessionHead, actor: &str) -> Result<(), EngineError> {
        if actor == head.convener
            || (self.fault(Fault::ParticipantConvenerOps) && head.is_participant(actor))
            || (self.fault(Fault::OldConvenerKeepsAuthority)
                && head.former_conveners.iter().any(|d| d == actor))
        {
            return Ok(());
        }
        Err(EngineError::NotConvener)
    }

    /// `GET state`: the session as a participant sees it.
    pub async fn state(&self, actor: &str, session_id: &str) -> Result<Value, EngineError> {
        let slot = self.slot(session_id).await?;
        let head = slot.current().ok_or(EngineError::NotFound)?;
        self.check_member(&head, actor)?;
        Ok(head.view(self.now()))
    }

    /// `GET log`: receipts `from..` (at most `limit`), ascending.
    pub async fn log(
        &self,
        actor: &str,
        session_id: &str,
        from: u64,
        limit: usize,
    ) -> Result<LogPage, EngineError> {
        let slot = self.slot(session_id).await?;
        let head = slot.current().ok_or(EngineError::NotFound)?;
        self.check_member(&head, actor)?;
        let through = head.state_version;
        let id = session_id.to_owned();
        let mut rows = if limit == 0 || from > through {
            Vec::new()
        } else {
            self.blocking(move |s| s.receipts(&id, from, through, limit))
                .await?
        };
        let next = match rows.last() {
            Some(last) if rows.len() == limit && last.version < through => Some(last.version + 1),
            None if limit == 0 && from <= through => Some(from),
            _ => None,
        };
        if self.fault(Fault::LogGap) {
            rows.retain(|r| r.version != 1);
        }
        Ok(LogPage {
            session_id: session_id.to_owned(),
            receipts: rows.into_iter().map(|r| r.body).collect(),
            next,
        })
    }

    /// `data_delete`: erases the session's state, ledger and log (convener only).
    pub async fn delete(&self, actor: &str, session_id: &str) -> Result<(), EngineError> {
        let (actor, session_id) = (actor.to_owned(), session_id.to_owned());
        self.detached(move |engine| async move {
            let slot = engine.slot(&session_id).await?;
            let _turn = slot.turn.lock().await;
            let head = slot.current().ok_or(EngineError::NotFound)?;
            engine.check_member(&head, &actor)?;
            engine.check_convener(&head, &actor)?;
            let write = crate::store::Write::DeleteSession {
                session_id: session_id.clone(),
            };
            engine.inner.store.submit(write).wait().await?;
            lock(&engine.inner.deleted).insert(session_id.clone());
            slot.install(None);
            lock(&engine.inner.slots).remove(&session_id);
            Ok(())
        })
        .await
    }

    /// A stateless (v1.0) invocation: returns the output and a receipt without session
    /// members; no session changes.
    pub fn invoke(
        &self,
        actor: &str,
        action: &str,
        input: &Value,
    ) -> Result<(Value, Value), EngineError> {
        let output = run_action(action, input)?;
        let issued_at = oap_wire::time::format_unix(self.now());
        let receipt = receipts::stateless(
            actor,
            action,
            input,
            &output,
            &issued_at,
            &self.inner.key,
            &self.inner.faults,
        )?;
        Ok((output, receipt))
    }
}

/// The actions this Tool offers.
pub const ACTIONS: &[&str] = &["echo"];

/// Runs an action: `echo` returns its input.
pub fn run_action(action: &str, input: &Value) -> Result<Value, EngineError> {
    match action {
        "echo" => Ok(input.clone()),
        other => Err(EngineError::UnknownAction(other.to_owned())),
    }
}

#[cfg(test)]
mod tests;
