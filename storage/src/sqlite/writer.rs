//! [`GroupCommitWriter`]: one writer thread that group-commits.
//!
//! With `synchronous=FULL` every commit syncs the WAL, so committing each write on its own caps
//! a store at the disk's sync rate (from a few hundred to tens of thousands per second, by
//! disk). The writer thread instead takes every write queued while the previous commit was
//! syncing, runs them in one `BEGIN IMMEDIATE` transaction — each inside its own savepoint, so a
//! write that fails is rolled back alone — commits once, and only then answers each caller.
//! Concurrent writers share a sync; each caller still hears back only after its write is
//! durable.

use rusqlite::Connection;
use std::sync::{mpsc, Arc};
use tokio::sync::oneshot;

/// Why a write through [`GroupCommitWriter::write`] did not take effect.
#[derive(Debug, thiserror::Error)]
pub enum WriteError<E> {
    /// The write's own error. Its savepoint was rolled back; the other writes of its batch
    /// were not affected.
    #[error("the write failed")]
    Job(#[source] E),
    /// SQLite failed to begin, savepoint or commit. A failure to begin or commit is shared by
    /// every write of the batch, and none of them took effect.
    #[error("sqlite failed to commit the write")]
    Sqlite(#[source] Arc<rusqlite::Error>),
    /// The writer thread has stopped (a write panicked), so the write was not made.
    #[error("the sqlite writer thread has stopped")]
    Closed,
}

/// The sending side of a group-committing writer thread that owns one SQLite connection.
///
/// Cheap to clone; the thread stops once every clone is dropped and the writes already queued
/// are done, and then closes its connection. Writes must be awaited inside a tokio runtime or
/// any other executor: the thread answers over a `tokio::sync::oneshot` channel.
#[derive(Clone)]
pub struct GroupCommitWriter {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl std::fmt::Debug for GroupCommitWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommitWriter").finish_non_exhaustive()
    }
}

impl GroupCommitWriter {
    /// Starts the writer thread, named `thread_name`, on `conn` (a read-write connection,
    /// normally from [`open`](super::open) with [`Role::Writer`](super::Role::Writer)). One
    /// commit takes at most `max_batch` writes (at least 1).
    pub fn spawn(conn: Connection, thread_name: &str, max_batch: usize) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let max_batch = max_batch.max(1);
        std::thread::Builder::new()
            .name(thread_name.into())
            .spawn(move || run(conn, rx, max_batch))?;
        Ok(GroupCommitWriter { jobs: tx })
    }

    /// Runs `work` in the writer's next group commit, inside a savepoint of its own, and
    /// resolves once that commit is durable: with `work`'s value, or with why it did not take
    /// effect.
    ///
    /// `work` runs on the writer thread; it must not wait for another write (that write could
    /// only run after it). The write is queued when the returned future is first polled;
    /// dropping the future afterwards does not withdraw it.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, WriteError<E>>
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
            .map_err(|_| WriteError::Closed)?;
        answer.await.map_err(|_| WriteError::Closed)?
    }
}

/// One write: run inside the batch's transaction, answered after the commit.
trait Job: Send {
    fn run(&mut self, conn: &Connection);
    fn finish(self: Box<Self>, commit: Result<(), Arc<rusqlite::Error>>);
}

struct TypedJob<T, E, F> {
    work: Option<F>,
    result: Option<Result<T, WriteError<E>>>,
    reply: oneshot::Sender<Result<T, WriteError<E>>>,
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
            Ok(()) => self.result.unwrap_or(Err(WriteError::Closed)),
            Err(e) => Err(WriteError::Sqlite(e)),
        };
        // The caller may have stopped waiting; the write is durable (or failed) all the same.
        let _ = self.reply.send(answer);
    }
}

/// Runs `work` inside a savepoint, rolled back if `work` fails.
fn in_savepoint<T, E>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<T, WriteError<E>> {
    let failed = |e| WriteError::Sqlite(Arc::new(e));
    conn.execute_batch("SAVEPOINT job").map_err(failed)?;
    let result = work(conn);
    let end = if result.is_ok() {
        "RELEASE job"
    } else {
        "ROLLBACK TO job; RELEASE job"
    };
    conn.execute_batch(end).map_err(failed)?;
    result.map_err(WriteError::Job)
}

