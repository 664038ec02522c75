//! HTTP integration tests: the real server on port 0, a fresh data folder each.

mod accounts;
mod helpers;
mod security;
mod server;
