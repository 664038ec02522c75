//! How built emails leave: `.eml` files in a folder (the local default), SMTP, or Amazon SES
//! (the aws backend). Each send names the email by a key that is the same on every retry.

use std::path::{Path, PathBuf};

use anyhow::Context;
use async_trait::async_trait;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::domain::Email;

#[async_trait]
pub trait EmailSender: Send + Sync {
    /// Sends `message` to `to`. `key` names the email: the same on every retry of it.
    async fn send(&self, key: &str, to: &Email, message: &Message) -> anyhow::Result<()>;
}

/// `.eml` files in a folder, named after their key and written atomically, so a retried email
/// replaces its own file instead of adding a second one: exactly one file per email. (lettre's
/// own file transport names files with random UUIDs, which would duplicate on retry.)
pub struct FileSender {
    folder: PathBuf,
}

impl FileSender {
    pub fn new(folder: PathBuf) -> Self {
        Self { folder }
    }
}

/// A file name from a key: keys are made of ids and `:`, which some file systems refuse.
fn file_name(key: &str) -> String {
    let safe: String = key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    format!("{safe}.eml")
}

fn write_atomically(folder: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(folder)?;
    let mut temp = tempfile::NamedTempFile::new_in(folder)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[async_trait]
impl EmailSender for FileSender {
    async fn send(&self, key: &str, _to: &Email, message: &Message) -> anyhow::Result<()> {
        let path = self.folder.join(file_name(key));
        let folder = self.folder.clone();
        let bytes = message.formatted();
        tokio::task::spawn_blocking(move || write_atomically(&folder, &path, &bytes))
            .await?
            .context("writing an .eml file to the outbox folder")
    }
}

/// A real SMTP server: at-least-once, as SMTP itself is.
pub struct SmtpSender(AsyncSmtpTransport<Tokio1Executor>);

impl SmtpSender {
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        Ok(Self(
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .context("SKYHIGH_SMTP_URL is not a valid SMTP URL")?
                .timeout(Some(std::time::Duration::from_secs(10)))
                .build(),
        ))
    }
}

#[async_trait]
impl EmailSender for SmtpSender {
    async fn send(&self, _key: &str, _to: &Email, message: &Message) -> anyhow::Result<()> {
        self.0.send(message.clone()).await.map(|_| ()).context("sending through SMTP")
    }
}

/// Amazon SES (v2 `SendEmail` with the raw message), so the email is exactly the MIME the app
/// built: our own one-click unsubscribe link and headers, which SNS email could not carry.
pub struct SesSender {
    ses: aws_sdk_sesv2::Client,
    from: String,
    /// The configuration set whose event destination reports bounces and complaints.
    configuration_set: Option<String>,
}

impl SesSender {
    pub fn new(ses: aws_sdk_sesv2::Client, from: String, configuration_set: Option<String>) -> Self {
        Self { ses, from, configuration_set }
    }
}

#[async_trait]
impl EmailSender for SesSender {
    async fn send(&self, _key: &str, to: &Email, message: &Message) -> anyhow::Result<()> {
        use aws_sdk_sesv2::primitives::Blob;
        use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
        let raw = RawMessage::builder().data(Blob::new(message.formatted())).build().context("building a raw email")?;
        self.ses
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_sesv2::error::DisplayErrorContext(e)))
            .context("sending through Amazon SES")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_make_portable_file_names() {
        assert_eq!(super::file_name("meme:01ab:01cd"), "meme-01ab-01cd.eml");
        assert_eq!(super::file_name("../x"), "---x.eml");
    }
}
