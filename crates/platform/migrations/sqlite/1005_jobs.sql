-- Background jobs that must run once per cluster, not once per node: a node runs one only
-- while it holds its lease (see crates/platform/src/jobs.rs).
CREATE TABLE jobs (
    name TEXT PRIMARY KEY,
    next_run_at BIGINT NOT NULL DEFAULT 0,
    holder TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    runs BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    last_started_at BIGINT,
    last_finished_at BIGINT,
    last_ran_on TEXT,
    last_result TEXT,
    last_error TEXT
);
