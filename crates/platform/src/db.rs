//! One connection pool for both supported backends.
//!
//! Queries are written once in the SQL subset SQLite and PostgreSQL share (`$N` placeholders,
//! `RETURNING`, `ON CONFLICT`, BIGINT millisecond timestamps, 0/1 integers for flags) and run
//! through sqlx's `Any` driver, so every pillar's store code serves both backends.  Only the DDL
//! differs, which is why each crate ships a migration folder per backend.

use std::path::Path;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// A pair of migration sets for one crate; the right one is picked by backend at start-up.
pub struct Migrations {
    pub sqlite: fn() -> Migrator,
    pub postgres: fn() -> Migrator,
}

impl Db {
    /// A subquery yielding the elements of the JSON array bound as `param` (`$2`): one
    /// parameter for a whole `IN (…)` list, since binding hundreds costs more than the query.
    /// The elements are text, or with `as_bigint` integers.
    pub fn json_list(&self, param: &str, as_bigint: bool) -> String {
        match (self.backend, as_bigint) {
            (Backend::Sqlite, _) => format!("SELECT value FROM json_each({param})"),
            (Backend::Postgres, false) => format!("SELECT json_array_elements_text(CAST({param} AS json))"),
            (Backend::Postgres, true) => {
                format!("SELECT CAST(json_array_elements_text(CAST({param} AS json)) AS BIGINT)")
            }
        }
    }

    /// Opens (creating if needed) the embedded SQLite store inside `data_dir`.
    pub async fn open_sqlite(data_dir: &Path) -> anyhow::Result<Db> {
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating data folder {}", data_dir.display()))?;
        let path = data_dir.join("fanloop.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::connect(&url).await
    }

    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("unsupported database URL (expected sqlite:// or postgres://): {url}");
        };
        let max = match backend {
            // SQLite serialises writers anyway; a few connections give concurrent readers under WAL.
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                        // 32 MB of page cache per connection (the default is 2 MB): a sale looks
                        // up a million API tokens at random.
                        sqlx::query("PRAGMA cache_size = -32768").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .with_context(|| format!("connecting to {}", redact(url)))?;
        if backend == Backend::Sqlite && !url.contains("mode=ro") {
            // WAL lets readers proceed while one writer commits; it persists in the file.
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        Ok(Db { pool, backend })
    }

    /// A transaction that writes. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`,
    /// waiting up to the busy timeout for it): a deferred transaction that reads first and
    /// writes later is refused as "database is locked" whenever another connection committed in
    /// between (SQLite cannot move its read snapshot forward), and no timeout helps. Every
    /// transaction that may write begins here; a read-only one (a consistent snapshot) keeps
    /// `pool.begin()`.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    pub async fn migrate(&self, sets: &[&Migrations]) -> anyhow::Result<()> {
        for set in sets {
            let mut migrator = match self.backend {
                Backend::Sqlite => (set.sqlite)(),
                Backend::Postgres => (set.postgres)(),
            };
            // Each crate owns a disjoint range of versions in the shared history table, so each
            // migrator must tolerate the others' entries.
            migrator.set_ignore_missing(true);
            migrator.run(&self.pool).await.context("running migrations")?;
        }
        Ok(())
    }
}

/// Hides credentials (`user:secret@`) so connection errors can be logged safely.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Milliseconds since the Unix epoch: the one timestamp representation both backends share.
pub fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// Reads an optional BIGINT column; `Any` rows report SQL NULL as a decode error otherwise.
pub fn opt_i64(row: &AnyRow, col: &str) -> Option<i64> {
    row.try_get::<Option<i64>, _>(col).ok().flatten()
}

pub fn opt_string(row: &AnyRow, col: &str) -> Option<String> {
    row.try_get::<Option<String>, _>(col).ok().flatten()
}

/// Maps a unique-constraint violation to `Ok(None)` so callers can answer 409 instead of 500.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db.message().contains("UNIQUE constraint failed")
                || db.code().as_deref() == Some("23505")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads, then writes, while another connection commits in between: refused by SQLite in a
    /// deferred transaction, fine in [`Db::begin_write`].
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transaction_that_reads_before_it_writes_is_not_refused_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(dir.path()).await.unwrap();
        sqlx::query("CREATE TABLE t (x BIGINT)")
            .execute(&db.pool)
            .await
            .unwrap();
        let count = "SELECT COUNT(*) FROM t";

        let mut deferred = db.pool.begin().await.unwrap();
        let _: i64 = sqlx::query_scalar(count).fetch_one(&mut *deferred).await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)").execute(&db.pool).await.unwrap();
        let refused = sqlx::query("INSERT INTO t VALUES (2)").execute(&mut *deferred).await;
        assert!(refused.is_err(), "SQLite refuses to move a deferred reader's snapshot");
        deferred.rollback().await.unwrap();

        let mut tx = db.begin_write().await.unwrap();
        let before: i64 = sqlx::query_scalar(count).fetch_one(&mut *tx).await.unwrap();
        let other = {
            let pool = db.pool.clone();
            tokio::spawn(async move { sqlx::query("INSERT INTO t VALUES (3)").execute(&pool).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        sqlx::query("INSERT INTO t VALUES (4)").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        other.await.unwrap().unwrap();
        let after: i64 = sqlx::query_scalar(count).fetch_one(&db.pool).await.unwrap();
        assert_eq!(after, before + 2, "both writes kept, one after the other");
    }
}
