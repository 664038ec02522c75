//! Notification emails, built with lettre: a text and an HTML part, a `List-Unsubscribe` header
//! with its one-click companion (RFC 8058), and the unsubscribe link in the body.

use std::path::PathBuf;

use anyhow::Context;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::domain::{Delivery, EmailRecipient};

pub enum Transport {
    /// `.eml` files in a folder (the local default). Each file is named after its delivery
    /// (meme × subscriber) and written atomically, so a delivery retried after a crash replaces
    /// its own file instead of adding a second email: exactly one file per delivery. (lettre's
    /// own file transport names files with random UUIDs, which would duplicate on retry.)
    Files(PathBuf),
    /// A real SMTP server: at-least-once, as SMTP itself is.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    base_url: String,
}

impl Mailer {
    pub fn new(transport: Transport, from: &str, base_url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            transport,
            from: from.parse().with_context(|| format!("SKYHIGH_MAIL_FROM is not an email address: {from}"))?,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("SKYHIGH_SMTP_URL is not a valid SMTP URL")?
                    .timeout(Some(std::time::Duration::from_secs(10)))
                    .build(),
            ),
            None => Transport::Files(config.data_dir.join("outbox")),
        };
        Self::new(transport, &config.mail_from, &config.base_url())
    }

    /// The subject and text of the one message published to a creator's SNS topic. SNS adds
    /// its own unsubscribe link to every email it sends, so this one names no token.
    pub fn topic_message(&self, delivery: &Delivery) -> (String, String) {
        let meme_url = format!("{}/memes/{}", self.base_url, delivery.meme_id);
        let creator_url = format!("{}/u/{}", self.base_url, delivery.creator);
        let text = format!(
            "{creator} just posted a new meme on Sky-High Memes:\n{meme_url}\n\n\
             You get this email because you follow {creator} ({creator_url}).\n",
            creator = delivery.creator,
        );
        (format!("{} posted a new meme", delivery.creator), text)
    }

    pub fn message(&self, delivery: &Delivery, to: &EmailRecipient) -> anyhow::Result<Message> {
        let meme_url = format!("{}/memes/{}", self.base_url, delivery.meme_id);
        let creator_url = format!("{}/u/{}", self.base_url, delivery.creator);
        let unsubscribe_url = format!("{}/unsubscribe/{}", self.base_url, to.unsubscribe_token);
        let recipient = &to.recipient;
        let to = Mailbox::new(Some(to.recipient.to_string()), to.email.as_str().parse()?);
        let text = format!(
            "Hi {recipient},\n\n{creator} just posted a new meme on Sky-High Memes:\n{meme_url}\n\n\
             You get this email because you follow {creator} ({creator_url}).\n\
             Stop these emails with one click: {unsubscribe_url}\n",
            creator = delivery.creator,
        );
        let html = format!(
            "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;line-height:1.5\">\
             <p>Hi {recipient},</p>\
             <p><a href=\"{creator_url}\">{creator}</a> just posted a new meme on Sky-High Memes.</p>\
             <p><a href=\"{meme_url}\" style=\"display:inline-block;padding:10px 18px;background:#4f46e5;color:#fff;\
             border-radius:999px;text-decoration:none\">See the meme</a></p>\
             <p style=\"color:#666;font-size:13px\">You get this email because you follow {creator}. \
             <a href=\"{unsubscribe_url}\">Unsubscribe</a> with one click.</p></body></html>",
            recipient = html_escape(recipient.as_str()),
            creator = html_escape(delivery.creator.as_str()),
        );
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(format!("{} posted a new meme", delivery.creator))
            .message_id(Some(format!("<{}@skyhigh>", delivery.id)))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{unsubscribe_url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ))
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html)),
            )
            .context("building a notification email")
    }

    pub async fn send(&self, delivery: &Delivery, to: &EmailRecipient) -> anyhow::Result<()> {
        let message = self.message(delivery, to)?;
        match &self.transport {
            Transport::Files(folder) => {
                let path = folder.join(format!("{}.eml", delivery.id));
                let folder = folder.clone();
                let bytes = message.formatted();
                tokio::task::spawn_blocking(move || write_atomically(&folder, &path, &bytes))
                    .await?
                    .context("writing an .eml file to the outbox folder")
            }
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).context("sending through SMTP"),
        }
    }
}

fn write_atomically(folder: &std::path::Path, path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(folder)?;
    let mut temp = tempfile::NamedTempFile::new_in(folder)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, MemeId, Username};

    fn delivery() -> (Delivery, EmailRecipient) {
        let to = EmailRecipient {
            recipient: Username::parse("bob").unwrap(),
            email: Email::parse("bob@example.com").unwrap(),
            unsubscribe_token: "tok123".into(),
        };
        let delivery = Delivery {
            id: "meme-sub".into(),
            meme_id: MemeId::new(),
            creator: Username::parse("ann").unwrap(),
            attempts: 0,
            channel: crate::domain::DeliveryChannel::Email(to.clone()),
        };
        (delivery, to)
    }

    #[test]
    fn the_email_has_both_parts_and_one_click_unsubscribe() {
        let mailer =
            Mailer::new(Transport::Files("/tmp".into()), "Sky <no-reply@example.com>", "https://m.example/").unwrap();
        let (delivery, to) = delivery();
        let raw = String::from_utf8(mailer.message(&delivery, &to).unwrap().formatted()).unwrap();
        assert!(raw.contains("List-Unsubscribe: <https://m.example/unsubscribe/tok123>"), "{raw}");
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(raw.contains("Content-Type: text/plain"));
        assert!(raw.contains("Content-Type: text/html"));
        assert!(raw.contains("Subject: ann posted a new meme"));
        assert!(raw.contains("To: bob <bob@example.com>"));
    }
}
