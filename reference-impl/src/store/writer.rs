//! The group-commit writer: one thread owns the only writing connection.
//!
//! Writers from every session queue [`Write`]s on a channel. The thread takes everything queued,
//! applies it in one transaction, commits once (one fsync, `synchronous=FULL`), and only then
//! acknowledges every write of the batch. While a commit is on its way to the disk the next
//! batch accumulates, so the number of fsyncs per second stays constant as load grows, and the
//! throughput with it.
//!
//! One bad write fails alone: the batch is first applied without savepoints (a savepoint per
//! write costs a copy of every page it touches); if any write fails, the whole transaction is
//! rolled back and the batch applied again with each write under its own savepoint, so that the
//! others still commit and only the bad one reports its error.
//!
//! WAL checkpoints (copying committed pages back into the database file and syncing it) mostly
//! run off this thread: SQLite's automatic checkpoint is replaced by a WAL hook that wakes the
//! [`checkpointer`] thread, which copies with its own connection (`PASSIVE`, so that the writer
//! keeps committing meanwhile). Under steady load such a checkpoint never catches up with the
//! end of the log, and SQLite restarts the log only once one has; so when the log has grown past
//! [`WAL_RESTART_PAGES`] the writer itself checkpoints the few pages still missing, between two
//! batches (the checkpointer starts no new checkpoint meanwhile), and the next transaction starts
//! the log again from its beginning.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, MAIN_DB, params};
use tokio::sync::oneshot;

use super::{RequestNonce, SessionRow, StoreError, Write};

/// Most writes committed in one transaction.
const MAX_BATCH: usize = 4096;
/// How often expired request nonces are purged.
const PURGE_EVERY: Duration = Duration::from_secs(10);
/// How often the group-commit figures are logged (at `debug`, target `oap_ref::store::writer`).
const STATS_EVERY: Duration = Duration::from_secs(5);
/// WAL pages after which the checkpointer is woken (SQLite's own automatic threshold).
pub(super) const CHECKPOINT_PAGES: i32 = 1000;
/// WAL pages after which the writer completes a checkpoint itself, so that the log restarts.
pub(super) const WAL_RESTART_PAGES: i64 = 4 * CHECKPOINT_PAGES as i64;

/// Replaces SQLite's automatic checkpoint on the writing connection: after each commit, the
/// hook records the log's size in `wal_pages` and, past [`CHECKPOINT_PAGES`], wakes the
/// checkpointer (without waiting: a wake-up already pending is enough).
pub(super) fn hand_checkpoints_off(
    conn: &mut Connection,
    wal_pages: Arc<AtomicI64>,
    wake: SyncSender<()>,
) -> Result<(), rusqlite::Error> {
    conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: i32| {
        wal_pages.store(i64::from(pages), Ordering::Relaxed);
        if pages >= CHECKPOINT_PAGES {
            let _ = wake.try_send(());
        }
        Ok(())
    }))
}

/// Held by whoever runs a checkpoint. SQLite runs one checkpoint at a time and, in `PASSIVE`
/// mode, makes a second fail rather than wait; while the checkpointer was copying, the writer's
/// attempts to complete the log therefore failed one after the other, and the log grew on
/// without restarting. Now, once the log has reached [`WAL_RESTART_PAGES`], the checkpointer
/// starts no new checkpoint, and the writer, which never waits for the lock, finds it free
/// after at most one of the checkpointer's runs.
pub(super) type CheckpointTurn = Arc<Mutex<()>>;

/// Runs checkpoints on their own connection until every waker is gone (the writer closed).
/// `wal_pages` is the log's size after the last commit.
pub(super) fn checkpointer(
    conn: Connection,
    wake: Receiver<()>,
    turn: CheckpointTurn,
    wal_pages: Arc<AtomicI64>,
) {
    while wake.recv().is_ok() {
        if wal_pages.load(Ordering::Relaxed) >= WAL_RESTART_PAGES {
            // The writer completes this log itself.
            continue;
        }
        let _turn = turn.lock();
        let t = Instant::now();
        match conn.wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::PASSIVE) {
            Ok((log, done)) => {
                tracing::trace!(log, done, elapsed = ?t.elapsed(), "passive checkpoint");
            }
            Err(e) => tracing::debug!(error = %e, "passive checkpoint did not run"),
        }
    }
}

