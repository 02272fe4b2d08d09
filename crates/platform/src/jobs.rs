//! Background jobs that run once per cluster, not once per node.
//!
//! Every node runs the same schedule, but a run needs the job's lease: one conditional
//! `UPDATE` on its row in `jobs` (due, and no live lease) that only one node can win, on SQLite
//! and PostgreSQL alike.  The winner runs the job, then records the result and the next due
//! time.  A node that dies while holding the lease leaves it to expire, and another node runs
//! the job then; a failed run is retried sooner than the next regular one.  Staff see every job
//! on `/admin/jobs`.

use std::future::Future;
use std::time::Duration;

use once_cell::sync::Lazy;
use serde::Serialize;
use sqlx::Row;

use crate::db::{now_ms, opt_i64, opt_string, Db};

/// This process, as it appears in `jobs.holder` and on the admin page.
pub static NODE: Lazy<String> = Lazy::new(|| {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "node".into());
    format!("{host}:{}:{:04x}", std::process::id(), rand::random::<u16>())
});

/// A job's schedule.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub name: &'static str,
    /// From the end of one run to the next.
    pub every: Duration,
    /// A run longer than this is abandoned (and another node may start one).
    pub lease: Duration,
    /// Whether the first run waits a whole period after the job first appears.
    pub delay_first: bool,
}

