//! The embedded durable store: SQLite in WAL mode with `synchronous=FULL`.
//!
//! One writer thread (see `writer`) commits in groups; reads go through a small pool of
//! read-only connections, which in WAL mode never block the writer and always see the last
//! commit. Opening does no work proportional to the data: no log is read at start, so a Tool with
//! a hundred thousand receipts is ready as fast as an empty one. An exclusive lock file keeps a
//! second process off the same data directory.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::oneshot;

use super::writer::{self, Pending};
use super::{AppliedMessage, ReceiptRow, Store, StoreError, Ticket, Write};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    convener TEXT NOT NULL,
    open INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    head TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_convener ON sessions (convener, open, expires_at);
CREATE TABLE IF NOT EXISTS receipts (
    session_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    turn_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (session_id, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS receipts_by_turn ON receipts (session_id, turn_id);
CREATE TABLE IF NOT EXISTS credential_nonces (
    session_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    PRIMARY KEY (session_id, nonce)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS amp_history (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sender TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    entry TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS amp_history_by_message ON amp_history (session_id, sender, msg_id);
CREATE TABLE IF NOT EXISTS request_nonces (
    key BLOB PRIMARY KEY,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "oap-ref.sqlite3";
/// Name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "lock";
/// How long `open` waits for a previous holder of the data directory to let go.
const LOCK_WAIT: Duration = Duration::from_secs(5);
/// Read connections kept for reuse.
const MAX_IDLE_READERS: usize = 8;

/// SQLite-backed [`Store`].
pub struct SqliteStore {
    path: PathBuf,
    tx: Mutex<Option<Sender<Pending>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    abort: Arc<AtomicBool>,
    closed: AtomicBool,
    readers: Mutex<Vec<Connection>>,
    /// Held while the store is open; released by `shutdown`/`abort` even if the store itself
    /// lives on in a lingering task.
    lock: Mutex<Option<File>>,
}

impl SqliteStore {
    /// Opens (creating when missing) the store in `data_dir` and starts its writer thread.
    pub fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let lock = lock_dir(data_dir)?;
        let path = data_dir.join(DB_FILE);
        let conn = Connection::open(&path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(format!(
                "journal_mode is {mode}, not wal"
            )));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;")?;
        conn.execute_batch(SCHEMA)?;
        let (tx, rx) = mpsc::channel();
        let abort = Arc::new(AtomicBool::new(false));
        let flag = abort.clone();
        let writer = std::thread::Builder::new()
            .name("oap-ref-writer".into())
            .spawn(move || writer::run(conn, rx, flag))?;
        Ok(SqliteStore {
            path,
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            abort,
            closed: AtomicBool::new(false),
            readers: Mutex::new(Vec::new()),
            lock: Mutex::new(Some(lock)),
        })
    }

    /// Runs `f` on a pooled read connection.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<T, StoreError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        let pooled = self.readers.lock().map_err(|_| StoreError::Closed)?.pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(Duration::from_secs(5))?;
                c.execute_batch("PRAGMA query_only=1;")?;
                c
            }
        };
        let out = f(&conn);
        if let Ok(mut idle) = self.readers.lock()
            && idle.len() < MAX_IDLE_READERS
        {
            idle.push(conn);
        }
        Ok(out?)
    }
}

/// Takes the data directory's exclusive lock, waiting briefly for a previous holder in the
/// same process (a Tool just aborted) to let go.
fn lock_dir(data_dir: &Path) -> Result<File, StoreError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join(LOCK_FILE))?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Io(format!(
                    "data directory {} is in use by another Tool",
                    data_dir.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
    }
}

