//! The group-commit writer: one thread owns the only writing connection.
//!
//! Writers from every session queue [`Write`]s on a channel. The thread takes everything queued,
//! applies it in one transaction (each write under its own savepoint, so one bad write fails
//! alone), commits once (one fsync, `synchronous=FULL`), and only then acknowledges every write
//! of the batch. While a commit is on its way to the disk the next batch accumulates, so the
//! number of fsyncs per second stays constant as load grows, and the throughput with it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};
use tokio::sync::oneshot;

use super::{RequestNonce, StoreError, Write};

/// Most writes committed in one transaction.
const MAX_BATCH: usize = 4096;
/// How often expired request nonces are purged.
const PURGE_EVERY: Duration = Duration::from_secs(10);
/// How often the group-commit figures are logged (at `debug`, target `oap_ref::store::writer`).
const STATS_EVERY: Duration = Duration::from_secs(5);

/// Group-commit figures since the last report.
#[derive(Default)]
struct Stats {
    commits: u64,
    writes: u64,
    largest: usize,
    busy: Duration,
}

impl Stats {
    fn add(&mut self, writes: usize, took: Duration) {
        self.commits += 1;
        self.writes += writes as u64;
        self.largest = self.largest.max(writes);
        self.busy += took;
    }

    fn report(&mut self, interval: Duration) {
        if self.commits > 0 {
            tracing::debug!(
                seconds = interval.as_secs_f64(),
                commits = self.commits,
                writes = self.writes,
                mean_batch = self.writes as f64 / self.commits as f64,
                largest_batch = self.largest,
                mean_commit_ms = self.busy.as_secs_f64() * 1e3 / self.commits as f64,
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
pub(super) fn run(conn: Connection, rx: Receiver<Pending>, abort: Arc<AtomicBool>) {
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
        let results = commit_batch(&conn, &batch);
        let took = t.elapsed();
        tracing::trace!(writes = batch.len(), elapsed = ?took, "group commit");
        stats.add(batch.len(), took);
        if last_stats.elapsed() >= STATS_EVERY {
            stats.report(last_stats.elapsed());
            last_stats = Instant::now();
        }
        for (p, r) in batch.drain(..).zip(results) {
            // The requester may have gone away; the write is durable all the same.
            let _ = p.ack.send(r);
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

/// Applies a batch in one transaction; returns one result per write.
fn commit_batch(conn: &Connection, batch: &[Pending]) -> Vec<Result<(), StoreError>> {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = StoreError::from(e);
        return batch.iter().map(|_| Err(err.clone())).collect();
    }
    let mut results = Vec::with_capacity(batch.len());
    for p in batch {
        results.push(apply_one(conn, &p.write));
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        let err = StoreError::from(e);
        tracing::error!(error = %err, "commit failed; the batch is rolled back");
        let _ = conn.execute_batch("ROLLBACK");
        return batch.iter().map(|_| Err(err.clone())).collect();
    }
    results
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
            conn.prepare_cached(
                "INSERT INTO sessions (id, convener, open, expires_at, head) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET convener = ?2, open = ?3, expires_at = ?4, head = ?5",
            )?
            .execute(params![
                session.session_id,
                session.convener,
                session.open,
                session.expires_at,
                session.head
            ])?;
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
                conn.prepare_cached(
                    "INSERT INTO amp_history (session_id, seq, sender, msg_id, kind, entry)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
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

fn record_nonce(conn: &Connection, n: &RequestNonce) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO request_nonces (key, expires_at) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET expires_at = max(expires_at, ?2)",
    )?
    .execute(params![&n.key[..], n.expires_at])?;
    Ok(())
}

fn purge_request_nonces(conn: &Connection) -> Result<(), StoreError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    conn.prepare_cached("DELETE FROM request_nonces WHERE expires_at < ?1")?
        .execute(params![now])?;
    Ok(())
}
