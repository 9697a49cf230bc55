//! [`Connections`]: a store's writer and reader on one database.

use super::{migrate, open, open_in_memory, GroupCommitWriter, Role, SqliteStoreError};
use rusqlite::Connection;
use std::future::Future;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A store's connections to one SQLite database: a [`GroupCommitWriter`] that makes every
/// write, and a read-only connection ([`Role::Reader`]) for the reads, which WAL lets read
/// committed data while the writer works. An in-memory database has only the writer's
/// connection, so there the reads queue with the writes.
///
/// Every failure comes in the store's own error type `E` ([`SqliteStoreError`]), which the
/// reads and writes return as well. Dropping the value stops the writer thread once the writes
/// already queued are done.
pub struct Connections<E> {
    writer: GroupCommitWriter,
    reader: Option<Arc<Mutex<Connection>>>,
    error: PhantomData<fn() -> E>,
}

impl<E> Connections<E> {
    /// Whether the database is in memory (and the reads go through the writer).
    pub fn is_in_memory(&self) -> bool {
        self.reader.is_none()
    }
}

impl<E> std::fmt::Debug for Connections<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("in_memory", &self.is_in_memory())
            .finish_non_exhaustive()
    }
}

/// What [`Connections::read`] does once it has run or queued the read.
enum Read<R, F> {
    Done(R),
    Queued(F),
}

impl<E: SqliteStoreError + Send + 'static> Connections<E> {
    /// Opens (creating if needed) the database file at `path` ([`open`]), brings its schema to
    /// the newest of `migrations` ([`migrate`]), opens the reader and starts the writer thread,
    /// named `thread_name`, with at most `max_batch` writes a commit. Blocks for file I/O (and
    /// up to [`BUSY_TIMEOUT`](super::BUSY_TIMEOUT) if another connection holds the write lock).
    pub fn open(
        path: &Path,
        migrations: &[&str],
        thread_name: &str,
        max_batch: usize,
    ) -> Result<Self, E> {
        let mut writer = open(path, Role::Writer).map_err(E::from_sqlite)?;
        migrate(&mut writer, migrations).map_err(E::from_schema)?;
        let reader = open(path, Role::Reader).map_err(E::from_sqlite)?;
        Self::start(writer, Some(reader), thread_name, max_batch)
    }

    /// A private, non-durable database in memory ([`open_in_memory`]) with the schema of
    /// `migrations`, and its writer thread as in [`Connections::open`].
    pub fn open_in_memory(
        migrations: &[&str],
        thread_name: &str,
        max_batch: usize,
    ) -> Result<Self, E> {
        let mut conn = open_in_memory().map_err(E::from_sqlite)?;
        migrate(&mut conn, migrations).map_err(E::from_schema)?;
        Self::start(conn, None, thread_name, max_batch)
    }

    fn start(
        writer: Connection,
        reader: Option<Connection>,
        thread_name: &str,
        max_batch: usize,
    ) -> Result<Self, E> {
        let writer =
            GroupCommitWriter::spawn(writer, thread_name, max_batch).map_err(E::writer_thread)?;
        Ok(Connections {
            writer,
            reader: reader.map(|c| Arc::new(Mutex::new(c))),
            error: PhantomData,
        })
    }

    /// Runs `work` in the writer's next group commit, inside a savepoint of its own, and
    /// resolves once that commit is durable ([`GroupCommitWriter::write`]).
    pub async fn write<T, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        self.writer.write(work).await.map_err(E::from_write)
    }

    /// Runs `work` on the reader right away, on the calling thread, and returns a future ready
    /// with its result: for lookups that take microseconds, less than handing them to another
    /// thread would cost. In memory, `work` is queued with the writes instead
    /// ([`Connections::write`]) when the future is first polled.
    pub fn read<T, F>(&self, work: F) -> impl Future<Output = Result<T, E>> + Send + '_
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let read = match &self.reader {
            Some(reader) => Read::Done(work(&lock(reader))),
            None => Read::Queued(work),
        };
        async move {
            match read {
                Read::Done(result) => result,
                Read::Queued(work) => self.write(work).await,
            }
        }
    }

    /// Runs `work` on the reader on tokio's blocking pool, so that a long read does not hold
    /// up the calling task's thread; it must be awaited inside a tokio runtime. In memory,
    /// `work` is queued with the writes instead ([`Connections::write`]). A read whose
    /// blocking task was lost (it panicked, or the runtime is shutting down) fails with
    /// [`SqliteStoreError::closed`].
    pub fn read_blocking<T, F>(&self, work: F) -> impl Future<Output = Result<T, E>> + Send + '_
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let reader = self.reader.clone();
        async move {
            let Some(reader) = reader else {
                return self.write(work).await;
            };
            tokio::task::spawn_blocking(move || work(&lock(&reader)))
                .await
                .map_err(|_| E::closed())?
        }
    }
}