/// Group-commit figures since the last report.
#[derive(Default)]
struct Stats {
    commits: u64,
    writes: u64,
    largest: usize,
    /// Whole batches: `BEGIN` to acknowledged.
    busy: Duration,
    /// Applying the writes (the statements), before `COMMIT`.
    apply: Duration,
    /// Batches applied a second time, write by write, because one write failed.
    redone: u64,
    /// Pages appended to the WAL.
    wal_pages: u64,
    /// Checkpoints the writer completed itself, and the time they took.
    own_checkpoints: u64,
    own_checkpoint_time: Duration,
    /// Writes per batch, bucketed: 1, 2–3, 4–7, 8–15, 16–31, 32 and more.
    sizes: [u64; 6],
}

impl Stats {
    fn add(&mut self, writes: usize, took: Duration, apply: Duration, redone: bool, pages: u64) {
        self.commits += 1;
        self.wal_pages += pages;
        self.writes += writes as u64;
        self.largest = self.largest.max(writes);
        self.busy += took;
        self.apply += apply;
        self.redone += u64::from(redone);
        let bucket = match writes {
            0..=1 => 0,
            2..=3 => 1,
            4..=7 => 2,
            8..=15 => 3,
            16..=31 => 4,
            _ => 5,
        };
        self.sizes[bucket] += 1;
    }

    fn report(&mut self, interval: Duration) {
        if self.commits > 0 {
            let per_commit = |d: Duration| d.as_secs_f64() * 1e3 / self.commits as f64;
            tracing::debug!(
                seconds = interval.as_secs_f64(),
                commits = self.commits,
                writes = self.writes,
                mean_batch = self.writes as f64 / self.commits as f64,
                largest_batch = self.largest,
                mean_commit_ms = per_commit(self.busy),
                mean_apply_ms = per_commit(self.apply),
                wal_pages_per_commit = self.wal_pages as f64 / self.commits as f64,
                busy = self.busy.as_secs_f64() / interval.as_secs_f64().max(1e-9),
                redone = self.redone,
                own_checkpoints = self.own_checkpoints,
                own_checkpoint_ms = self.own_checkpoint_time.as_secs_f64() * 1e3,
                batches_1_2_4_8_16_32 = ?self.sizes,
                "group commits"
            );
        }
        *self = Stats::default();
    }
}

/// A queued write and whom to tell when it is durable.
pub(super) struct Pending {
    pub write: Write,
    pub ack: oneshot::Sender<Result<(), StoreError>>,
}

