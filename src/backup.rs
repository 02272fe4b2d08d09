//! `fanloop backup` and `fanloop restore` for the embedded SQLite store.
//!
//! A backup is taken online with SQLite's `VACUUM INTO`: one read transaction, so the copy is
//! the store exactly as it was at one instant, while the server keeps serving and writing
//! (WAL mode lets writers go on).  The copy is then checked (`PRAGMA integrity_check`) before
//! it is reported as good.
//!
//! A restore needs the server stopped (it takes the data folder's lock, which a serving
//! process holds).  It checks the backup, keeps the current store beside it as
//! `fanloop.db.before-restore-<time>` (with its WAL), puts the backup in place and removes
//! the search index, which the next start rebuilds from the restored store.
//!
//! PostgreSQL deployments use PostgreSQL's own tools (see docs/operations.md).

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use sqlx::Row;

use fanloop_platform::Db;

/// What a backup or a restore holds.
#[derive(Debug)]
pub struct Summary {
    pub users: i64,
    pub posts: i64,
    pub orders: i64,
    pub bytes: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} members, {} posts, {} orders, {:.1} MB",
            self.users,
            self.posts,
            self.orders,
            self.bytes as f64 / 1e6
        )
    }
}

/// The lock a serving process holds on its data folder (released when the process ends,
/// however it ends).
pub fn lock_data_dir(data_dir: &Path) -> anyhow::Result<File> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join("fanloop.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            bail!("another fanloop is using {}: stop it first", data_dir.display())
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

fn store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("fanloop.db")
}

async fn open_file(path: &Path, read_only: bool) -> anyhow::Result<Db> {
    let mode = if read_only { "ro" } else { "rw" };
    Db::connect(&format!("sqlite://{}?mode={mode}", path.display())).await
}

/// Checks a store file and counts what it holds.
async fn inspect(path: &Path) -> anyhow::Result<Summary> {
    let db = open_file(path, true)
        .await
        .with_context(|| format!("{} is not a readable SQLite file", path.display()))?;
    let check: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&db.pool)
        .await?
        .try_get(0)?;
    if check != "ok" {
        bail!("{} is damaged: {check}", path.display());
    }
    let count = |table: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
                .fetch_one(&pool)
                .await
                .and_then(|r| r.try_get::<i64, _>("n"))
                .with_context(|| format!("{} has no {table} table: not a fanloop store", path.display()))
        }
    };
    let summary = Summary {
        users: count("users").await?,
        posts: count("posts").await?,
        orders: count("orders").await?,
        bytes: std::fs::metadata(path)?.len(),
    };
    db.pool.close().await;
    Ok(summary)
}

/// Copies the store in `data_dir` to `to` (a new file), online.
pub async fn backup(data_dir: &Path, to: &Path) -> anyhow::Result<Summary> {
    let store = store_path(data_dir);
    if !store.is_file() {
        bail!("no store at {}", store.display());
    }
    if to.exists() {
        bail!("{} already exists: a backup never overwrites a file", to.display());
    }
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let target = to.to_str().context("the backup path must be valid UTF-8")?;
    let db = open_file(&store, false).await?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&db.pool)
        .await
        .with_context(|| format!("copying the store to {}", to.display()))?;
    db.pool.close().await;
    match inspect(to).await {
        Ok(summary) => Ok(summary),
        Err(e) => {
            let _ = std::fs::remove_file(to);
            Err(e.context("the copy failed its check and was removed"))
        }
    }
}

/// Replaces the store in `data_dir` (server stopped) with the backup `from`.
pub async fn restore(data_dir: &Path, from: &Path) -> anyhow::Result<Summary> {
    let summary = inspect(from).await?;
    let _lock = lock_data_dir(data_dir)?;
    let store = store_path(data_dir);
    let stamp = fanloop_platform::db::now_ms();
    // The copy is made (and on disk) before anything of the current store is touched: if it
    // fails (a full disk), the data folder is as it was.
    let partial = data_dir.join(format!("fanloop.db.restoring-{stamp}"));
    let copied = std::fs::copy(from, &partial).and_then(|_| File::open(&partial)?.sync_all());
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e).with_context(|| format!("copying {} into {}", from.display(), data_dir.display()));
    }
    // The current store is kept under a second name (a hard link: `fanloop.db` itself never
    // disappears), its WAL moved aside, and then the backup replaces `fanloop.db` in one
    // rename.  A crash at any point leaves a `fanloop.db` in place and the old one kept.
    let kept_main = PathBuf::from(format!("{}.before-restore-{stamp}", store.display()));
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut swap = || -> std::io::Result<()> {
        if store.exists() {
            std::fs::hard_link(&store, &kept_main)?;
        }
        for suffix in ["-wal", "-shm"] {
            let current = PathBuf::from(format!("{}{suffix}", store.display()));
            if current.exists() {
                let kept = PathBuf::from(format!("{}.before-restore-{stamp}{suffix}", store.display()));
                std::fs::rename(&current, &kept)?;
                moved.push((kept, current));
            }
        }
        std::fs::rename(&partial, &store)?;
        File::open(data_dir)?.sync_all()
    };
    if let Err(e) = swap() {
        // Put the current store back as it was (its main file was never moved).
        for (kept, current) in moved.iter().rev() {
            let _ = std::fs::rename(kept, current);
        }
        let _ = std::fs::remove_file(&kept_main);
        let _ = std::fs::remove_file(&partial);
        return Err(e).context("putting the backup in place (the current store was left as it was)");
    }
    let index = data_dir.join("search-index");
    if index.exists() {
        std::fs::remove_dir_all(&index).with_context(|| format!("removing {}", index.display()))?;
    }
    Ok(summary)
}
