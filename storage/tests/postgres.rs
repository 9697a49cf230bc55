//! The PostgreSQL pool, schema creation and conflict retry against a real server.
//!
//! Needs `LNEDGE_TEST_POSTGRES_URL` (set by `scripts/with-postgres`); without it the tests that
//! need a server say why and pass — except under `CI=true`, where they fail.
#![cfg(feature = "test-harness")]

use lnedge_storage::postgres::{
    ensure_schema, is_conflict, retry, PgError, PgSchema, Pool, PoolOptions, Prepare, Retry,
    RetryError,
};
use lnedge_storage::test_postgres::TestSchema;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio_postgres::{Client, Statement};

const SPEC: PgSchema<'static> = PgSchema {
    lock_key: 0x6c6e_6564_6765_00ff,
    meta_table: "st_meta",
    version: 2,
    sql: "CREATE TABLE IF NOT EXISTS st_items (id BIGINT PRIMARY KEY, v BIGINT NOT NULL);",
};

struct Statements {
    get: Statement,
}

impl Prepare for Statements {
    async fn prepare(client: &Client) -> Result<Self, tokio_postgres::Error> {
        Ok(Statements {
            get: client
                .prepare("SELECT v FROM st_items WHERE id = $1")
                .await?,
        })
    }
}

async fn backend_pid(client: &Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0)
}

fn options(db: &TestSchema, size: usize) -> PoolOptions {
    PoolOptions {
        size,
        schema: Some(db.schema.clone()),
    }
}

#[tokio::test]
async fn invalid_options_are_refused_before_connecting() {
    let url = "postgres://nobody@127.0.0.1:1/none";
    let zero = PoolOptions {
        size: 0,
        schema: None,
    };
    assert!(matches!(
        Pool::<()>::connect(url, zero, &SPEC).await,
        Err(PgError::InvalidConfig { .. })
    ));
    let bad_name = PoolOptions {
        size: 1,
        schema: Some("Bad-Name".into()),
    };
    assert!(matches!(
        Pool::<()>::connect(url, bad_name, &SPEC).await,
        Err(PgError::InvalidConfig { .. })
    ));
}

