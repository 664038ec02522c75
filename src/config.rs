//! Configuration: command-line flags with environment-variable fallbacks (a flag wins).
//! Names and defaults follow SPEC §2.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    Local,
    Aws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Every setting of the server. Each flag's value name is its environment variable, so an
/// error message ("invalid value 'x' for '--addr <SKYHIGH_ADDR>'") names both.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Listen address.
    #[arg(long, env = "SKYHIGH_ADDR", value_name = "SKYHIGH_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Storage backend.
    #[arg(long, env = "SKYHIGH_BACKEND", value_name = "SKYHIGH_BACKEND", value_enum, default_value = "local")]
    pub backend: Backend,

    /// Folder of the local backend.
    #[arg(long, env = "SKYHIGH_DATA_DIR", value_name = "SKYHIGH_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Public URL used in emails and feeds [default: http://<SKYHIGH_ADDR>].
    #[arg(long, env = "SKYHIGH_BASE_URL", value_name = "SKYHIGH_BASE_URL", value_parser = parse_http_url)]
    pub base_url: Option<String>,

    /// Base URL of media, e.g. a CloudFront distribution [default: the app's own /media].
    #[arg(long, env = "SKYHIGH_MEDIA_URL", value_name = "SKYHIGH_MEDIA_URL", value_parser = parse_http_url)]
    pub media_url: Option<String>,

    /// Prefix of DynamoDB table names.
    #[arg(long, env = "SKYHIGH_TABLE_PREFIX", value_name = "SKYHIGH_TABLE_PREFIX", default_value = "skyhigh-")]
    pub table_prefix: String,

    /// S3 bucket for media (required for the aws backend).
    #[arg(long, env = "SKYHIGH_BUCKET", value_name = "SKYHIGH_BUCKET")]
    pub bucket: Option<String>,

    /// SNS topic of "meme published" events: a name, or its ARN.
    #[arg(
        long,
        env = "SKYHIGH_EVENTS_TOPIC",
        value_name = "SKYHIGH_EVENTS_TOPIC",
        default_value = "skyhigh-meme-events"
    )]
    pub events_topic: String,

    /// SQS queue the delivery worker reads (subscribed to the events topic, with a dead-letter queue).
    #[arg(
        long,
        env = "SKYHIGH_DELIVERY_QUEUE",
        value_name = "SKYHIGH_DELIVERY_QUEUE",
        default_value = "skyhigh-deliveries"
    )]
    pub delivery_queue: String,

    /// CloudFront distribution to invalidate deleted media in (aws backend).
    #[arg(long, env = "SKYHIGH_CLOUDFRONT_DISTRIBUTION", value_name = "SKYHIGH_CLOUDFRONT_DISTRIBUTION")]
    pub cloudfront_distribution: Option<String>,

    /// SES configuration set whose event destination reports sends, bounces and complaints to the
    /// delivery queue (made as `<prefix>mail` when creating resources).
    #[arg(long, env = "SKYHIGH_SES_CONFIGURATION_SET", value_name = "SKYHIGH_SES_CONFIGURATION_SET")]
    pub ses_configuration_set: Option<String>,

    /// Notification emails one subscriber gets per hour; the rest come as one digest at the hour's end.
    #[arg(long, env = "SKYHIGH_EMAILS_PER_HOUR", value_name = "SKYHIGH_EMAILS_PER_HOUR", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub emails_per_hour: u64,

    /// Sign-ups accepted per client address per hour.
    #[arg(long, env = "SKYHIGH_SIGNUPS_PER_HOUR", value_name = "SKYHIGH_SIGNUPS_PER_HOUR", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub signups_per_hour: u64,

    /// API writes accepted per token (or signed-in user) per minute; twice that per client address.
    #[arg(long, env = "SKYHIGH_API_WRITES_PER_MINUTE", value_name = "SKYHIGH_API_WRITES_PER_MINUTE", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub api_writes_per_minute: u64,

    /// Renders an anonymous client address may ask for per minute (previews, downloads, `/i/`
    /// cache misses), after a burst of as many.
    #[arg(long, env = "SKYHIGH_RENDERS_PER_MINUTE", value_name = "SKYHIGH_RENDERS_PER_MINUTE", default_value_t = 120,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub renders_per_minute: u32,

    /// Seconds a received delivery job stays hidden from other workers (a long fan-out renews it).
    #[arg(long, env = "SKYHIGH_JOB_TIMEOUT_SECS", value_name = "SKYHIGH_JOB_TIMEOUT_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=43_200))]
    pub job_timeout_secs: u64,

    /// Create missing tables and bucket at start-up (development, emulators).
    #[arg(long, env = "SKYHIGH_CREATE_RESOURCES", value_name = "SKYHIGH_CREATE_RESOURCES", default_value_t = false, action = clap::ArgAction::Set)]
    pub create_resources: bool,

    /// Set the `Secure` flag on cookies (and send HSTS).
    #[arg(long, env = "SKYHIGH_COOKIE_SECURE", value_name = "SKYHIGH_COOKIE_SECURE", default_value_t = false, action = clap::ArgAction::Set)]
    pub cookie_secure: bool,

    /// Largest accepted upload, in megabytes.
    #[arg(long, env = "SKYHIGH_MAX_UPLOAD_MB", value_name = "SKYHIGH_MAX_UPLOAD_MB", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=2048))]
    pub max_upload_mb: u64,

    /// Log format: readable text or JSON lines.
    #[arg(long, env = "SKYHIGH_LOG_FORMAT", value_name = "SKYHIGH_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Serve Prometheus metrics (`GET /metrics`) on this address, apart from the site so the
    /// public never reaches them. Unset: no metrics are kept.
    #[arg(long, env = "SKYHIGH_METRICS_ADDR", value_name = "SKYHIGH_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// How many proxies stand in front of the app (CloudFront + ALB = 2), each appending to
    /// `X-Forwarded-For`: the client is the address that many entries from its end. 0: the
    /// socket's peer address.
    #[arg(long, env = "SKYHIGH_TRUSTED_PROXIES", value_name = "SKYHIGH_TRUSTED_PROXIES", default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=10))]
    pub trusted_proxies: u8,

    /// Send emails through this SMTP server (e.g. smtps://user:pass@smtp.example.com) instead of
    /// writing them as .eml files into `<data dir>/outbox/` (local) or sending them with SES (aws).
    #[arg(long, env = "SKYHIGH_SMTP_URL", value_name = "SKYHIGH_SMTP_URL")]
    pub smtp_url: Option<String>,

    /// The sender of notification emails.
    #[arg(
        long,
        env = "SKYHIGH_MAIL_FROM",
        value_name = "SKYHIGH_MAIL_FROM",
        default_value = "Sky-High Memes <no-reply@skyhigh.local>"
    )]
    pub mail_from: String,

    /// Run the background workers (email delivery) in this instance. Turn off to run web-only
    /// instances beside one worker instance.
    #[arg(long, env = "SKYHIGH_RUN_WORKERS", value_name = "SKYHIGH_RUN_WORKERS", default_value_t = true, action = clap::ArgAction::Set)]
    pub run_workers: bool,

    /// Seconds an idle keep-alive connection stays open; must exceed the load balancer's idle
    /// timeout (60 s on an ALB), or the ALB reuses connections the app is closing (502s).
    #[arg(long, env = "SKYHIGH_KEEPALIVE_SECS", value_name = "SKYHIGH_KEEPALIVE_SECS", default_value_t = 75,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub keepalive_secs: u64,

    /// Seconds a client gets to send a request's headers before its connection is closed.
    #[arg(long, env = "SKYHIGH_HEADER_TIMEOUT_SECS", value_name = "SKYHIGH_HEADER_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_timeout_secs: u64,
}

