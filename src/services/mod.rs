//! Use cases that span the engine, storage and notifications, kept out of the HTTP handlers so
//! the JSON API and the pages share them.

pub mod memes;
pub mod uploads;