#[tokio::test]
async fn pool_creates_the_schema_prepares_and_serves() {
    let Some(db) = TestSchema::new() else { return };
    let pool = Pool::<Statements>::connect(&db.url, options(&db, 2), &SPEC)
        .await
        .unwrap();
    assert_eq!(pool.size(), 2);
    assert_eq!(pool.schema(), Some(db.schema.as_str()));
    {
        let conn = pool.get().await.unwrap();
        conn.client
            .execute("INSERT INTO st_items (id, v) VALUES (1, 10)", &[])
            .await
            .unwrap();
        let v: i64 = conn
            .client
            .query_one(&conn.statements.get, &[&1i64])
            .await
            .unwrap()
            .get(0);
        assert_eq!(v, 10);
        // Sessions are durable whatever the server's default.
        let sync: String = conn
            .client
            .query_one("SHOW synchronous_commit", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(sync, "on");
    }
    // Two guards at once: both connections are used.
    let (a, b) = (pool.get().await.unwrap(), pool.get().await.unwrap());
    assert_ne!(backend_pid(&a.client).await, backend_pid(&b.client).await);
    drop((a, b));

    // The version is recorded in this schema's meta table.
    let admin = db.client().await;
    let version: i64 = admin
        .query_one(
            "SELECT value FROM st_meta WHERE name = 'schema_version'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, 2);
    db.drop_schema().await;
}

#[tokio::test]
async fn a_closed_connection_is_replaced() {
    let Some(db) = TestSchema::new() else { return };
    let pool = Pool::<Statements>::connect(&db.url, options(&db, 1), &SPEC)
        .await
        .unwrap();
    let pid = backend_pid(&pool.get().await.unwrap().client).await;
    let admin = db.client().await;
    admin
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    // The client notices the closed socket shortly.
    for _ in 0..200 {
        if pool.get().await.unwrap().client.is_closed() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let conn = pool.get().await.unwrap();
    assert_ne!(backend_pid(&conn.client).await, pid);
    // Prepared again on the new session.
    conn.client
        .query_opt(&conn.statements.get, &[&1i64])
        .await
        .unwrap();
    drop(conn);
    db.drop_schema().await;
}

#[tokio::test]
async fn a_newer_schema_is_refused_and_left_alone() {
    let Some(db) = TestSchema::new() else { return };
    drop(
        Pool::<()>::connect(&db.url, options(&db, 1), &SPEC)
            .await
            .unwrap(),
    );
    let mut admin = db.client().await;
    admin
        .execute(
            "UPDATE st_meta SET value = 9 WHERE name = 'schema_version'",
            &[],
        )
        .await
        .unwrap();
    assert!(matches!(
        Pool::<()>::connect(&db.url, options(&db, 1), &SPEC).await,
        Err(PgError::SchemaTooNew {
            found: 9,
            supported: 2
        })
    ));
    assert!(matches!(
        ensure_schema(&mut admin, Some(&db.schema), &SPEC).await,
        Err(PgError::SchemaTooNew { .. })
    ));
    let version: i64 = admin
        .query_one(
            "SELECT value FROM st_meta WHERE name = 'schema_version'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, 9);
    db.drop_schema().await;
}

#[tokio::test]
async fn workers_starting_together_create_the_schema_once() {
    let Some(db) = TestSchema::new() else { return };
    let mut starts = Vec::new();
    for _ in 0..4 {
        let (url, options) = (db.url.clone(), options(&db, 1));
        starts.push(tokio::spawn(async move {
            Pool::<Statements>::connect(&url, options, &SPEC).await
        }));
    }
    for s in starts {
        s.await.unwrap().unwrap();
    }
    db.drop_schema().await;
}

/// Two sessions lock two rows in opposite orders: the server detects the deadlock and fails
/// one; [`retry`] runs it again and both land.
#[tokio::test]
async fn a_deadlock_is_a_conflict_and_is_retried() {
    let Some(db) = TestSchema::new() else { return };
    let pool = Arc::new(
        Pool::<()>::connect(&db.url, options(&db, 2), &SPEC)
            .await
            .unwrap(),
    );
    {
        let conn = pool.get().await.unwrap();
        conn.client
            .batch_execute("INSERT INTO st_items (id, v) VALUES (1, 0), (2, 0)")
            .await
            .unwrap();
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let conflicts = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for (first, second) in [(1i64, 2i64), (2, 1)] {
        let (pool, barrier, conflicts) = (pool.clone(), barrier.clone(), conflicts.clone());
        workers.push(tokio::spawn(async move {
            let conn = pool.get().await.unwrap();
            let client = &conn.client;
            let attempts = AtomicUsize::new(0);
            let result = retry(8, || {
                let (barrier, conflicts, attempts) = (&barrier, &conflicts, &attempts);
                async move {
                    let attempt = attempts.fetch_add(1, Ordering::SeqCst);
                    client.batch_execute("BEGIN").await?;
                    let outcome = async {
                        client
                            .execute("UPDATE st_items SET v = v + 1 WHERE id = $1", &[&first])
                            .await?;
                        if attempt == 0 {
                            barrier.wait().await;
                        }
                        client
                            .execute("UPDATE st_items SET v = v + 1 WHERE id = $1", &[&second])
                            .await?;
                        client.batch_execute("COMMIT").await
                    }
                    .await;
                    if let Err(e) = &outcome {
                        if is_conflict(e) {
                            conflicts.fetch_add(1, Ordering::SeqCst);
                        }
                        client.batch_execute("ROLLBACK").await?;
                    }
                    outcome
                }
            })
            .await;
            drop(conn);
            result
        }));
    }
    for w in workers {
        w.await.unwrap().unwrap();
    }
    assert!(conflicts.load(Ordering::SeqCst) >= 1);
    let conn = pool.get().await.unwrap();
    let total: i64 = conn
        .client
        .query_one("SELECT SUM(v)::BIGINT FROM st_items", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(total, 4);
    drop(conn);
    db.drop_schema().await;
}

#[tokio::test]
async fn other_failures_are_not_retried() {
    let Some(db) = TestSchema::new() else { return };
    let pool = Pool::<()>::connect(&db.url, options(&db, 1), &SPEC)
        .await
        .unwrap();
    let conn = pool.get().await.unwrap();
    let attempts = AtomicUsize::new(0);
    let result = retry(8, || {
        attempts.fetch_add(1, Ordering::SeqCst);
        conn.client.execute("SELECT * FROM no_such_table", &[])
    })
    .await;
    assert!(matches!(result, Err(RetryError::Failed(ref e)) if !is_conflict(e)));
    assert_eq!(attempts.load(Ordering::SeqCst), 1);

    let mut counter = Retry::new(8);
    let e = conn
        .client
        .execute("SELECT * FROM no_such_table", &[])
        .await
        .unwrap_err();
    assert!(matches!(counter.failed(e), Err(RetryError::Failed(_))));
    drop(conn);
    db.drop_schema().await;
}
