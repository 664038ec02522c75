//! One file per feature; each exports `router()`, merged in `web::router`.

pub mod account;
pub mod accounts;
pub mod comments;
pub mod drafts;
pub mod editor;
pub mod following;
pub mod health;
pub mod home;
pub mod media;
pub mod meme;
pub mod memes_by_url;
pub mod password;
pub mod static_files;
pub mod templates;
pub mod users;
