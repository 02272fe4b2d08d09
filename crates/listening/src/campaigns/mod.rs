//! Hashtag campaigns: staff set a hashtag, dates and targets; fans file entries (text and
//! images under the hashtag) and vote; staff pick winners; a dashboard compares actuals with the
//! targets day by day.  `domain` is pure; `store` is SQL; `service` the use cases; `api` and
//! `pages` the two faces.

pub mod api;
pub mod demo;
pub mod domain;
pub mod pages;
pub mod service;
pub mod store;