/// Runs `work` on `schedule`, on one node of the cluster at a time, for as long as the
/// database is open.  `work` returns a line for the admin page.
pub fn spawn<F, Fut>(db: Db, schedule: Schedule, work: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<String>> + Send,
{
    tokio::spawn(async move {
        let poll = schedule.every.clamp(Duration::from_millis(200), Duration::from_secs(5));
        let first = if schedule.delay_first {
            now_ms() + schedule.every.as_millis() as i64
        } else {
            0
        };
        while let Err(e) = register(&db, schedule.name, first).await {
            if db.pool.is_closed() {
                return;
            }
            tracing::warn!("registering job {}: {e:#}", schedule.name);
            tokio::time::sleep(poll).await;
        }
        loop {
            if db.pool.is_closed() {
                break;
            }
            match claim(&db, schedule).await {
                Ok(true) => {
                    // Three quarters of the lease: the run is over before another node may take
                    // the job, even with some clock difference between the nodes.
                    let outcome = match tokio::time::timeout(schedule.lease * 3 / 4, work()).await {
                        Ok(Ok(line)) => Ok(line),
                        Ok(Err(e)) => Err(format!("{e:#}")),
                        Err(_) => Err(format!("did not finish within {:?}", schedule.lease * 3 / 4)),
                    };
                    if let Err(e) = &outcome {
                        tracing::warn!("job {}: {e}", schedule.name);
                    }
                    if let Err(e) = finish(&db, schedule, outcome).await {
                        tracing::warn!("recording job {}: {e:#}", schedule.name);
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::debug!("claiming job {}: {e:#}", schedule.name),
            }
            tokio::time::sleep(poll).await;
        }
    });
}

async fn register(db: &Db, name: &str, first_run_at: i64) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO jobs (name, next_run_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(first_run_at)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Takes the job's lease if it is due and nobody holds it.
async fn claim(db: &Db, s: Schedule) -> anyhow::Result<bool> {
    let now = now_ms();
    // Looked at first, so that a job not yet due costs a read, not a write (on SQLite every
    // write takes the store's one write lock).
    let row = sqlx::query("SELECT next_run_at, lease_until FROM jobs WHERE name = $1")
        .bind(s.name)
        .fetch_optional(&db.pool)
        .await?;
    let due = row.is_some_and(|r| r.get::<i64, _>("next_run_at") <= now && r.get::<i64, _>("lease_until") < now);
    if !due {
        return Ok(false);
    }
    let won = sqlx::query(
        "UPDATE jobs SET holder = $2, lease_until = $3, last_started_at = $4 \
         WHERE name = $1 AND next_run_at <= $4 AND lease_until < $4",
    )
    .bind(s.name)
    .bind(NODE.as_str())
    .bind(now + s.lease.as_millis() as i64)
    .bind(now)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(won == 1)
}

async fn finish(db: &Db, s: Schedule, outcome: Result<String, String>) -> anyhow::Result<()> {
    let now = now_ms();
    let every = s.every.as_millis() as i64;
    let (next, result, error) = match outcome {
        Ok(line) => (now + every, Some(line), None),
        // Retried sooner than the next regular run, but not in a hot loop.
        Err(e) => (now + every.clamp(1_000, 60_000), None, Some(e)),
    };
    sqlx::query(
        "UPDATE jobs SET holder = NULL, lease_until = 0, next_run_at = $3, last_finished_at = $4, last_ran_on = $2, \
         runs = runs + 1, failures = failures + $5, last_result = COALESCE($6, last_result), last_error = $7 \
         WHERE name = $1 AND holder = $2",
    )
    .bind(s.name)
    .bind(NODE.as_str())
    .bind(next)
    .bind(now)
    .bind(i64::from(error.is_some()))
    .bind(result.map(|r| r.chars().take(500).collect::<String>()))
    .bind(error.map(|e| e.chars().take(500).collect::<String>()))
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A job as staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct JobRow {
    pub name: String,
    pub next_run_at: i64,
    /// The node running it now, if any.
    pub holder: Option<String>,
    pub lease_until: i64,
    pub runs: i64,
    pub failures: i64,
    pub last_started_at: Option<i64>,
    pub last_finished_at: Option<i64>,
    pub last_ran_on: Option<String>,
    pub last_result: Option<String>,
    pub last_error: Option<String>,
    /// Due for more than a minute and nobody running it.
    pub overdue: bool,
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<JobRow>> {
    let now = now_ms();
    let rows = sqlx::query("SELECT * FROM jobs ORDER BY name")
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let next_run_at: i64 = r.get("next_run_at");
            let lease_until: i64 = r.get("lease_until");
            JobRow {
                name: r.get("name"),
                next_run_at,
                holder: opt_string(r, "holder").filter(|_| lease_until >= now),
                lease_until,
                runs: r.get("runs"),
                failures: r.get("failures"),
                last_started_at: opt_i64(r, "last_started_at"),
                last_finished_at: opt_i64(r, "last_finished_at"),
                last_ran_on: opt_string(r, "last_ran_on"),
                last_result: opt_string(r, "last_result"),
                last_error: opt_string(r, "last_error"),
                overdue: next_run_at < now - 60_000 && lease_until < now,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Two "nodes" (two schedulers on one database) share a job: it runs once per period, and
    /// a failure is recorded and retried.
    #[tokio::test]
    async fn a_job_runs_once_per_period_however_many_nodes_schedule_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(dir.path()).await.unwrap();
        db.migrate(&[&crate::MIGRATIONS]).await.unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let schedule = Schedule {
            name: "test.count",
            every: Duration::from_millis(400),
            lease: Duration::from_secs(5),
            delay_first: false,
        };
        for _ in 0..3 {
            let runs = runs.clone();
            spawn(db.clone(), schedule, move || {
                let runs = runs.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok("counted".to_string())
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        let n = runs.load(Ordering::SeqCst);
        // Runs start at most every 400 ms (+ the run itself): 2.1 s allows at most 5.
        assert!((2..=5).contains(&n), "{n} runs");
        let row = list(&db)
            .await
            .unwrap()
            .into_iter()
            .find(|j| j.name == "test.count")
            .unwrap();
        assert_eq!(row.runs as usize, n);
        assert_eq!(row.last_result.as_deref(), Some("counted"));

        let failing = Schedule {
            name: "test.fail",
            ..schedule
        };
        spawn(db.clone(), failing, || async { anyhow::bail!("no luck") });
        tokio::time::sleep(Duration::from_millis(700)).await;
        let row = list(&db)
            .await
            .unwrap()
            .into_iter()
            .find(|j| j.name == "test.fail")
            .unwrap();
        assert!(row.failures >= 1, "{row:?}");
        assert_eq!(row.last_error.as_deref(), Some("no luck"));
    }
}