/// Runs the writer until the channel closes (shutdown: drains) or `abort` is set (drops).
/// `wal_pages` is the log's size after the last commit, as the WAL hook reports it.
pub(super) fn run(
    conn: Connection,
    rx: Receiver<Pending>,
    abort: Arc<AtomicBool>,
    wal_pages: Arc<AtomicI64>,
    checkpoint_turn: CheckpointTurn,
) {
    let mut last_purge = Instant::now();
    let (mut stats, mut last_stats) = (Stats::default(), Instant::now());
    let mut batch: Vec<Pending> = Vec::new();
    loop {
        match rx.recv() {
            Ok(p) => batch.push(p),
            Err(_) => break,
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        if abort.load(Ordering::SeqCst) {
            for p in batch.drain(..) {
                let _ = p.ack.send(Err(StoreError::Closed));
            }
            break;
        }
        let t = Instant::now();
        let before = wal_pages.load(Ordering::Relaxed);
        let outcome = commit_batch(&conn, &batch);
        let took = t.elapsed();
        let after = wal_pages.load(Ordering::Relaxed);
        // A log restarted by a checkpoint starts again from its first page.
        let appended = if after >= before {
            after - before
        } else {
            after
        };
        tracing::trace!(writes = batch.len(), elapsed = ?took, "group commit");
        stats.add(
            batch.len(),
            took,
            outcome.apply,
            outcome.redone,
            u64::try_from(appended).unwrap_or(0),
        );
        let results = outcome.results;
        if last_stats.elapsed() >= STATS_EVERY {
            stats.report(last_stats.elapsed());
            last_stats = Instant::now();
        }
        for (p, r) in batch.drain(..).zip(results) {
            // The requester may have gone away; the write is durable all the same.
            let _ = p.ack.send(r);
        }
        if wal_pages.load(Ordering::Relaxed) >= WAL_RESTART_PAGES {
            // No new commit can come while the writer is here: this checkpoint reaches the end
            // of the log (unless a reader still needs an older version of a page), and the next
            // transaction restarts the log. While one of the checkpointer's is under way, it is
            // tried again after the next batch.
            let turn = match checkpoint_turn.try_lock() {
                Ok(guard) => Some(guard),
                Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            };
            if turn.is_some() {
                let t = Instant::now();
                if let Err(e) = conn.wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::PASSIVE) {
                    tracing::debug!(error = %e, "checkpoint did not run");
                }
                stats.own_checkpoints += 1;
                stats.own_checkpoint_time += t.elapsed();
            }
        }
        if last_purge.elapsed() >= PURGE_EVERY {
            last_purge = Instant::now();
            if let Err(e) = purge_request_nonces(&conn) {
                tracing::warn!(error = %e, "purging expired request nonces failed");
            }
        }
    }
    // Leave a small WAL behind so the next start opens quickly.
    if !abort.load(Ordering::SeqCst) {
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    }
}

/// The outcome of one group commit.
struct Committed {
    /// One result per write.
    results: Vec<Result<(), StoreError>>,
    /// Time spent applying the writes before `COMMIT`.
    apply: Duration,
    /// Whether the batch had to be applied a second time, write by write.
    redone: bool,
}

/// Applies a batch in one transaction; returns one result per write.
fn commit_batch(conn: &Connection, batch: &[Pending]) -> Committed {
    let t = Instant::now();
    let fail_all = |err: StoreError, redone| Committed {
        results: batch.iter().map(|_| Err(err.clone())).collect(),
        apply: t.elapsed(),
        redone,
    };
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        return fail_all(StoreError::from(e), false);
    }
    // Fast path: every write straight into the transaction.
    let mut redone = false;
    let mut results: Vec<Result<(), StoreError>> = Vec::with_capacity(batch.len());
    for p in batch {
        if let Err(e) = apply(conn, &p.write) {
            tracing::debug!(error = %e, "a write failed; the batch is applied again write by write");
            redone = true;
            break;
        }
        results.push(Ok(()));
    }
    if redone {
        // Slow path: undo everything, then each write under its own savepoint.
        results.clear();
        if let Err(e) = conn.execute_batch("ROLLBACK; BEGIN IMMEDIATE") {
            let _ = conn.execute_batch("ROLLBACK");
            return fail_all(StoreError::from(e), true);
        }
        for p in batch {
            results.push(apply_one(conn, &p.write));
        }
    }
    let apply = t.elapsed();
    if let Err(e) = conn.execute_batch("COMMIT") {
        let err = StoreError::from(e);
        tracing::error!(error = %err, "commit failed; the batch is rolled back");
        let _ = conn.execute_batch("ROLLBACK");
        return fail_all(err, redone);
    }
    Committed {
        results,
        apply,
        redone,
    }
}

/// Applies one write under a savepoint, so a failure undoes it alone.
fn apply_one(conn: &Connection, write: &Write) -> Result<(), StoreError> {
    conn.execute_batch("SAVEPOINT w")?;
    match apply(conn, write) {
        Ok(()) => {
            conn.execute_batch("RELEASE w")?;
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, "write failed and was rolled back");
            conn.execute_batch("ROLLBACK TO w; RELEASE w")?;
            Err(e)
        }
    }
}

