//! Work for the delivery worker: durable messages that say what to tell whom.
//!
//! Jobs travel as JSON (an SQS message body on AWS, a row locally), so they carry everything the
//! worker needs to act without another lookup where that is cheap, and ids where the worker
//! must read fresh state anyway (subscribers, their addresses).

use serde::{Deserialize, Serialize};

use super::{Email, MemeId, UserId, Username};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Job {
    /// A creator saved a meme: each subscriber gets an in-app notification and an email.
    MemePublished(MemePublished),
    /// A meme was deleted: what its record's transaction could not take goes now (its media,
    /// their copies in the CDN, and on DynamoDB its comments and notifications).
    MemeDeleted(MemeDeleted),
    /// One email about someone's own account.
    AccountEmail(AccountEmail),
    /// The emails a subscriber was not sent during one hour because they reached the hourly
    /// cap, as one digest at the end of that hour.
    Digest(Digest),
    /// The email service reports addresses that bounced or complained: no more email to them.
    EmailFeedback(EmailFeedback),
    /// The email service accepted one of our emails (SES's Send event): the ledger records it
    /// as sent. That settles an email whose worker died after sending it and before recording
    /// it, which would otherwise be sent again once its claim went stale.
    EmailSent(EmailSent),
}

impl Job {
    /// The job's kind, as metrics label it.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::MemePublished(_) => "meme_published",
            Job::MemeDeleted(_) => "meme_deleted",
            Job::AccountEmail(_) => "account_email",
            Job::Digest(_) => "digest",
            Job::EmailFeedback(_) => "email_feedback",
            Job::EmailSent(_) => "email_sent",
        }
    }

    /// What the job is about, for logs.
    pub fn describe(&self) -> String {
        match self {
            Job::MemePublished(m) => format!("meme {} by {}", m.meme_id, m.creator),
            Job::MemeDeleted(m) => format!("cleanup of deleted meme {}", m.meme_id),
            Job::AccountEmail(a) => format!("{} email {}", a.kind.name(), a.id),
            Job::Digest(d) => format!("digest for {} (hour {})", d.recipient_id, d.hour),
            Job::EmailFeedback(f) => format!("{:?} for {} addresses", f.kind, f.addresses.len()),
            Job::EmailSent(sent) => format!("receipt for email {}", sent.key),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemePublished {
    pub meme_id: MemeId,
    pub creator_id: UserId,
    pub creator: Username,
    pub thumb_key: String,
    /// Unix seconds.
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemeDeleted {
    pub meme_id: MemeId,
    pub creator_id: UserId,
    pub creator: Username,
    /// The media keys that were the meme's own (not a shared template's picture).
    pub media: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEmail {
    /// Unique per email: the key that makes sending it idempotent.
    pub id: String,
    pub to: Email,
    pub username: Username,
    pub kind: AccountEmailKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountEmailKind {
    /// The link that confirms a new account's address (`/verify/<token>`).
    ConfirmEmail { token: String, next: String },
    /// Someone tried to sign up with an address that already has an account: its owner hears
    /// about it instead of the visitor being told the address is taken.
    SignupAttempt,
    /// A "forgot password" link (`/password/reset/<token>`), valid for an hour.
    ResetPassword { token: String },
    /// Sent to the new address of an email change: the link (`/account/email/<token>`) that
    /// moves the account there.
    ChangeEmail { token: String },
    /// Someone signed in elsewhere asked to move their account to this address, which already
    /// has an account: its owner hears about it, and the asker is told what anyone is told.
    EmailChangeAttempt,
}

impl AccountEmailKind {
    pub fn name(&self) -> &'static str {
        match self {
            AccountEmailKind::ConfirmEmail { .. } => "confirm-email",
            AccountEmailKind::SignupAttempt => "signup-attempt",
            AccountEmailKind::ResetPassword { .. } => "reset-password",
            AccountEmailKind::ChangeEmail { .. } => "change-email",
            AccountEmailKind::EmailChangeAttempt => "email-change-attempt",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub recipient_id: UserId,
    /// The hour (Unix seconds / 3600) whose held-back emails it sums up.
    pub hour: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedbackKind {
    /// A permanent bounce: the mailbox does not exist.
    Bounce,
    /// The recipient marked our email as spam.
    Complaint,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailFeedback {
    pub kind: FeedbackKind,
    pub addresses: Vec<String>,
}

/// An email the email service accepted, named by the key the worker sent it under
/// (`meme:<meme>:<recipient>`, `account:<id>`, `digest:<recipient>:<hour>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSent {
    pub key: String,
}

impl EmailSent {
    /// The name of the message tag that carries an email's key through SES to its Send event.
    pub const TAG: &str = "email_key";

    /// The key as an SES tag value, which may hold only ASCII letters, digits, `_` and `-`: our
    /// keys are ids, numbers and words joined by `:`, which becomes `_`. None for a key that
    /// does not fit (it then has no receipt, and a crash between its send and its record may
    /// send it again).
    pub fn tag_value(key: &str) -> Option<String> {
        let fits = key.len() <= 256 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b':');
        fits.then(|| key.replace(':', "_"))
    }

    /// The receipt for the email a tag value names.
    pub fn from_tag_value(value: &str) -> Option<Self> {
        let fits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        fits.then(|| Self { key: value.replace('_', ":") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_key_travels_as_a_tag_value_and_back() {
        let key = "meme:01hzy3k5v2mdd9vr4t6v0e2q7a:01hzy3k5v2mdd9vr4t6v0e2q7b";
        let tag = EmailSent::tag_value(key).unwrap();
        assert!(tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'), "{tag}");
        assert_eq!(EmailSent::from_tag_value(&tag), Some(EmailSent { key: key.into() }));
        assert_eq!(EmailSent::tag_value("account:a_b"), None, "an underscore would not come back as itself");
        assert_eq!(EmailSent::tag_value(&"a".repeat(257)), None, "SES takes 256 characters at most");
        assert_eq!(EmailSent::from_tag_value("a b"), None);
    }

    #[test]
    fn jobs_round_trip_as_tagged_json() {
        let job = Job::AccountEmail(AccountEmail {
            id: "abc".into(),
            to: Email::parse("ann@example.com").unwrap(),
            username: Username::parse("ann").unwrap(),
            kind: AccountEmailKind::ConfirmEmail { token: "t0k".into(), next: "/".into() },
        });
        let json = serde_json::to_string(&job).unwrap();
        assert!(json.contains(r#""type":"account_email""#) && json.contains(r#""kind":"confirm_email""#), "{json}");
        assert_eq!(serde_json::from_str::<Job>(&json).unwrap(), job);
        let bad = json.replace("ann@example.com", "not an address");
        assert!(serde_json::from_str::<Job>(&bad).is_err(), "values are parsed again on the way in");
    }
}
