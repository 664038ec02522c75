//! Logging: readable lines by default, JSON lines with `SKYHIGH_LOG_FORMAT=json`.
//! `RUST_LOG` overrides the default level filter. Metrics are in [`metrics`]; the access log,
//! one line per request, is `web::access_log`.

pub mod metrics;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,hyper=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // A second init (tests start many apps in one process) is harmless: keep the first.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        // Every span the line is in, outermost (the request and its id) first; the current one
        // alone would hide the request inside a handler's own span.
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    };
}
