//! A group-committing SQLite writer thread, shared by the SQLite invoice store and the mailbox.
//!
//! With `synchronous=FULL` every commit syncs the WAL, so one commit per write caps throughput at
//! the disk's sync rate. The writer instead takes every write queued while the previous commit
//! was syncing, runs them in one `BEGIN IMMEDIATE` transaction (each in its own savepoint, so a
//! failing write is rolled back alone), commits once, and only then answers each caller.

use rusqlite::Connection;
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::time::Duration;
use tokio::sync::oneshot;

/// The most writes one group commit takes.
const MAX_BATCH: usize = 1024;

/// How long a write waits for another connection's write lock before failing.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a job could not run or commit.
pub(crate) enum WriteFailure<E> {
    /// The job's own error (rolled back alone).
    Job(E),
    /// The database failed (begin/commit, shared by every job of the batch).
    Sql(Arc<rusqlite::Error>),
    /// The writer thread is gone.
    Closed,
}

trait Job: Send {
    fn run(&mut self, conn: &Connection);
    fn finish(self: Box<Self>, commit: Result<(), Arc<rusqlite::Error>>);
}

struct TypedJob<T, E, F> {
    work: Option<F>,
    result: Option<Result<T, WriteFailure<E>>>,
    reply: oneshot::Sender<Result<T, WriteFailure<E>>>,
}

impl<T, E, F> Job for TypedJob<T, E, F>
where
    T: Send,
    E: Send,
    F: FnOnce(&Connection) -> Result<T, E> + Send,
{
    fn run(&mut self, conn: &Connection) {
        if let Some(work) = self.work.take() {
            self.result = Some(in_savepoint(conn, work));
        }
    }

    fn finish(self: Box<Self>, commit: Result<(), Arc<rusqlite::Error>>) {
        let answer = match commit {
            Ok(()) => self.result.unwrap_or(Err(WriteFailure::Closed)),
            Err(e) => Err(WriteFailure::Sql(e)),
        };
        // The caller may have stopped waiting; the write is durable (or failed) all the same.
        let _ = self.reply.send(answer);
    }
}

fn in_savepoint<T, E>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<T, WriteFailure<E>> {
    let failed = |e| WriteFailure::Sql(Arc::new(e));
    conn.execute_batch("SAVEPOINT job").map_err(failed)?;
    let result = work(conn);
    let end = if result.is_ok() {
        "RELEASE job"
    } else {
        "ROLLBACK TO job; RELEASE job"
    };
    conn.execute_batch(end).map_err(failed)?;
    result.map_err(WriteFailure::Job)
}

/// The sending side of a writer thread; dropping it stops the thread once queued writes are done.
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub(crate) fn start(conn: Connection, name: &str) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run(conn, rx))?;
        Ok(Writer { jobs: tx })
    }

    /// Runs `work` in the next group commit; resolves once that commit is durable.
    pub(crate) async fn write<T, E, F>(&self, work: F) -> Result<T, WriteFailure<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = TypedJob {
            work: Some(work),
            result: None,
            reply,
        };
        self.jobs
            .send(Box::new(job))
            .map_err(|_| WriteFailure::Closed)?;
        answer.await.map_err(|_| WriteFailure::Closed)?
    }
}

fn run(conn: Connection, jobs: mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let commit = conn.execute_batch("BEGIN IMMEDIATE").and_then(|()| {
            for job in &mut batch {
                job.run(&conn);
            }
            conn.execute_batch("COMMIT").inspect_err(|_| {
                // A failed COMMIT may have ended the transaction already; this only makes sure.
                let _ = conn.execute_batch("ROLLBACK");
            })
        });
        let commit = commit.map_err(Arc::new);
        for job in batch {
            job.finish(commit.clone());
        }
    }
}

/// Opens a file connection: WAL, `synchronous=FULL`, busy timeout; `query_only` for readers.
pub(crate) fn open_connection(path: &Path, reader: bool) -> rusqlite::Result<Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL is a property of the file: setting it again is a no-op.
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    if reader {
        conn.pragma_update(None, "query_only", "ON")?;
    }
    Ok(conn)
}

/// Creates the schema (`user_version` 0 → `version`) or checks it; `Err(Some(found))` when the
/// file was written by a newer schema.
pub(crate) fn migrate(
    conn: &mut Connection,
    version: i64,
    schema: &str,
) -> Result<(), Result<rusqlite::Error, i64>> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(Ok)?;
    let found: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(Ok)?;
    if found > version {
        return Err(Err(found));
    }
    if found < version {
        tx.execute_batch(schema).map_err(Ok)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(Ok)?;
    }
    tx.commit().map_err(Ok)
}
