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
}

impl AccountEmailKind {
    pub fn name(&self) -> &'static str {
        match self {
            AccountEmailKind::ConfirmEmail { .. } => "confirm-email",
            AccountEmailKind::SignupAttempt => "signup-attempt",
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

#[cfg(test)]
mod tests {
    use super::*;

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
