//! HTTP integration tests: the real server on port 0, a fresh data folder each.

mod accounts;
mod api;
mod aws;
mod browse;
mod durability;
mod following;
mod helpers;
mod instances;
mod media;
mod memes;
mod memes_by_url;
mod operations;
mod security;
mod server;
