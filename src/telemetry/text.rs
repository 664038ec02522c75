//! Readable lines, for a terminal: `timestamp LEVEL spans: target: message fields`, with
//! `request_id=…` at the end of a line logged while serving a request (`request.rs`). Plain
//! text, so a log file holds no colour codes.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

pub struct TextLines;

impl<S, N> FormatEvent<S, N> for TextLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        super::write_timestamp(&mut writer)?;
        write!(writer, " {:>5} ", meta.level())?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                writer.write_str(span.name())?;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    write!(writer, "{{{fields}}}")?;
                }
                writer.write_str(": ")?;
            }
        }
        write!(writer, "{}: ", meta.target())?;
        ctx.format_fields(writer.by_ref(), event)?;
        if let Some(written) = super::request::with_current_id(|id| write!(writer, " request_id={id}")) {
            written?;
        }
        writer.write_char('\n')
    }
}

#[cfg(test)]
mod tests {
    use super::super::captured::Captured;
    use super::*;

    #[tokio::test]
    async fn a_line_reads_time_level_spans_target_message_fields_and_request() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .event_format(TextLines)
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        super::super::request::scope(super::super::request::RequestContext::new("req-7"), async {
            let span = tracing::info_span!("login", attempt = 2);
            let _in = span.enter();
            tracing::warn!(status = 422, "a sign-in failed");
        })
        .await;
        let text = captured.text();
        let line = text.lines().next().unwrap();
        let (time, rest) = line.split_once(' ').unwrap();
        assert!(time.ends_with('Z'), "{line}");
        assert_eq!(
            rest,
            format!(" WARN login{{attempt=2}}: {}: a sign-in failed status=422 request_id=req-7", module_path!())
        );
        assert!(!text.contains('\u{1b}'), "no colour codes");
    }
}
