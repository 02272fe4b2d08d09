//! Listening: trending terms and hashtags with burst detection over forum and imported posts.
//! `trending` and `simulate` are pure; `service` reads the posts of a window and ranks their
//! terms; `web` is the page and the API.  Hashtag campaigns (issue 5, item 7) are not built yet.

pub mod service;
pub mod simulate;
pub mod trending;
pub mod ui;
pub mod web;

pub use service::ListeningState;

pub fn router() -> axum::Router<ListeningState> {
    web::router()
}
