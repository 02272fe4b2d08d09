//! The community pillar: boards, threads, replies, likes, markdown, moderation, profiles and
//! CJK-aware search.  `domain` holds the rules (no HTTP, no SQL), `store` the SQL, `search` the
//! index, `service` the use cases, and `pages` / `api` the two faces.

pub mod api;
pub mod demo;
pub mod domain;
pub mod error;
pub mod pages;
pub mod search;
pub mod search_sync;
pub mod service;
pub mod store;
pub mod ui;

pub use service::CommunityState;

/// Schema owned by the community (versions 2000–2999).
pub static MIGRATIONS: fanloop_platform::db::Migrations = fanloop_platform::db::Migrations {
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};

pub fn router() -> axum::Router<CommunityState> {
    pages::router().merge(api::router())
}
