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

/// A send whose outcome nobody knows: the request may have reached the email service, but its
/// answer never came back (a timeout, a connection lost mid-request, a 5xx). The worker keeps
/// the email's claim instead of giving it back: the service's own record of the send (SES's
/// Send event) settles it, and only a claim still unsettled when it goes stale is sent again.
#[derive(Debug)]
pub struct OutcomeUnknown(pub String);

impl std::fmt::Display for OutcomeUnknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the email service may or may not have taken the email: {}", self.0)
    }
}

impl std::error::Error for OutcomeUnknown {}

/// Amazon SES (v2 `SendEmail` with the raw message), so the email is exactly the MIME the app
/// built: our own one-click unsubscribe link and headers, which SNS email could not carry.
///
/// SES has no idempotency key, so a send is never retried blindly: the SDK's own retries are
/// off for it (a retry after a timed-out attempt that SES did take would send the email twice),
/// and only a throttled send, which SES refused, is tried again here. Each email carries its key
/// as a message tag, which comes back in the configuration set's Send event.
pub struct SesSender {
    ses: aws_sdk_sesv2::Client,
    from: String,
    /// The configuration set whose event destination reports sends, bounces and complaints.
    configuration_set: Option<String>,
}

/// Tries of a throttled send: 0.2, 0.4, 0.8 s apart, then the job's own backoff takes over.
const THROTTLED_TRIES: u32 = 4;

impl SesSender {
    pub fn new(ses: aws_sdk_sesv2::Client, from: String, configuration_set: Option<String>) -> Self {
        let single_attempt = ses.config().to_builder().retry_config(aws_config::retry::RetryConfig::disabled()).build();
        Self { ses: aws_sdk_sesv2::Client::from_conf(single_attempt), from, configuration_set }
    }
}

/// What became of one `SendEmail` attempt that failed.
enum Failed {
    /// SES answered and refused: nothing was sent.
    Refused(anyhow::Error),
    /// SES refused for now (throttled): nothing was sent, and a retry soon may pass.
    Throttled(anyhow::Error),
    /// No answer, or a server error: it may have been sent.
    Unknown(String),
}

fn classify(error: aws_sdk_sesv2::error::SdkError<aws_sdk_sesv2::operation::send_email::SendEmailError>) -> Failed {
    use aws_sdk_sesv2::error::SdkError;
    use aws_sdk_sesv2::operation::send_email::SendEmailError;
    let text = aws_sdk_sesv2::error::DisplayErrorContext(&error).to_string();
    match &error {
        // Never sent: the request could not even be built.
        SdkError::ConstructionFailure(_) => Failed::Refused(anyhow::anyhow!(text)),
        SdkError::ServiceError(service) if service.raw().status().is_server_error() => Failed::Unknown(text),
        SdkError::ServiceError(service) => match service.err() {
            SendEmailError::TooManyRequestsException(_) | SendEmailError::LimitExceededException(_) => {
                Failed::Throttled(anyhow::anyhow!(text))
            }
            _ => Failed::Refused(anyhow::anyhow!(text)),
        },
        // A timeout, a connection lost after the request went out, an answer that could not be
        // read: SES may have taken it.
        _ => Failed::Unknown(text),
    }
}

#[async_trait]
impl EmailSender for SesSender {
    async fn send(&self, key: &str, to: &Email, message: &Message) -> anyhow::Result<()> {
        use aws_sdk_sesv2::primitives::Blob;
        use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
        let raw = RawMessage::builder().data(Blob::new(message.formatted())).build().context("building a raw email")?;
        let tags = match crate::domain::EmailSent::tag_value(key) {
            Some(value) => vec![MessageTag::builder().name(crate::domain::EmailSent::TAG).value(value).build()?],
            None => Vec::new(),
        };
        let request = self
            .ses
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_email_tags(Some(tags))
            .set_configuration_set_name(self.configuration_set.clone());
        let (mut pause, mut tries_left) = (std::time::Duration::from_millis(200), THROTTLED_TRIES);
        loop {
            let failed = match request.clone().send().await {
                Ok(_) => return Ok(()),
                Err(e) => classify(e),
            };
            tries_left -= 1;
            match failed {
                Failed::Throttled(_) if tries_left > 0 => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Failed::Throttled(e) => return Err(e.context("sending through Amazon SES (throttled)")),
                Failed::Refused(e) => return Err(e.context("sending through Amazon SES")),
                Failed::Unknown(text) => return Err(OutcomeUnknown(text).into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sesv2::error::SdkError;
    use aws_sdk_sesv2::operation::send_email::SendEmailError;
    use aws_sdk_sesv2::types::error::{MessageRejected, TooManyRequestsException};
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::{Failed, classify};

    fn answered(status: u16, error: SendEmailError) -> SdkError<SendEmailError, Response> {
        SdkError::service_error(error, Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty()))
    }

    #[test]
    fn only_a_send_ses_answered_is_known_not_to_have_gone_out() {
        let throttled =
            answered(429, SendEmailError::TooManyRequestsException(TooManyRequestsException::builder().build()));
        assert!(matches!(classify(throttled), Failed::Throttled(_)));
        let rejected = answered(400, SendEmailError::MessageRejected(MessageRejected::builder().build()));
        assert!(matches!(classify(rejected), Failed::Refused(_)));
        let server = answered(500, SendEmailError::unhandled("InternalFailure"));
        assert!(matches!(classify(server), Failed::Unknown(_)), "a 5xx may have sent it");
        let timed_out = SdkError::timeout_error("the attempt timed out");
        assert!(matches!(classify(timed_out), Failed::Unknown(_)), "a timeout may have sent it");
    }

    #[test]
    fn keys_make_portable_file_names() {
        assert_eq!(super::file_name("meme:01ab:01cd"), "meme-01ab-01cd.eml");
        assert_eq!(super::file_name("../x"), "---x.eml");
    }
}
