//! One file per feature; each exports `router()`, merged in `web::router`.

pub mod accounts;
pub mod following;
pub mod health;
pub mod home;
pub mod media;
pub mod memes;
pub mod static_files;
pub mod templates;
pub mod users;
