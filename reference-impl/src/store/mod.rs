//! Durable storage behind a trait.
//!
//! The engine decides; the store only remembers. It holds, per session, the head row (one JSON
//! document the engine owns), the append-only receipt log, the credential nonces already used,
//! and, Tool-wide, the request nonces accepted within the signature window. Reads are plain
//! blocking calls (the engine runs them off the async threads); writes are submitted as
//! [`Write`]s and acknowledged through a [`Ticket`] only once they are on disk, so an
//! implementation is free to batch many sessions' writes into one commit.
//!
//! [`SqliteStore`] is the embedded durable default; [`MemoryStore`] keeps everything in memory,
//! for tests and fuzzing.

mod memory;
mod sqlite;
mod writer;

pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

use tokio::sync::oneshot;

/// A storage failure. Cloneable, because one failed commit fails every write in its batch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(String),
    /// A file operation failed.
    #[error("i/o error: {0}")]
    Io(String),
    /// The store is shut down (or was aborted); nothing more is accepted.
    #[error("the store is closed")]
    Closed,
    /// A stored row could not be read back.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

/// The stored row of one session's head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// `ses_…`.
    pub session_id: String,
    /// The current convener (indexed, for the per-convener quota).
    pub convener: String,
    /// Whether the status is `active` or `paused` (before expiry).
    pub open: bool,
    /// Expiry in Unix seconds.
    pub expires_at: i64,
    /// The head as the engine serialised it.
    pub head: String,
}

/// One receipt as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRow {
    /// The receipt's `state_version`.
    pub version: u64,
    /// The receipt's `turn_id` (indexed, for the duplicate-turn check).
    pub turn_id: String,
    /// The receipt as serialised JSON.
    pub body: String,
}

/// One AMP history entry (profile §12.6), written with the engine turn that applied its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    /// The entry's `seq` (the turn's `state_version` + 1).
    pub seq: u64,
    /// The sender's DID (`from`).
    pub sender: String,
    /// The sender's message `id`.
    pub msg_id: String,
    /// The message `type`.
    pub kind: String,
    /// The entry as serialised JSON.
    pub entry: String,
}

/// What the store remembers of an applied AMP message, for answering its duplicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedMessage {
    /// The `seq` the message was given.
    pub seq: u64,
    /// The message `type`.
    pub kind: String,
}

/// A request nonce to keep until `expires_at` (the replay cache's durable half).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestNonce {
    /// Hash of (`keyid`, `nonce`).
    pub key: [u8; 16],
    /// Unix seconds after which the nonce can no longer be replayed.
    pub expires_at: i64,
}

/// One durable write.
#[derive(Clone, Debug)]
pub enum Write {
    /// A turn (or a session creation): the new head, its receipt, and the credential nonce it
    /// consumed, all atomically.
    Turn {
        /// The head after the turn.
        session: SessionRow,
        /// The receipt the turn appends.
        receipt: Option<ReceiptRow>,
        /// A credential nonce the turn consumed.
        credential_nonce: Option<String>,
        /// The nonce of the request that made the turn, committed with it so that the request
        /// costs one commit, not two.
        request_nonce: Option<RequestNonce>,
        /// The AMP history entry of the message that made the turn (AMP binding only).
        history: Option<Box<HistoryRow>>,
        /// Replace a receipt (and an AMP history entry) already stored at the same version
        /// instead of failing. Set only by the `unserialised-read-modify-write` and
        /// `amp-unserialised-messages` faults, so the lost update they provoke is silent, as in
        /// a broken Tool, instead of being caught by the primary key.
        allow_overwrite: bool,
    },
    /// A request nonce accepted by the authentication layer, on its own.
    RequestNonce(RequestNonce),
    /// `data_delete`: the session's head, log and nonces are erased.
    DeleteSession {
        /// `ses_…`.
        session_id: String,
    },
}

/// The acknowledgement of one [`Write`]: resolves once the write is durable (or failed).
#[derive(Debug)]
pub struct Ticket(TicketInner);

#[derive(Debug)]
enum TicketInner {
    Pending(oneshot::Receiver<Result<(), StoreError>>),
    Ready(Result<(), StoreError>),
}

impl Ticket {
    /// A ticket waiting on `rx`.
    pub fn pending(rx: oneshot::Receiver<Result<(), StoreError>>) -> Self {
        Ticket(TicketInner::Pending(rx))
    }

    /// A ticket already resolved (e.g. a write refused because the store is closed).
    pub fn ready(result: Result<(), StoreError>) -> Self {
        Ticket(TicketInner::Ready(result))
    }

    /// Waits until the write is durable.
    pub async fn wait(self) -> Result<(), StoreError> {
        match self.0 {
            TicketInner::Ready(r) => r,
            TicketInner::Pending(rx) => rx.await.unwrap_or(Err(StoreError::Closed)),
        }
    }
}

/// Durable storage for the engine.
pub trait Store: Send + Sync + 'static {
    /// The stored head of a session, if the session exists.
    fn load_head(&self, session_id: &str) -> Result<Option<String>, StoreError>;
    /// Whether a receipt with `turn_id` exists in the session.
    fn turn_exists(&self, session_id: &str, turn_id: &str) -> Result<bool, StoreError>;
    /// Every `turn_id` of the session's receipts.
    fn turn_ids(&self, session_id: &str) -> Result<Vec<String>, StoreError>;
    /// Whether a credential nonce was already consumed in the session.
    fn credential_nonce_used(&self, session_id: &str, nonce: &str) -> Result<bool, StoreError>;
    /// How many open, unexpired sessions `convener` currently convenes.
    fn open_sessions(&self, convener: &str, now: i64) -> Result<u64, StoreError>;
    /// Receipts with `from ≤ version ≤ through`, ascending, at most `limit`.
    fn receipts(
        &self,
        session_id: &str,
        from: u64,
        through: u64,
        limit: usize,
    ) -> Result<Vec<ReceiptRow>, StoreError>;
    /// The earliest applied AMP message of `sender` with message id `msg_id` in the session.
    fn amp_message(
        &self,
        session_id: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<AppliedMessage>, StoreError>;
    /// The session's AMP history entries with `seq ≤ through`, ascending (serialised JSON).
    fn amp_history(&self, session_id: &str, through: u64) -> Result<Vec<String>, StoreError>;
    /// Every stored request nonce still unexpired at `now`. The engine reads them once, at
    /// start, into its in-memory replay cache, so that a request accepted by a previous run
    /// cannot be replayed after a restart; it never looks a nonce up in the store again.
    fn live_request_nonces(&self, now: i64) -> Result<Vec<RequestNonce>, StoreError>;
    /// Queues a write; the ticket resolves once it is durable.
    fn submit(&self, write: Write) -> Ticket;
    /// Stops accepting writes, commits everything queued and waits for the disk.
    fn shutdown(&self);
    /// Stops at once, dropping queued writes that are not yet committed (crash-like).
    fn abort(&self);
}
