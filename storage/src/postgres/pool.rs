//! [`Pool`]: a fixed set of connections, each with its prepared statements.

use super::{ensure_schema, valid_schema_name, PgError, PgSchema};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};
use tokio_postgres::{Client, Config, NoTls};

/// What a connection prepares once, right after it connects (typically a struct of
/// [`Statement`](tokio_postgres::Statement)s for a store's hot paths). `()` prepares nothing.
pub trait Prepare: Sized + Send + 'static {
    /// Prepares on a new connection.
    fn prepare(client: &Client)
        -> impl Future<Output = Result<Self, tokio_postgres::Error>> + Send;
}

impl Prepare for () {
    async fn prepare(_client: &Client) -> Result<Self, tokio_postgres::Error> {
        Ok(())
    }
}

/// The connections a [`Pool`] keeps unless told otherwise.
pub const DEFAULT_POOL_SIZE: usize = 4;

/// How a [`Pool`] connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOptions {
    /// Connections the pool keeps (at least 1).
    pub size: usize,
    /// The PostgreSQL schema every session works in (its `search_path`), created if missing;
    /// `None` keeps the connection's default `search_path` (normally `public`). Must pass
    /// [`valid_schema_name`].
    pub schema: Option<String>,
}

impl PoolOptions {
    /// `size` connections working in `schema`.
    pub fn new(size: usize, schema: Option<String>) -> Self {
        PoolOptions { size, schema }
    }
}

impl Default for PoolOptions {
    /// [`DEFAULT_POOL_SIZE`] connections in the default `search_path`.
    fn default() -> Self {
        PoolOptions::new(DEFAULT_POOL_SIZE, None)
    }
}

/// One pooled connection and what it prepared.
#[derive(Debug)]
pub struct PooledConnection<S> {
    /// The session.
    pub client: Client,
    /// What [`Prepare::prepare`] made on it.
    pub statements: S,
}

/// A small fixed pool of PostgreSQL sessions.
///
/// Each connection sits behind an async mutex: [`Pool::get`] takes a free one (or waits for
/// one), so a transaction has its connection to itself, while independent operations still
/// run in parallel on the server. A connection the server closed is replaced on its next use.
///
/// Every session sets `synchronous_commit = on`, so a write returns only once its commit is
/// flushed to the server's WAL (and to synchronous standbys, if any are configured), whatever
/// the database's default; and `search_path` to [`PoolOptions::schema`] when one is given.
pub struct Pool<S> {
    config: Config,
    schema: Option<String>,
    slots: Vec<Mutex<Option<PooledConnection<S>>>>,
    next: AtomicUsize,
}

impl<S> std::fmt::Debug for Pool<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("schema", &self.schema)
            .field("size", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl<S: Prepare> Pool<S> {
    /// Connects to `url` (`postgres://user@host:port/db`, or key=value form) and creates the
    /// tables of `schema` if needed ([`ensure_schema`]). Opens one connection now, the others
    /// on first use.
    pub async fn connect(
        url: &str,
        options: PoolOptions,
        schema: &PgSchema<'_>,
    ) -> Result<Self, PgError> {
        if options.size == 0 {
            return Err(PgError::InvalidConfig {
                reason: "pool_size must be at least 1",
            });
        }
        if let Some(name) = &options.schema {
            if !valid_schema_name(name) {
                return Err(PgError::InvalidConfig {
                    reason: "schema must be lower-case ASCII letters, digits and '_'",
                });
            }
        }
        let config: Config = url.parse()?;
        let pool = Pool {
            config,
            schema: options.schema,
            slots: (0..options.size).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        };
        let mut client = pool.open_client().await?;
        ensure_schema(&mut client, pool.schema.as_deref(), schema).await?;
        let statements = S::prepare(&client).await?;
        *pool.slots[0].lock().await = Some(PooledConnection { client, statements });
        Ok(pool)
    }

    /// Takes a connection: a free one if any, else waits for one in turn; reconnects (and
    /// prepares again) one the server closed. It is the caller's until the guard is dropped.
    pub async fn get(&self) -> Result<MappedMutexGuard<'_, PooledConnection<S>>, PgError> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let free = (0..n).find_map(|i| self.slots[(start + i) % n].try_lock().ok());
        let mut guard = match free {
            Some(guard) => guard,
            None => self.slots[start].lock().await,
        };
        if guard.as_ref().is_none_or(|c| c.client.is_closed()) {
            let client = self.open_client().await?;
            let statements = S::prepare(&client).await?;
            *guard = Some(PooledConnection { client, statements });
        }
        Ok(MutexGuard::map(guard, |slot| {
            slot.as_mut().expect("the slot was filled just above")
        }))
    }
}

impl<S> Pool<S> {
    /// The PostgreSQL schema the sessions work in, if one was given.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// How many connections the pool keeps.
    pub fn size(&self) -> usize {
        self.slots.len()
    }

    /// A new session: connected, its connection driven by a spawned task, durability and
    /// search path set.
    async fn open_client(&self) -> Result<Client, PgError> {
        let (client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(async move {
            // Ends when the client is dropped or the server goes away; the client then reports
            // itself closed and its slot reconnects on next use.
            let _ = connection.await;
        });
        let mut setup = String::from("SET synchronous_commit TO on;");
        if let Some(schema) = &self.schema {
            // Validated in `connect`: a plain identifier.
            setup.push_str(&format!("SET search_path TO {schema};"));
        }
        client.batch_execute(&setup).await?;
        Ok(client)
    }
}
