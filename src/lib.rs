//! Sky-High Memes: one axum binary that renders askama pages, a JSON API and media.
//!
//! - `domain`: parsed, validated types (no I/O)
//! - `storage`: the storage traits and their backends
//! - `render`: the meme engine (no HTTP): decode, lay out and draw captions, encode
//! - `auth`: password hashing and sign-in throttling
//! - `web`: routes, extractors, middleware, error pages
//! - `startup`: building the app and serving it

pub mod audit;
pub mod auth;
pub mod config;
pub mod connection;
pub mod domain;
pub mod notify;
pub mod render;
pub mod seed;
pub mod services;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod web;