/// The reader. A panic while its lock was held cannot leave a read-only connection
/// inconsistent, so a poisoned lock is taken all the same.
fn lock(reader: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    reader.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::tests::TestError;

    const V1: &str = "CREATE TABLE t (v INTEGER NOT NULL UNIQUE);";

    fn insert(v: i64) -> impl FnOnce(&Connection) -> Result<i64, TestError> {
        move |conn| {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [v])
                .map_err(TestError::from_sqlite)?;
            Ok(v)
        }
    }

    fn count(conn: &Connection) -> Result<i64, TestError> {
        conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .map_err(TestError::from_sqlite)
    }

    #[tokio::test]
    async fn writes_are_read_back_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let db = Connections::<TestError>::open(&path, &[V1], "test-writer", 8).unwrap();
        assert!(!db.is_in_memory());
        assert_eq!(db.write(insert(1)).await.unwrap(), 1);
        assert_eq!(db.read(count).await.unwrap(), 1);
        assert_eq!(db.read_blocking(count).await.unwrap(), 1);
        // The reader cannot write.
        let refused = db.read(insert(2)).await;
        assert!(matches!(
            refused,
            Err(TestError::Backend {
                backend: "sqlite",
                ..
            })
        ));
        // The write's own error comes back as it is.
        let own = db
            .write(|_conn: &Connection| -> Result<(), TestError> { Err(TestError::Refused) })
            .await;
        assert!(matches!(own, Err(TestError::Refused)));
    }

    #[tokio::test]
    async fn in_memory_reads_go_through_the_writer() {
        let db = Connections::<TestError>::open_in_memory(&[V1], "test-writer", 8).unwrap();
        assert!(db.is_in_memory());
        db.write(insert(1)).await.unwrap();
        assert_eq!(db.read(count).await.unwrap(), 1);
        assert_eq!(db.read_blocking(count).await.unwrap(), 1);
    }

    #[test]
    fn reads_on_the_reader_run_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let db =
            Connections::<TestError>::open(&dir.path().join("c.sqlite"), &[V1], "w", 8).unwrap();
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        let read = db.read(move |conn| {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            count(conn)
        });
        // Not polled yet.
        assert!(ran.load(std::sync::atomic::Ordering::SeqCst));
        drop(read);
    }

    #[test]
    fn a_newer_file_is_refused_as_schema_too_new() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let two = [V1, "ALTER TABLE t ADD COLUMN w INTEGER;"];
        drop(Connections::<TestError>::open(&path, &two, "w", 8).unwrap());
        let err = Connections::<TestError>::open(&path, &[V1], "w", 8).unwrap_err();
        assert!(matches!(
            err,
            TestError::SchemaTooNew {
                found: 2,
                supported: 1
            }
        ));
    }

    #[test]
    fn the_usual_variants_are_mapped() {
        assert!(matches!(TestError::closed(), TestError::Closed));
        let thread = TestError::writer_thread(std::io::Error::other("no threads"));
        assert!(matches!(
            &thread,
            TestError::Backend { backend: "sqlite", source } if source.to_string() == "no threads"
        ));
        let closed = TestError::from_write(crate::sqlite::WriteError::Closed);
        assert!(matches!(closed, TestError::Closed));
    }
}