fn apply(conn: &Connection, write: &Write) -> Result<(), StoreError> {
    match write {
        Write::Turn {
            session,
            receipt,
            credential_nonce,
            request_nonce,
            history,
            allow_overwrite,
        } => {
            if let Some(n) = request_nonce {
                record_nonce(conn, n)?;
            }
            write_head(conn, session)?;
            if let Some(r) = receipt {
                let version = i64::try_from(r.version)
                    .map_err(|_| StoreError::Corrupt("state_version beyond i64".into()))?;
                let sql = if *allow_overwrite {
                    "INSERT OR REPLACE INTO receipts (session_id, version, turn_id, body) VALUES (?1, ?2, ?3, ?4)"
                } else {
                    "INSERT INTO receipts (session_id, version, turn_id, body) VALUES (?1, ?2, ?3, ?4)"
                };
                conn.prepare_cached(sql)?.execute(params![
                    session.session_id,
                    version,
                    r.turn_id,
                    r.body
                ])?;
            }
            if let Some(h) = history {
                let seq = i64::try_from(h.seq)
                    .map_err(|_| StoreError::Corrupt("history seq beyond i64".into()))?;
                let sql = if *allow_overwrite {
                    "INSERT OR REPLACE INTO amp_history (session_id, seq, sender, msg_id, kind, entry)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                } else {
                    "INSERT INTO amp_history (session_id, seq, sender, msg_id, kind, entry)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                };
                conn.prepare_cached(sql)?.execute(params![
                    session.session_id,
                    seq,
                    h.sender,
                    h.msg_id,
                    h.kind,
                    h.entry
                ])?;
            }
            if let Some(nonce) = credential_nonce {
                conn.prepare_cached(
                    "INSERT OR IGNORE INTO credential_nonces (session_id, nonce) VALUES (?1, ?2)",
                )?
                .execute(params![session.session_id, nonce])?;
            }
        }
        Write::RequestNonce(n) => record_nonce(conn, n)?,
        Write::DeleteSession { session_id } => {
            for sql in [
                "DELETE FROM receipts WHERE session_id = ?1",
                "DELETE FROM credential_nonces WHERE session_id = ?1",
                "DELETE FROM amp_history WHERE session_id = ?1",
                "DELETE FROM sessions WHERE id = ?1",
            ] {
                conn.prepare_cached(sql)?.execute(params![session_id])?;
            }
        }
    }
    Ok(())
}

/// Stores a session's head. Most turns change neither the convener, nor whether the session
/// is open, nor its expiry: then only the head is rewritten, and the `sessions_by_convener`
/// index is left alone.
fn write_head(conn: &Connection, session: &SessionRow) -> Result<(), StoreError> {
    let row = params![
        session.session_id,
        session.convener,
        session.open,
        session.expires_at,
        session.head
    ];
    let changed = conn
        .prepare_cached(
            "UPDATE sessions SET head = ?5
             WHERE id = ?1 AND convener = ?2 AND open = ?3 AND expires_at = ?4",
        )?
        .execute(row)?;
    if changed == 0 {
        conn.prepare_cached(
            "INSERT INTO sessions (id, convener, open, expires_at, head) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET convener = ?2, open = ?3, expires_at = ?4, head = ?5",
        )?
        .execute(row)?;
    }
    Ok(())
}

/// Stores a request nonce. Nonces are kept in arrival order (a rowid table), so that each is
/// appended at the end of the table and of its expiry index whatever its hash: keyed by
/// (expiry, hash), the nonces of one second landed on a random page each, a page per write. A
/// nonce is stored once per accepted request; the engine reads the table once, at start, and
/// keeps one entry per hash.
fn record_nonce(conn: &Connection, n: &RequestNonce) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO request_nonce_log (expires_at, key) VALUES (?1, ?2)")?
        .execute(params![n.expires_at, &n.key[..]])?;
    Ok(())
}

fn purge_request_nonces(conn: &Connection) -> Result<(), StoreError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    conn.prepare_cached("DELETE FROM request_nonce_log WHERE expires_at < ?1")?
        .execute(params![now])?;
    Ok(())
}
