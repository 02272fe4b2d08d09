//! The feedback pillar ("Orange Friday"): weekly builds, structured reports, duplicate
//! clustering, votes, a visible status per request, roadmap, changelogs, the weekly award and
//! honor progression.  `domain` and `dedupe` are pure; `store` is SQL; `service` the use cases;
//! `api` and `pages` the two faces.

pub mod api;
pub mod dedupe;
pub mod demo;
pub mod domain;
pub mod error;
pub mod pages;
pub mod problem;
pub mod service;
pub mod store;
pub mod ui;

pub use service::FeedbackState;

/// Schema owned by the feedback loop (versions 3000–3999).
pub static MIGRATIONS: fanloop_platform::db::Migrations = fanloop_platform::db::Migrations {
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};

pub fn router() -> axum::Router<FeedbackState> {
    pages::router().merge(api::router())
}
