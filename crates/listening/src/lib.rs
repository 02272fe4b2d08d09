//! Listening and campaigns.  Trending terms and hashtags with burst detection over forum and
//! imported posts (`trending` and `simulate` are pure; `rollup` keeps hourly counts of terms
//! current; `service` reads them through `store`; `web` is the page and the API), and hashtag
//! campaigns with fan entries, votes, winners and a dashboard of targets against actuals
//! (`campaigns`).

pub mod campaigns;
pub mod error;
pub mod rollup;
pub mod service;
pub mod simulate;
pub mod store;
pub mod trending;
pub mod ui;
pub mod web;

pub use service::ListeningState;

/// Schema owned by listening and campaigns (versions 6000–6999).
pub static MIGRATIONS: fanloop_platform::db::Migrations = fanloop_platform::db::Migrations {
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};

pub fn router() -> axum::Router<ListeningState> {
    web::router()
        .merge(campaigns::pages::router())
        .merge(campaigns::api::router())
}
