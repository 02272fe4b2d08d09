//! The two migration sets (SQLite and PostgreSQL) must build the same schema: every crate's
//! migrations are run on both, and the tables, their columns, the columns' kinds and
//! nullability, and the named indexes are compared.  Known type differences are normalised
//! (SQLite's INTEGER is PostgreSQL's BIGINT, and so on).  Runs with `CI=true`; a plain local
//! `cargo test` skips loudly without PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use sqlx::Row;

/// table → column → (kind, not null)
type Schema = BTreeMap<String, BTreeMap<String, (String, bool)>>;

fn kind(declared: &str) -> String {
    let t = declared.to_ascii_uppercase();
    let k = if t.contains("INT") || t.contains("SERIAL") {
        "integer"
    } else if t.contains("CHAR") || t.contains("TEXT") {
        "text"
    } else if t.contains("REAL") || t.contains("DOUBLE") || t.contains("FLOAT") || t.contains("NUMERIC") {
        "real"
    } else if t.contains("BLOB") || t.contains("BYTEA") {
        "bytes"
    } else if t.contains("BOOL") {
        "bool"
    } else {
        return format!("other:{t}");
    };
    k.to_string()
}

const IGNORED_TABLES: &[&str] = &["_sqlx_migrations", "sqlite_sequence"];

async fn sqlite_schema(db: &fanloop_platform::Db) -> (Schema, Vec<String>) {
    let mut schema = Schema::new();
    let tables = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    for t in tables {
        let name: String = t.get("name");
        if IGNORED_TABLES.contains(&name.as_str()) {
            continue;
        }
        let cols = sqlx::query(&format!(
            "SELECT name, type, \"notnull\" AS nn, pk FROM pragma_table_info('{name}')"
        ))
        .fetch_all(&db.pool)
        .await
        .unwrap();
        let entry = schema.entry(name).or_default();
        for c in cols {
            // A primary key column is never NULL in PostgreSQL; SQLite does not say so.
            let not_null = c.get::<i64, _>("nn") != 0 || c.get::<i64, _>("pk") != 0;
            entry.insert(c.get("name"), (kind(&c.get::<String, _>("type")), not_null));
        }
    }
    let indexes = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>("name"))
    .collect();
    (schema, indexes)
}

async fn postgres_schema(db: &fanloop_platform::Db) -> (Schema, Vec<String>) {
    let mut schema = Schema::new();
    let cols = sqlx::query(
        "SELECT CAST(table_name AS TEXT) AS table_name, CAST(column_name AS TEXT) AS column_name, \
         CAST(data_type AS TEXT) AS data_type, CAST(is_nullable AS TEXT) AS is_nullable FROM information_schema.columns \
         WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for c in cols {
        let table: String = c.get("table_name");
        if IGNORED_TABLES.contains(&table.as_str()) {
            continue;
        }
        let not_null = c.get::<String, _>("is_nullable") == "NO";
        schema
            .entry(table)
            .or_default()
            .insert(c.get("column_name"), (kind(&c.get::<String, _>("data_type")), not_null));
    }
    let indexes = sqlx::query(
        "SELECT CAST(i.indexname AS TEXT) AS name FROM pg_indexes i WHERE i.schemaname = 'public' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) ORDER BY i.indexname",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>("name"))
    .collect();
    (schema, indexes)
}

#[tokio::test]
async fn both_migration_sets_build_the_same_schema() {
    let Some((_name, pg_url)) = common::fresh_pg_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = fanloop_platform::Db::open_sqlite(dir.path()).await.unwrap();
    let pg = fanloop_platform::Db::connect(&pg_url).await.unwrap();
    for db in [&sqlite, &pg] {
        db.migrate(fanloop::MIGRATION_SETS).await.unwrap();
    }
    let (lite, lite_indexes) = sqlite_schema(&sqlite).await;
    let (post, post_indexes) = postgres_schema(&pg).await;
    let mut problems = Vec::new();
    for table in lite
        .keys()
        .chain(post.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        match (lite.get(table), post.get(table)) {
            (Some(a), Some(b)) => {
                for col in a.keys().chain(b.keys()).collect::<std::collections::BTreeSet<_>>() {
                    match (a.get(col), b.get(col)) {
                        (Some(x), Some(y)) if x == y => {}
                        (x, y) => problems.push(format!("{table}.{col}: SQLite {x:?}, PostgreSQL {y:?}")),
                    }
                }
            }
            (a, _) => problems.push(format!(
                "table {table} only in {}",
                if a.is_some() { "SQLite" } else { "PostgreSQL" }
            )),
        }
    }
    for name in lite_indexes.iter().filter(|i| !post_indexes.contains(i)) {
        problems.push(format!("index {name} only in SQLite"));
    }
    for name in post_indexes.iter().filter(|i| !lite_indexes.contains(i)) {
        problems.push(format!("index {name} only in PostgreSQL"));
    }
    assert!(
        problems.is_empty(),
        "the migration sets differ:\n{}",
        problems.join("\n")
    );
    assert!(lite.len() > 30, "{} tables compared", lite.len());
}
