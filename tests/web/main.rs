//! HTTP integration tests: the real server on port 0, a fresh data folder each.

mod account;
mod accounts;
mod api;
mod aws;
mod browse;
mod compression;
mod drafts;
mod durability;
mod flash;
mod following;
mod helpers;
mod instances;
mod media;
mod memes;
mod memes_by_url;
mod operations;
mod page_cache;
mod security;
mod server;
mod sharing;
mod templates;