fn to_u64(v: i64) -> Result<u64, rusqlite::Error> {
    u64::try_from(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store for SqliteStore {
    fn load_head(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        self.read(|c| {
            c.prepare_cached("SELECT head FROM sessions WHERE id = ?1")?
                .query_row(params![session_id], |r| r.get(0))
                .optional()
        })
    }

    fn turn_exists(&self, session_id: &str, turn_id: &str) -> Result<bool, StoreError> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT 1 FROM receipts WHERE session_id = ?1 AND turn_id = ?2 LIMIT 1",
            )?
            .exists(params![session_id, turn_id])
        })
    }

    fn turn_ids(&self, session_id: &str) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT turn_id FROM receipts WHERE session_id = ?1")?;
            let rows = stmt.query_map(params![session_id], |r| r.get(0))?;
            rows.collect()
        })
    }

    fn credential_nonce_used(&self, session_id: &str, nonce: &str) -> Result<bool, StoreError> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT 1 FROM credential_nonces WHERE session_id = ?1 AND nonce = ?2",
            )?
            .exists(params![session_id, nonce])
        })
    }

    fn open_sessions(&self, convener: &str, now: i64) -> Result<u64, StoreError> {
        self.read(|c| {
            let n: i64 = c
                .prepare_cached(
                    "SELECT count(*) FROM sessions WHERE convener = ?1 AND open = 1 AND expires_at > ?2",
                )?
                .query_row(params![convener, now], |r| r.get(0))?;
            to_u64(n)
        })
    }

    fn receipts(
        &self,
        session_id: &str,
        from: u64,
        through: u64,
        limit: usize,
    ) -> Result<Vec<ReceiptRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT version, turn_id, body FROM receipts
                 WHERE session_id = ?1 AND version >= ?2 AND version <= ?3
                 ORDER BY version LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                params![
                    session_id,
                    to_i64(from),
                    to_i64(through),
                    to_i64(limit as u64)
                ],
                |r| {
                    Ok(ReceiptRow {
                        version: to_u64(r.get(0)?)?,
                        turn_id: r.get(1)?,
                        body: r.get(2)?,
                    })
                },
            )?;
            rows.collect()
        })
    }

    fn amp_message(
        &self,
        session_id: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<AppliedMessage>, StoreError> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT seq, kind FROM amp_history
                 WHERE session_id = ?1 AND sender = ?2 AND msg_id = ?3 ORDER BY seq LIMIT 1",
            )?
            .query_row(params![session_id, sender, msg_id], |r| {
                Ok(AppliedMessage {
                    seq: to_u64(r.get(0)?)?,
                    kind: r.get(1)?,
                })
            })
            .optional()
        })
    }

    fn amp_history(&self, session_id: &str, through: u64) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT entry FROM amp_history WHERE session_id = ?1 AND seq <= ?2 ORDER BY seq",
            )?;
            let rows = stmt.query_map(params![session_id, to_i64(through)], |r| r.get(0))?;
            rows.collect()
        })
    }

    fn request_nonce_seen(&self, key: &[u8; 16], now: i64) -> Result<bool, StoreError> {
        self.read(|c| {
            c.prepare_cached("SELECT 1 FROM request_nonces WHERE key = ?1 AND expires_at >= ?2")?
                .exists(params![&key[..], now])
        })
    }

    fn any_request_nonce_live(&self, now: i64) -> Result<bool, StoreError> {
        self.read(|c| {
            c.prepare_cached("SELECT 1 FROM request_nonces WHERE expires_at >= ?1 LIMIT 1")?
                .exists(params![now])
        })
    }

    fn submit(&self, write: Write) -> Ticket {
        let (ack, rx) = oneshot::channel();
        let guard = match self.tx.lock() {
            Ok(g) => g,
            Err(_) => return Ticket::ready(Err(StoreError::Closed)),
        };
        match guard.as_ref() {
            Some(tx) if !self.abort.load(Ordering::SeqCst) => match tx.send(Pending { write, ack })
            {
                Ok(()) => Ticket::pending(rx),
                Err(_) => Ticket::ready(Err(StoreError::Closed)),
            },
            _ => Ticket::ready(Err(StoreError::Closed)),
        }
    }

    fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Some(handle) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = handle.join();
        }
        if let Ok(mut r) = self.readers.lock() {
            r.clear();
        }
        if let Ok(mut l) = self.lock.lock() {
            l.take();
        }
    }

    fn abort(&self) {
        self.abort.store(true, Ordering::SeqCst);
        self.shutdown();
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.shutdown();
    }
}
