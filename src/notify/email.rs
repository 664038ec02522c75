//! The emails the app sends, built with lettre: a text and an HTML part each. Notification
//! emails carry a `List-Unsubscribe` header with its one-click companion (RFC 8058) and the
//! unsubscribe link in the body. The same bytes go out whichever way they are sent
//! (`sender::EmailSender`: `.eml` files, SMTP, or Amazon SES).

use anyhow::Context;
use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

use crate::domain::{AccountEmail, AccountEmailKind, Email, MemeId, Username};

/// One meme, as a notification or a digest names it.
pub struct MemeMention<'a> {
    pub meme_id: MemeId,
    pub creator: &'a Username,
}

/// A notification about one meme for one subscriber.
pub struct MemeNotice<'a> {
    pub recipient: &'a Username,
    pub to: &'a Email,
    pub meme: MemeMention<'a>,
    pub unsubscribe_token: &'a str,
    /// Unique per (meme, subscriber): the Message-ID, so a resent copy is recognisably the same.
    pub key: &'a str,
}

pub struct Mailer {
    from: Mailbox,
    base_url: String,
}

impl Mailer {
    pub fn new(from: &str, base_url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            from: from.parse().with_context(|| format!("SKYHIGH_MAIL_FROM is not an email address: {from}"))?,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        Self::new(&config.mail_from, &config.base_url())
    }

    /// The sender's address, for transports that need it apart from the message (SES).
    pub fn from_address(&self) -> String {
        self.from.email.to_string()
    }

    fn mailbox(name: &Username, to: &Email) -> anyhow::Result<Mailbox> {
        Ok(Mailbox::new(Some(name.to_string()), to.as_str().parse()?))
    }

