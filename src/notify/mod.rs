//! Telling subscribers about new memes: the email for one delivery, the transports, and the
//! worker that drains the outbox.

mod email;
mod worker;

pub use email::{Mailer, Transport};
pub use worker::{DeliveryWorker, Wake};
