//! Knowledge hub: content by member segment and life stage, from the team and from experts.
//! Staff define segments (a choice such as "device owned", or a stage computed from a date such
//! as a due date, which advances week by week by itself); members tell the hub what fits them
//! and can see, change or erase it; staff and experts write articles and series targeted at
//! segment values, scheduled or published at once; "for you" shows what fits the member today,
//! and every article can be browsed and searched (CJK-aware) with segment filters.
//!
//! `domain` is pure (stages, fit, ranking); `store` is SQL; `service` the use cases; `api` and
//! `pages` the two faces.

pub mod api;
pub mod ask;
pub mod demo;
pub mod digest;
pub mod domain;
pub mod error;
pub mod pages;
pub mod service;
pub mod store;
pub mod ui;

pub use service::{Clock, HubState};

/// Schema owned by the hub (versions 7000–7999).
pub static MIGRATIONS: fanloop_platform::db::Migrations = fanloop_platform::db::Migrations {
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};

pub fn router() -> axum::Router<HubState> {
    pages::router().merge(api::router())
}
