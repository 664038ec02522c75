//! Sky-High Memes: one axum binary that renders askama pages, a JSON API and media.

pub mod render;
