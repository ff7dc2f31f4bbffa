//! The embedded durable store: SQLite in WAL mode with `synchronous=FULL`.
//!
//! One writer thread (see `writer`) commits in groups; reads go through a small pool of
//! read-only connections, which in WAL mode never block the writer and always see the last
//! commit. Opening does no work proportional to the data: no log is read at start, so a Tool with
//! a hundred thousand receipts is ready as fast as an empty one. An exclusive lock file keeps a
//! second process off the same data directory.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::oneshot;

use super::writer::{self, Pending};
use super::{AppliedMessage, ReceiptRow, RequestNonce, Store, StoreError, Ticket, Write};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    convener TEXT NOT NULL,
    open INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    head TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_convener ON sessions (convener, open, expires_at);
CREATE TABLE IF NOT EXISTS receipts (
    session_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    turn_id TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (session_id, version)
);
DROP INDEX IF EXISTS receipts_by_turn;
CREATE INDEX IF NOT EXISTS receipts_by_turn_id ON receipts (turn_id, session_id);
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
CREATE TABLE IF NOT EXISTS request_nonce_log (
    expires_at INTEGER NOT NULL,
    key BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS request_nonce_log_by_expiry ON request_nonce_log (expires_at);
";

/// Moves the request nonces of a data directory written before `request_nonce_log` (a table
/// keyed by expiry, then nonce hash) into it, so that they stay spent.
const MIGRATE_REQUEST_NONCES: &str = "
BEGIN IMMEDIATE;
INSERT INTO request_nonce_log (expires_at, key) SELECT expires_at, key FROM request_nonces;
DROP TABLE request_nonces;
COMMIT;
";

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "oap-ref.sqlite3";
/// Name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "lock";
/// How long `open` waits for a previous holder of the data directory to let go.
const LOCK_WAIT: Duration = Duration::from_secs(5);
/// Page size of a new database. Every commit writes each page it touched whole to the log
/// and syncs it, and most of a turn's pages are touched for one small entry (a session's head,
/// its place in the receipt index): smaller pages make commits shorter. An existing database
/// keeps the page size it was created with.
pub const PAGE_SIZE: u32 = 2048;
/// Read connections kept for reuse.
const MAX_IDLE_READERS: usize = 8;

/// SQLite-backed [`Store`].
pub struct SqliteStore {
    path: PathBuf,
    tx: Mutex<Option<Sender<Pending>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Ends once the writer (holding the only waker) has ended.
    checkpointer: Mutex<Option<JoinHandle<()>>>,
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
        let mut conn = Connection::open(&path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // Must come before WAL mode, which writes the first page of a new database.
        conn.execute_batch(&format!("PRAGMA page_size={PAGE_SIZE};"))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(format!(
                "journal_mode is {mode}, not wal"
            )));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;")?;
        conn.execute_batch(SCHEMA)?;
        let old_nonces: bool = conn
            .prepare(
                "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'request_nonces'",
            )?
            .exists([])?;
        if old_nonces {
            conn.execute_batch(MIGRATE_REQUEST_NONCES)?;
        }
        // Checkpoints run on their own connection and thread; `synchronous=FULL` there too, so
        // that the database file is synced before the log is reused.
        let checkpoints = Connection::open(&path)?;
        checkpoints.busy_timeout(Duration::from_secs(5))?;
        checkpoints.execute_batch("PRAGMA synchronous=FULL;")?;
        let (wake, woken) = mpsc::sync_channel(1);
        let wal_pages = Arc::new(AtomicI64::new(0));
        writer::hand_checkpoints_off(&mut conn, wal_pages.clone(), wake)?;
        let turn = writer::CheckpointTurn::default();
        let checkpointer = std::thread::Builder::new()
            .name("oap-ref-checkpoint".into())
            .spawn({
                let (turn, wal_pages) = (turn.clone(), wal_pages.clone());
                move || writer::checkpointer(checkpoints, woken, turn, wal_pages)
            })?;
        let (tx, rx) = mpsc::channel();
        let abort = Arc::new(AtomicBool::new(false));
        let flag = abort.clone();
        let writer = std::thread::Builder::new()
            .name("oap-ref-writer".into())
            .spawn(move || writer::run(conn, rx, flag, wal_pages, turn))?;
        Ok(SqliteStore {
            path,
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            checkpointer: Mutex::new(Some(checkpointer)),
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

    fn live_request_nonces(&self, now: i64) -> Result<Vec<RequestNonce>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                // A scan in arrival order: the table holds little more than the live nonces
                // (the writer purges expired ones), and the expiry index would add a lookup
                // per row.
                "SELECT key, expires_at FROM request_nonce_log NOT INDEXED WHERE expires_at >= ?1",
            )?;
            let rows = stmt.query_map(params![now], |r| {
                let key: Vec<u8> = r.get(0)?;
                Ok((key, r.get::<_, i64>(1)?))
            })?;
            let mut live = Vec::new();
            for row in rows {
                let (key, expires_at) = row?;
                // A key of another length cannot come from this Tool; it is skipped, not
                // trusted.
                if let Ok(key) = <[u8; 16]>::try_from(key.as_slice()) {
                    live.push(RequestNonce { key, expires_at });
                }
            }
            Ok(live)
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
        if let Some(handle) = self.checkpointer.lock().ok().and_then(|mut c| c.take()) {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::{SessionRow, Ticket};

    fn turn(id: &str, version: u64, body: String) -> Write {
        Write::Turn {
            session: SessionRow {
                session_id: id.into(),
                convener: "did:a".into(),
                open: true,
                expires_at: 100,
                head: format!("head of {id} at {version}"),
            },
            receipt: Some(ReceiptRow {
                version,
                turn_id: format!("t{version}"),
                body,
            }),
            credential_nonce: None,
            request_nonce: Some(RequestNonce {
                key: nonce_key(id, version),
                expires_at: 1_000 + version as i64,
            }),
            history: None,
            allow_overwrite: false,
        }
    }

    fn nonce_key(id: &str, version: u64) -> [u8; 16] {
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&version.to_le_bytes());
        for (k, b) in key[8..].iter_mut().zip(id.bytes()) {
            *k = b;
        }
        key
    }

    async fn wait_all(tickets: Vec<Ticket>) -> Vec<Result<(), StoreError>> {
        let mut out = Vec::new();
        for t in tickets {
            out.push(t.wait().await);
        }
        out
    }

    /// Writes queued together share one commit; one that fails (a second receipt at a version
    /// already stored) fails alone, and every other write of the batch is committed.
    #[tokio::test]
    async fn a_failing_write_fails_alone_in_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        store
            .submit(turn("s1", 0, "r0".into()))
            .wait()
            .await
            .unwrap();
        let tickets: Vec<Ticket> = (0..40u64)
            .map(|i| {
                if i == 20 {
                    turn("s1", 0, "duplicate".into())
                } else {
                    turn(&format!("s{}", i + 2), 0, format!("r of {i}"))
                }
            })
            .map(|w| store.submit(w))
            .collect();
        let results = wait_all(tickets).await;
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.is_err(), i == 20, "write {i}: {r:?}");
        }
        let head = store.load_head("s1").unwrap();
        assert_eq!(head.as_deref(), Some("head of s1 at 0"));
        assert_eq!(store.receipts("s1", 0, 9, 10).unwrap()[0].body, "r0");
        for i in (0..40u64).filter(|i| *i != 20) {
            let id = format!("s{}", i + 2);
            assert_eq!(store.receipts(&id, 0, 0, 1).unwrap().len(), 1, "{id}");
        }
        let live = store.live_request_nonces(0).unwrap();
        assert_eq!(live.len(), 40, "the failed write's nonce is not kept twice");
        store.shutdown();
    }

    /// Checkpoints run off the writer, and the log still restarts under sustained writes
    /// instead of growing with them.
    #[tokio::test]
    async fn the_log_stays_bounded_under_sustained_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let body = "x".repeat(4000);
        let sessions = 64u64;
        let rounds = 120u64;
        for version in 0..rounds {
            let tickets = (0..sessions)
                .map(|s| store.submit(turn(&format!("s{s}"), version, body.clone())))
                .collect();
            for r in wait_all(tickets).await {
                r.unwrap();
            }
        }
        let size = |name: String| std::fs::metadata(dir.path().join(name)).unwrap().len();
        let (wal, db) = (size(format!("{DB_FILE}-wal")), size(DB_FILE.to_owned()));
        // The log is restarted once it holds WAL_RESTART_PAGES, so it never holds much more
        // than that plus a dozen batches (64 writes of about 6 pages each with 2 KiB pages: the
        // receipt and its overflow page, the head, the two receipt indexes, the nonce; the
        // writer's own checkpoint waits for a run of the checkpointer's to end), although every
        // page of the database went through it.
        let page = u64::from(PAGE_SIZE) + 24;
        let bound = (writer::WAL_RESTART_PAGES as u64 + 12 * 6 * sessions) * page;
        assert!(
            db > bound,
            "the test must write more than the bound: {db} bytes"
        );
        assert!(wal <= bound, "WAL of {wal} bytes, bound {bound}");
        assert_eq!(
            store.receipts("s7", 0, 200, 200).unwrap().len(),
            rounds as usize
        );
        store.shutdown();
    }

    /// A new database gets the small page size; turns are found by turn id and listed per
    /// session through the turn-id index, also after the store is opened again.
    #[tokio::test]
    async fn turn_ids_are_found_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let tickets = (0..3u64)
            .flat_map(|v| {
                [
                    store.submit(turn("s1", v, format!("r{v}"))),
                    store.submit(turn("s2", v, format!("q{v}"))),
                ]
            })
            .collect();
        for r in wait_all(tickets).await {
            r.unwrap();
        }
        store.shutdown();
        let store = SqliteStore::open(dir.path()).unwrap();
        let page: u32 = store
            .read(|c| c.query_row("PRAGMA page_size", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(page, PAGE_SIZE);
        assert!(store.turn_exists("s1", "t2").unwrap());
        assert!(!store.turn_exists("s1", "t3").unwrap());
        assert!(!store.turn_exists("s3", "t0").unwrap());
        let mut ids = store.turn_ids("s2").unwrap();
        ids.sort();
        assert_eq!(ids, ["t0", "t1", "t2"]);
        assert_eq!(store.live_request_nonces(0).unwrap().len(), 6);
        store.shutdown();
    }

    /// A data directory written with the earlier nonce table (keyed by expiry, then hash) is
    /// migrated at open: its live nonces stay spent, and the old table is gone.
    #[tokio::test]
    async fn request_nonces_of_the_earlier_layout_are_carried_over() {
        let dir = tempfile::tempdir().unwrap();
        {
            let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
            c.execute_batch(
                "PRAGMA journal_mode=WAL;
                 CREATE TABLE request_nonces (
                     expires_at INTEGER NOT NULL,
                     key BLOB NOT NULL,
                     PRIMARY KEY (expires_at, key)
                 ) WITHOUT ROWID;",
            )
            .unwrap();
            for (at, b) in [(5i64, 1u8), (50, 2), (60, 3)] {
                c.execute(
                    "INSERT INTO request_nonces (expires_at, key) VALUES (?1, ?2)",
                    params![at, &[b; 16][..]],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        let mut live = store.live_request_nonces(10).unwrap();
        live.sort_by_key(|n| n.expires_at);
        assert_eq!(
            live,
            vec![
                RequestNonce {
                    key: [2; 16],
                    expires_at: 50
                },
                RequestNonce {
                    key: [3; 16],
                    expires_at: 60
                },
            ]
        );
        let old: i64 = store
            .read(|c| {
                c.query_row(
                    "SELECT count(*) FROM sqlite_schema WHERE name = 'request_nonces'",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert_eq!(old, 0);
        store.shutdown();
        // Opening again finds nothing left to migrate.
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.live_request_nonces(10).unwrap().len(), 2);
        store.shutdown();
    }
}
