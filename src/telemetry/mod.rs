//! Logging: readable lines by default, JSON lines with `SKYHIGH_LOG_FORMAT=json`.
//! `RUST_LOG` overrides the default level filter. Metrics are in [`metrics`]; the access log,
//! one line per request, is `web::access_log`.

#[cfg(test)]
mod captured;
mod json;
pub mod metrics;
pub mod request;
mod text;
mod writer;

pub use writer::FlushGuard;

use std::fmt::{self, Write as _};

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// INFO, but for dependencies' chatter: tower-sessions opens INFO spans around every request
/// and every session read (a few microseconds a page, for spans no line of ours needs), hyper
/// reports every reset connection.
const DEFAULT_FILTER: &str = "info,tower_sessions=warn,tower_sessions_core=warn,hyper=warn";

/// Installs the subscriber. Lines are formatted where they are logged and written to stdout by
/// a thread of its own, in batches (writer.rs). Keep the guard until exit: dropping it writes
/// out what is left.
pub fn init(format: LogFormat) -> FlushGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let (writer, guard) = writer::batched(std::io::stdout());
    // No colour codes: the lines go to files and CloudWatch more often than to a terminal.
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(false);
    // A second init (tests start many apps in one process) is harmless: keep the first.
    let _ = match format {
        LogFormat::Text => builder.event_format(text::TextLines).try_init(),
        // Every span the line is in, outermost (the request and its id) first (json.rs).
        LogFormat::Json => builder.fmt_fields(json::JsonMembers).event_format(json::JsonLines).try_init(),
    };
    guard
}

thread_local! {
    /// The current second as `YYYY-MM-DDTHH:MM:SS`, made once a second per thread.
    static SECOND: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
}

/// Now, in UTC, for both formats' lines, as RFC 3339 with microseconds (`2026-12-02T02:41:49.893877Z`).
fn write_timestamp(out: &mut tracing_subscriber::fmt::format::Writer<'_>) -> fmt::Result {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let seconds = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    SECOND.with_borrow_mut(|(second, text)| {
        if *second != seconds {
            let at = time::OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            text.clear();
            write!(
                text,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            )?;
            *second = seconds;
        }
        out.write_str(text)
    })?;
    write!(out, ".{:06}Z", now.subsec_micros())
}
