//! Partner vetting: a candidate's public posts in, a due-diligence report out.  `text`,
//! `lexicon`, `stance`, `import`, `report` and `eval` are pure; `store` is SQL; `service` the use
//! cases; `api` and `pages` the two faces.

pub mod api;
pub mod demo;
pub mod error;
pub mod eval;
pub mod import;
pub mod lexicon;
pub mod pages;
pub mod report;
pub mod service;
pub mod stance;
pub mod store;
pub mod text;
pub mod ui;

pub use service::VettingState;

/// Schema owned by partner vetting (versions 5000–5999).
pub static MIGRATIONS: fanloop_platform::db::Migrations = fanloop_platform::db::Migrations {
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};

pub fn router() -> axum::Router<VettingState> {
    pages::router().merge(api::router())
}
