//! Listening and campaigns.