impl Config {
    /// The public base URL without a trailing slash.
    pub fn base_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.addr),
        }
    }

    pub fn max_upload_bytes(&self) -> usize {
        (self.max_upload_mb as usize).saturating_mul(1024 * 1024)
    }

    /// Where uploads are spooled while they are received (unlinked files; see `services::uploads`).
    pub fn spool_dir(&self) -> std::path::PathBuf {
        self.data_dir.join("tmp")
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs)
    }

    pub fn keep_alive(&self) -> Duration {
        Duration::from_secs(self.keepalive_secs)
    }

    /// Settings that clap cannot check one by one.
    pub fn validate(&self) -> Result<(), String> {
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(format!("SKYHIGH_MAIL_FROM (--mail-from) is not an email address: {}", self.mail_from));
        }
        if self.backend == Backend::Aws && self.bucket.as_deref().is_none_or(str::is_empty) {
            return Err("SKYHIGH_BUCKET (--bucket) is required when SKYHIGH_BACKEND=aws".into());
        }
        Ok(())
    }

    /// A configuration for tests: local backend in `data_dir`, an OS-chosen port.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            config: Config,
        }
        let mut config = Wrapper::parse_from(["skyhigh"]).config;
        config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.data_dir = data_dir;
        config.backend = Backend::Local;
        config
    }
}

fn parse_http_url(value: &str) -> Result<String, String> {
    let ok = (value.starts_with("http://") || value.starts_with("https://"))
        && value.len() > "https://".len()
        && !value.chars().any(|c| c.is_whitespace());
    if ok { Ok(value.to_owned()) } else { Err("expected an http:// or https:// URL".into()) }
}