    fn message_id(key: &str) -> String {
        let safe: String = key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '.' }).collect();
        format!("<{safe}@skyhigh>")
    }

    fn build(
        &self,
        to: Mailbox,
        subject: String,
        key: &str,
        text: String,
        html: String,
        unsubscribe_url: Option<&str>,
    ) -> anyhow::Result<Message> {
        let mut builder =
            Message::builder().from(self.from.clone()).to(to).subject(subject).message_id(Some(Self::message_id(key)));
        if let Some(url) = unsubscribe_url {
            builder = builder
                .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{url}>")))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html)),
            )
            .context("building an email")
    }

    fn page(body: &str) -> String {
        format!(
            "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;line-height:1.5\">{body}</body></html>"
        )
    }

    fn button(url: &str, label: &str) -> String {
        format!(
            "<p><a href=\"{url}\" style=\"display:inline-block;padding:10px 18px;background:#4f46e5;color:#fff;\
             border-radius:999px;text-decoration:none\">{label}</a></p>"
        )
    }

    /// "ann posted a new meme", with the one-click unsubscribe from ann.
    pub fn meme_message(&self, notice: &MemeNotice<'_>) -> anyhow::Result<Message> {
        let creator = notice.meme.creator;
        let meme_url = format!("{}/memes/{}", self.base_url, notice.meme.meme_id);
        let creator_url = format!("{}/u/{creator}", self.base_url);
        let unsubscribe_url = format!("{}/unsubscribe/{}", self.base_url, notice.unsubscribe_token);
        let recipient = notice.recipient;
        let text = format!(
            "Hi {recipient},\n\n{creator} just posted a new meme on Sky-High Memes:\n{meme_url}\n\n\
             You get this email because you follow {creator} ({creator_url}).\n\
             Stop these emails with one click: {unsubscribe_url}\n",
        );
        let html = Self::page(&format!(
            "<p>Hi {recipient},</p>\
             <p><a href=\"{creator_url}\">{creator}</a> just posted a new meme on Sky-High Memes.</p>{button}\
             <p style=\"color:#666;font-size:13px\">You get this email because you follow {creator}. \
             <a href=\"{unsubscribe_url}\">Unsubscribe</a> with one click.</p>",
            recipient = html_escape(recipient.as_str()),
            creator = html_escape(creator.as_str()),
            button = Self::button(&meme_url, "See the meme"),
        ));
        self.build(
            Self::mailbox(recipient, notice.to)?,
            format!("{creator} posted a new meme"),
            notice.key,
            text,
            html,
            Some(&unsubscribe_url),
        )
    }

    /// An email about the recipient's own account (no unsubscribe: they are not a list).
    pub fn account_message(&self, email: &AccountEmail) -> anyhow::Result<Message> {
        let name = &email.username;
        let (subject, text, html) = match &email.kind {
            AccountEmailKind::ConfirmEmail { token, next } => {
                let link = format!("{}/verify/{token}?next={}", self.base_url, crate::web::forms::url_encode(next));
                (
                    "Confirm your email for Sky-High Memes".to_owned(),
                    format!(
                        "Hi {name},\n\nOpen this link to confirm your email address and finish signing up:\n{link}\n\n\
                         The link works once, for 48 hours. If you did not sign up, ignore this email: \
                         nothing happens without the link.\n"
                    ),
                    Self::page(&format!(
                        "<p>Hi {n},</p><p>Confirm your email address to finish signing up for Sky-High Memes.</p>{b}\
                         <p style=\"color:#666;font-size:13px\">The link works once, for 48 hours. If you did not sign \
                         up, ignore this email.</p>",
                        n = html_escape(name.as_str()),
                        b = Self::button(&link, "Confirm my email"),
                    )),
                )
            }
            AccountEmailKind::SignupAttempt => {
                let login = format!("{}/login", self.base_url);
                (
                    "Someone tried to sign up with your email".to_owned(),
                    format!(
                        "Hi {name},\n\nSomeone just tried to make a new Sky-High Memes account with this email \
                         address. It already belongs to your account, so nothing was created.\n\n\
                         If it was you, sign in instead: {login}\nIf it wasn't, you need not do anything.\n"
                    ),
                    Self::page(&format!(
                        "<p>Hi {n},</p><p>Someone just tried to make a new Sky-High Memes account with this email \
                         address. It already belongs to your account, so nothing was created.</p>{b}\
                         <p style=\"color:#666;font-size:13px\">If it wasn't you, you need not do anything.</p>",
                        n = html_escape(name.as_str()),
                        b = Self::button(&login, "Sign in"),
                    )),
                )
            }
            AccountEmailKind::ResetPassword { token } => {
                let link = format!("{}/password/reset/{token}", self.base_url);
                (
                    "Reset your Sky-High Memes password".to_owned(),
                    format!(
                        "Hi {name},\n\nSomeone (we hope you) asked to reset the password of your Sky-High Memes \
                         account. Open this link to choose a new one:\n{link}\n\n\
                         The link works once, for 1 hour. If you did not ask, ignore this email: your password \
                         stays as it is.\n"
                    ),
                    Self::page(&format!(
                        "<p>Hi {n},</p><p>Someone (we hope you) asked to reset the password of your Sky-High Memes \
                         account.</p>{b}\
                         <p style=\"color:#666;font-size:13px\">The link works once, for 1 hour. If you did not ask, \
                         ignore this email: your password stays as it is.</p>",
                        n = html_escape(name.as_str()),
                        b = Self::button(&link, "Choose a new password"),
                    )),
                )
            }
            AccountEmailKind::ChangeEmail { token } => {
                let link = format!("{}/account/email/{token}", self.base_url);
                (
                    "Confirm your new email for Sky-High Memes".to_owned(),
                    format!(
                        "Hi {name},\n\nOpen this link to make this your Sky-High Memes account's email address:\n\
                         {link}\n\nThe link works once, for 24 hours. If you did not ask for this, ignore this \
                         email: nothing changes without the link.\n"
                    ),
                    Self::page(&format!(
                        "<p>Hi {n},</p><p>Confirm that this is the new email address of your Sky-High Memes \
                         account.</p>{b}\
                         <p style=\"color:#666;font-size:13px\">The link works once, for 24 hours. If you did not \
                         ask for this, ignore this email.</p>",
                        n = html_escape(name.as_str()),
                        b = Self::button(&link, "Use this address"),
                    )),
                )
            }
            AccountEmailKind::EmailChangeAttempt => {
                let login = format!("{}/login", self.base_url);
                (
                    "Someone tried to use your email on Sky-High Memes".to_owned(),
                    format!(
                        "Hi {name},\n\nSomeone just asked to move another Sky-High Memes account to this email \
                         address. It already belongs to your account, so nothing changed.\n\n\
                         Your account: {login}\nIf it wasn't you, you need not do anything.\n"
                    ),
                    Self::page(&format!(
                        "<p>Hi {n},</p><p>Someone just asked to move another Sky-High Memes account to this email \
                         address. It already belongs to your account, so nothing changed.</p>{b}\
                         <p style=\"color:#666;font-size:13px\">If it wasn't you, you need not do anything.</p>",
                        n = html_escape(name.as_str()),
                        b = Self::button(&login, "Sign in"),
                    )),
                )
            }
        };
        self.build(Self::mailbox(name, &email.to)?, subject, &format!("account-{}", email.id), text, html, None)
    }

    /// The memes a subscriber was not emailed about during one hour (past the hourly cap).
    pub fn digest_message(
        &self,
        recipient: &Username,
        to: &Email,
        memes: &[MemeMention<'_>],
        key: &str,
    ) -> anyhow::Result<Message> {
        let manage = format!("{}/subscriptions", self.base_url);
        let lines: Vec<String> =
            memes.iter().map(|m| format!("- {} posted {}/memes/{}", m.creator, self.base_url, m.meme_id)).collect();
        let items: String = memes
            .iter()
            .map(|m| {
                format!(
                    "<li><a href=\"{}/memes/{}\">A new meme by {}</a></li>",
                    self.base_url,
                    m.meme_id,
                    html_escape(m.creator.as_str())
                )
            })
            .collect();
        let text = format!(
            "Hi {recipient},\n\nThe creators you follow posted {} more memes in the last hour:\n{}\n\n\
             Choose whom you follow: {manage}\n",
            memes.len(),
            lines.join("\n")
        );
        let html = Self::page(&format!(
            "<p>Hi {r},</p><p>The creators you follow posted {n} more memes in the last hour:</p><ul>{items}</ul>\
             <p style=\"color:#666;font-size:13px\"><a href=\"{manage}\">Choose whom you follow</a>.</p>",
            r = html_escape(recipient.as_str()),
            n = memes.len(),
        ));
        self.build(
            Self::mailbox(recipient, to)?,
            format!("{} new memes from creators you follow", memes.len()),
            key,
            text,
            html,
            None,
        )
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_email_has_both_parts_and_one_click_unsubscribe() {
        let mailer = Mailer::new("Sky <no-reply@example.com>", "https://m.example/").unwrap();
        let (bob, ann) = (Username::parse("bob").unwrap(), Username::parse("ann").unwrap());
        let to = Email::parse("bob@example.com").unwrap();
        let notice = MemeNotice {
            recipient: &bob,
            to: &to,
            meme: MemeMention { meme_id: MemeId::new(), creator: &ann },
            unsubscribe_token: "tok123",
            key: "meme:x:y",
        };
        let raw = String::from_utf8(mailer.meme_message(&notice).unwrap().formatted()).unwrap();
        assert!(raw.contains("List-Unsubscribe: <https://m.example/unsubscribe/tok123>"), "{raw}");
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(raw.contains("Content-Type: text/plain"));
        assert!(raw.contains("Content-Type: text/html"));
        assert!(raw.contains("Subject: ann posted a new meme"));
        assert!(raw.contains("To: bob <bob@example.com>"));
    }

    #[test]
    fn the_confirmation_email_carries_its_link_and_no_unsubscribe() {
        let mailer = Mailer::new("Sky <no-reply@example.com>", "https://m.example").unwrap();
        let email = AccountEmail {
            id: "e1".into(),
            to: Email::parse("ann@example.com").unwrap(),
            username: Username::parse("ann").unwrap(),
            kind: AccountEmailKind::ConfirmEmail { token: "s3cret".into(), next: "/memes/new".into() },
        };
        let raw = String::from_utf8(mailer.account_message(&email).unwrap().formatted()).unwrap();
        // Quoted-printable: "=" is written "=3D".
        assert!(raw.contains("https://m.example/verify/s3cret?next=3D%2Fmemes%2Fnew"), "{raw}");
        assert!(!raw.contains("List-Unsubscribe"));
    }
}