/// The writer thread: group commits until every sender is gone.
fn run(conn: Connection, jobs: mpsc::Receiver<Box<dyn Job>>, max_batch: usize) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
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
                // Leave no transaction open for the next batch; a failed COMMIT may have ended
                // it already, so an error here is expected and harmless.
                let _ = conn.execute_batch("ROLLBACK");
            })
        });
        let commit = commit.map_err(Arc::new);
        for job in batch {
            job.finish(commit.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::{open, Role};
    use std::path::Path;
    use std::sync::mpsc as std_mpsc;
    use std::time::{Duration, Instant};

    fn table(path: &Path) -> Connection {
        let conn = open(path, Role::Writer).unwrap();
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS t (v INTEGER NOT NULL UNIQUE);
             CREATE TABLE IF NOT EXISTS p (id INTEGER PRIMARY KEY);
             CREATE TABLE IF NOT EXISTS c (
                 p INTEGER NOT NULL REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED
             );",
        )
        .unwrap();
        conn
    }

    fn committed(path: &Path) -> Vec<i64> {
        let reader = open(path, Role::Reader).unwrap();
        let mut stmt = reader.prepare("SELECT v FROM t ORDER BY v").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    fn insert(v: i64) -> impl FnOnce(&Connection) -> Result<i64, rusqlite::Error> {
        move |conn| {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
            Ok(v)
        }
    }

    /// A write that inserts `v` and then holds the writer (its batch cannot commit) until
    /// `gate` is signalled; it says on `started` when it holds it.
    fn held_insert(
        v: i64,
        started: std_mpsc::Sender<()>,
        gate: std_mpsc::Receiver<()>,
    ) -> impl FnOnce(&Connection) -> Result<i64, rusqlite::Error> {
        move |conn| {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
            started.send(()).unwrap();
            gate.recv().unwrap();
            Ok(v)
        }
    }

    /// Spawns `work` through `writer` and waits until its job is on the writer's queue: a
    /// write is queued when its future is first polled.
    async fn spawn_write<T, F>(
        writer: &GroupCommitWriter,
        work: F,
    ) -> tokio::task::JoinHandle<Result<T, WriteError<rusqlite::Error>>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let writer = writer.clone();
        let (polled_tx, polled_rx) = oneshot::channel();
        let handle = tokio::spawn(async move {
            let write = writer.write(work);
            let mut write = std::pin::pin!(write);
            // The first poll queues the job.
            let first = futures_poll_once(write.as_mut()).await;
            let _ = polled_tx.send(());
            match first {
                Some(result) => result,
                None => write.await,
            }
        });
        polled_rx.await.unwrap();
        handle
    }

    /// Polls `fut` once: its output if it is ready.
    async fn futures_poll_once<F: std::future::Future + Unpin>(fut: F) -> Option<F::Output> {
        let mut fut = fut;
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut fut).poll(cx) {
                std::task::Poll::Ready(v) => Some(v),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }

    #[tokio::test]
    async fn resolves_only_once_its_commit_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let writer = GroupCommitWriter::spawn(table(&path), "test-writer", 64).unwrap();

        let (started_tx, started_rx) = std_mpsc::channel();
        let (gate_tx, gate_rx) = std_mpsc::channel();
        let held = spawn_write(&writer, held_insert(1, started_tx, gate_rx)).await;
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();

        // The row is written but not committed: the caller has not heard back, and another
        // connection does not see it.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!held.is_finished());
        assert_eq!(committed(&path), Vec::<i64>::new());

        gate_tx.send(()).unwrap();
        assert_eq!(held.await.unwrap().unwrap(), 1);
        // Once resolved, the write is committed: a fresh connection sees it.
        assert_eq!(committed(&path), [1]);
    }

    #[tokio::test]
    async fn writes_queued_during_a_commit_share_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let writer = GroupCommitWriter::spawn(table(&path), "test-writer", 64).unwrap();

        // Hold the writer in a first batch while three writes queue up behind it.
        let (started_tx, started_rx) = std_mpsc::channel();
        let (gate_tx, gate_rx) = std_mpsc::channel();
        let first = spawn_write(&writer, held_insert(1, started_tx, gate_rx)).await;
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        let ok = spawn_write(&writer, insert(2)).await;
        // Violates a deferred foreign key: only COMMIT notices, and fails the whole batch.
        let poison = spawn_write(&writer, |conn: &Connection| {
            conn.execute("INSERT INTO c (p) VALUES (99)", [])
        })
        .await;
        let also_ok = spawn_write(&writer, insert(3)).await;
        gate_tx.send(()).unwrap();

        assert_eq!(first.await.unwrap().unwrap(), 1);
        // The three queued writes were one transaction: the poisoned commit failed them all,
        // including the two innocent ones, and none of them took effect.
        for handle in [ok, also_ok] {
            assert!(matches!(handle.await.unwrap(), Err(WriteError::Sqlite(_))));
        }
        assert!(matches!(poison.await.unwrap(), Err(WriteError::Sqlite(_))));
        assert_eq!(committed(&path), [1]);

        // The writer recovered (the failed transaction was rolled back).
        assert_eq!(writer.write(insert(2)).await.unwrap(), 2);
        assert_eq!(committed(&path), [1, 2]);
    }

    #[tokio::test]
    async fn a_failing_write_is_rolled_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let writer = GroupCommitWriter::spawn(table(&path), "test-writer", 64).unwrap();

        let (started_tx, started_rx) = std_mpsc::channel();
        let (gate_tx, gate_rx) = std_mpsc::channel();
        let first = spawn_write(&writer, held_insert(1, started_tx, gate_rx)).await;
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        // Inserts 10 and then fails (a duplicate): its savepoint is rolled back, 10 included.
        let failing = spawn_write(&writer, |conn: &Connection| {
            conn.execute("INSERT INTO t (v) VALUES (10)", [])?;
            conn.execute("INSERT INTO t (v) VALUES (1)", [])
        })
        .await;
        let ok = spawn_write(&writer, insert(2)).await;
        gate_tx.send(()).unwrap();

        assert_eq!(first.await.unwrap().unwrap(), 1);
        assert!(matches!(
            failing.await.unwrap(),
            Err(WriteError::Job(rusqlite::Error::SqliteFailure(..)))
        ));
        assert_eq!(ok.await.unwrap().unwrap(), 2);
        assert_eq!(committed(&path), [1, 2]);
    }

    #[tokio::test]
    async fn many_concurrent_writes_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let writer = GroupCommitWriter::spawn(table(&path), "test-writer", 8).unwrap();
        let mut handles = Vec::new();
        for v in 0..100 {
            let writer = writer.clone();
            handles.push(tokio::spawn(async move { writer.write(insert(v)).await }));
        }
        for (v, h) in handles.into_iter().enumerate() {
            assert_eq!(h.await.unwrap().unwrap(), v as i64);
        }
        assert_eq!(committed(&path), (0..100).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn the_thread_stops_when_every_sender_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let wal = dir.path().join("w.sqlite-wal");
        let writer = GroupCommitWriter::spawn(table(&path), "test-writer", 64).unwrap();
        let clone = writer.clone();
        assert_eq!(writer.write(insert(1)).await.unwrap(), 1);
        assert!(wal.exists());

        // One sender left: the thread keeps serving it.
        drop(writer);
        assert_eq!(clone.write(insert(2)).await.unwrap(), 2);

        // The last sender gone, the thread ends and closes its connection; SQLite removes the
        // WAL file when the last connection to the database closes.
        drop(clone);
        let deadline = Instant::now() + Duration::from_secs(10);
        while wal.exists() {
            assert!(Instant::now() < deadline, "the writer thread did not stop");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(committed(&path), [1, 2]);
    }

    #[tokio::test]
    async fn a_panicking_write_stops_the_writer_and_later_writes_see_closed() {
        let writer =
            GroupCommitWriter::spawn(crate::sqlite::open_in_memory().unwrap(), "test-writer", 64)
                .unwrap();
        let panicked = writer
            .write(|_conn: &Connection| -> Result<(), rusqlite::Error> {
                panic!("a write panicked (expected by this test)")
            })
            .await;
        assert!(matches!(panicked, Err(WriteError::Closed)));
        assert!(matches!(
            writer.write(insert(1)).await,
            Err(WriteError::Closed)
        ));
    }
}
