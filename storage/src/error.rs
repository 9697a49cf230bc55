//! How a store's own error type takes the failures of this crate.
//!
//! A store implements [`StorageError`] and the trait of each backend it uses —
//! `sqlite::SqliteStoreError`, `postgres::PgStoreError` — whose few required methods say which
//! of its variants stands for what; their provided methods then map every error of this crate
//! (a failed write, a migration, the pool) the same way in every store. An error enum with the
//! usual variants of the lnedge stores gets all of them from [`impl_store_error!`].

/// The failure every backend reports alike: a database set up by a newer build.
pub trait StorageError: Sized {
    /// The database records schema version `found`, newer than the `supported` one this build
    /// writes; it was left as it was.
    fn schema_too_new(found: i64, supported: i64) -> Self;
}

/// Implements [`StorageError`] and the backends' error traits named after the `:` —
/// `sqlite` ([`SqliteStoreError`](crate::sqlite::SqliteStoreError)), `postgres`
/// ([`PgStoreError`](crate::postgres::PgStoreError)) — for an error enum with the usual variants
/// of the lnedge stores:
///
/// - `Backend { backend: &'static str, source: Arc<dyn Error + Send + Sync> }`, the database
///   failed: `backend` is `"sqlite"` or `"postgres"` and `source` its error (a SQLite writer
///   thread that cannot be started counts as a `"sqlite"` failure too);
/// - `SchemaTooNew { found: i64, supported: i64 }`;
/// - `Closed`, the store's SQLite writer thread has stopped (with `sqlite`);
/// - `InvalidConfig { reason: &'static str }` (with `postgres`).
///
/// ```ignore
/// lnedge_storage::impl_store_error!(StoreError: sqlite, postgres);
/// ```
#[macro_export]
macro_rules! impl_store_error {
    ($ty:ident: $($backend:ident),+ $(,)?) => {
        $crate::impl_store_error!(@base $ty);
        $($crate::impl_store_error!(@$backend $ty);)+
    };
    (@base $ty:ident) => {
        impl $crate::StorageError for $ty {
            fn schema_too_new(found: i64, supported: i64) -> Self {
                $ty::SchemaTooNew { found, supported }
            }
        }
    };
    (@sqlite $ty:ident) => {
        impl $crate::sqlite::SqliteStoreError for $ty {
            fn sqlite(source: ::std::sync::Arc<$crate::sqlite::rusqlite::Error>) -> Self {
                $ty::Backend {
                    backend: "sqlite",
                    source,
                }
            }

            fn closed() -> Self {
                $ty::Closed
            }

            fn writer_thread(e: ::std::io::Error) -> Self {
                $ty::Backend {
                    backend: "sqlite",
                    source: ::std::sync::Arc::new(e),
                }
            }
        }
    };
    (@postgres $ty:ident) => {
        impl $crate::postgres::PgStoreError for $ty {
            fn postgres(e: $crate::postgres::tokio_postgres::Error) -> Self {
                $ty::Backend {
                    backend: "postgres",
                    source: ::std::sync::Arc::new(e),
                }
            }

            fn invalid_config(reason: &'static str) -> Self {
                $ty::InvalidConfig { reason }
            }
        }
    };
}

#[cfg(test)]
pub(crate) mod tests {
    use std::error::Error as StdError;
    use std::sync::Arc;

    /// An error enum with the usual variants of the lnedge stores, and one of its own.
    #[derive(Debug)]
    // Which of the usual variants get built depends on the backends' features.
    #[allow(dead_code)]
    pub(crate) enum TestError {
        Backend {
            backend: &'static str,
            source: Arc<dyn StdError + Send + Sync>,
        },
        SchemaTooNew {
            found: i64,
            supported: i64,
        },
        Closed,
        InvalidConfig {
            reason: &'static str,
        },
        Refused,
    }

    crate::impl_store_error!(@base TestError);
    #[cfg(feature = "sqlite")]
    crate::impl_store_error!(@sqlite TestError);
    #[cfg(feature = "postgres")]
    crate::impl_store_error!(@postgres TestError);

    #[test]
    fn schema_too_new_is_mapped() {
        use crate::StorageError;
        assert!(matches!(
            TestError::schema_too_new(3, 2),
            TestError::SchemaTooNew {
                found: 3,
                supported: 2
            }
        ));
    }
}
