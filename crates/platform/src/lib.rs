//! fanloop's platform: storage, accounts, sessions, notifications, i18n and the web shell that
//! every pillar (community, feedback, launches, vetting, listening) builds on.

pub mod account_pages;
pub mod accounts;
pub mod accounts_web;
pub mod audit;
pub mod auth;
pub mod authcache;
pub mod db;
pub mod embed;
pub mod error;
pub mod i18n;
pub mod images;
pub mod jobs;
pub mod live;
pub mod locale;
pub mod mail;
pub mod notifications;
pub mod ops;
pub mod ratelimit;
pub mod text;
pub mod ui;
pub mod uploads;
pub mod uploads_web;
pub mod web;

pub use db::Db;
pub use error::{ApiError, CommonError, PageError};
pub use web::Platform;

/// Schema owned by the platform (versions 1000–1999).
pub static MIGRATIONS: db::Migrations = db::Migrations {
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};
