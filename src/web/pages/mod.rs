//! One file per feature; each exports `router()`, merged in `web::router`.

pub mod accounts;
pub mod health;
pub mod home;
pub mod static_files;
