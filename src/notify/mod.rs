//! Telling people things: the emails (built once, sent by whichever transport the backend
//! uses) and the delivery worker that works through the job queue.

mod email;
mod sender;
mod worker;

pub use email::{Mailer, MemeMention, MemeNotice};
pub use sender::{EmailSender, FileSender, OutcomeUnknown, SesSender, SmtpSender};
pub use worker::{DeliveryWorker, Wake, WorkerSettings};
