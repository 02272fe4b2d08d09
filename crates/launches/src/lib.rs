//! The launches pillar: product drops with reservations, a verifiable draw or randomised queue,
//! F-codes, and a flash sale that never oversells and never loses an acknowledged order.
//! `engine` and `draw` are pure; `sale` runs one engine per drop behind a group-committing actor;
//! `store` is SQL; `service` the use cases; `api` the JSON face; `share` (pure) and `wall` are
//! ordering by posting.

pub mod api;
pub mod cluster;
pub mod demo;
pub mod draw;
pub mod engine;
pub mod error;
pub mod pages;
pub mod sale;
pub mod service;
pub mod share;
pub mod store;
pub mod ui;
pub mod wall;

pub use service::LaunchState;

/// Schema owned by launches (versions 4000–4999).
pub static MIGRATIONS: fanloop_platform::db::Migrations = fanloop_platform::db::Migrations {
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};

pub fn router() -> axum::Router<LaunchState> {
    pages::router().merge(api::router())
}
