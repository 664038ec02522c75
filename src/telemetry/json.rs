//! JSON lines, written straight into the line buffer: one object per event with `timestamp`,
//! `level`, `message`, the event's fields, `target`, `request_id` when it was logged while
//! serving a request (`request.rs`), and `spans` when it is inside any (outermost first, each
//! with its `name` and fields).
//!
//! tracing-subscriber's own JSON format collects each event's fields into a map of
//! `serde_json::Value`s and parses every span's stored fields back from JSON for every line;
//! with an access line per request that was most of what logging cost. Here field values are
//! escaped into the line as they are visited, and a span's fields are stored once, as the JSON
//! members they will be written as.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The event format.
pub struct JsonLines;

/// How span fields are stored: `"name":value` members, comma-separated, ready to be written
/// inside the span's object.
pub struct JsonMembers;

impl<'writer> FormatFields<'writer> for JsonMembers {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut members = Members { out: &mut writer, first: true, result: Ok(()) };
        fields.record(&mut members);
        members.result
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let first = current.fields.is_empty();
        let mut writer = current.as_writer();
        let mut members = Members { out: &mut writer, first, result: Ok(()) };
        fields.record(&mut members);
        members.result
    }
}

impl<S> FormatEvent<S, JsonMembers> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonMembers>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        writer.write_str("{\"timestamp\":\"")?;
        super::write_timestamp(&mut writer)?;
        write!(writer, "\",\"level\":\"{}\"", meta.level())?;
        let mut members = Members { out: &mut writer, first: false, result: Ok(()) };
        event.record(&mut members);
        members.result?;
        writer.write_str(",\"target\":")?;
        write_json_str(&mut writer, meta.target())?;
        if let Some(written) = super::request::with_current_id(|id| {
            writer.write_str(",\"request_id\":")?;
            write_json_str(&mut writer, id)
        }) {
            written?;
        }
        if let Some(scope) = ctx.event_scope() {
            writer.write_str(",\"spans\":[")?;
            for (i, span) in scope.from_root().enumerate() {
                if i > 0 {
                    writer.write_char(',')?;
                }
                writer.write_str("{\"name\":")?;
                write_json_str(&mut writer, span.name())?;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<JsonMembers>>()
                    && !fields.fields.is_empty()
                {
                    writer.write_char(',')?;
                    writer.write_str(&fields.fields)?;
                }
                writer.write_char('}')?;
            }
            writer.write_char(']')?;
        }
        writer.write_str("}\n")
    }
}

/// Writes each visited field as a `"name":value` member, a comma before all but the first.
struct Members<'a, 'w> {
    out: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Members<'_, '_> {
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if !std::mem::take(&mut self.first) {
                self.out.write_char(',')?;
            }
            write_json_str(self.out, field.name())?;
            self.out.write_char(':')?;
            value(self.out)
        })();
    }
}

impl Visit for Members<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |out| write_json_str(out, value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity.
        self.member(field, |out| if value.is_finite() { write!(out, "{value}") } else { out.write_str("null") });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |out| {
            out.write_char('"')?;
            write!(Escaped(out), "{value:?}")?;
            out.write_char('"')
        });
    }
}

fn write_json_str(out: &mut Writer<'_>, text: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaped(out).write_str(text)?;
    out.write_char('"')
}

/// Escapes what passes through it for the inside of a JSON string.
struct Escaped<'a, 'w>(&'a mut Writer<'w>);

impl fmt::Write for Escaped<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain = 0;
        for (i, b) in text.bytes().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..0x20 | 0x7f => "",
                _ => continue,
            };
            self.0.write_str(&text[plain..i])?;
            if escape.is_empty() {
                write!(self.0, "\\u{b:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = i + 1;
        }
        self.0.write_str(&text[plain..])
    }
}

#[cfg(test)]
mod tests {
    use super::super::captured::Captured;
    use super::*;

    fn subscriber(captured: &Captured) -> impl Subscriber + Send + Sync {
        tracing_subscriber::fmt().with_writer(captured.clone()).fmt_fields(JsonMembers).event_format(JsonLines).finish()
    }

    fn parsed(captured: &Captured) -> Vec<serde_json::Value> {
        captured
            .text()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    fn lines_of(log: impl FnOnce()) -> Vec<serde_json::Value> {
        let captured = Captured::default();
        tracing::subscriber::with_default(subscriber(&captured), log);
        parsed(&captured)
    }

    #[test]
    fn every_line_is_a_json_object_with_its_fields_and_spans() {
        let lines = lines_of(|| {
            let request = tracing::info_span!("request", id = "abc");
            let _in_request = request.enter();
            let login = tracing::info_span!("login", attempt = 2_u64);
            let _in_login = login.enter();
            tracing::info!(
                status = 422_u64,
                ratio = 0.5,
                ok = false,
                delta = -3_i64,
                nan = f64::NAN,
                who = "quote \" backslash \\ newline \n tab \t bell \u{7} ünï 😀",
                debug = ?Some("x"),
                "a sign-in failed for {}", "nobody"
            );
            tracing::warn!("outside the fields");
        });
        assert_eq!(lines.len(), 2);
        let line = &lines[0];
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "a sign-in failed for nobody");
        assert_eq!(line["status"], 422);
        assert_eq!(line["ratio"], 0.5);
        assert_eq!(line["ok"], false);
        assert_eq!(line["delta"], -3);
        assert!(line["nan"].is_null());
        assert_eq!(line["who"], "quote \" backslash \\ newline \n tab \t bell \u{7} ünï 😀");
        assert_eq!(line["debug"], "Some(\"x\")");
        assert_eq!(line["target"], module_path!());
        assert_eq!(
            line["spans"],
            serde_json::json!([{"name": "request", "id": "abc"}, {"name": "login", "attempt": 2}])
        );
        let stamp = line["timestamp"].as_str().unwrap();
        let parsed = time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339).unwrap();
        let age = time::OffsetDateTime::now_utc() - parsed;
        assert!(age >= time::Duration::ZERO && age < time::Duration::minutes(1), "{stamp} is now");
        assert_eq!(stamp.len(), "2026-12-02T02:41:49.893877Z".len(), "{stamp}");
        assert_eq!(lines[1]["level"], "WARN");
    }

    #[tokio::test]
    async fn a_line_logged_while_serving_a_request_names_it() {
        let captured = Captured::default();
        let _default = tracing::subscriber::set_default(subscriber(&captured));
        super::super::request::scope(super::super::request::RequestContext::new("req-1"), async {
            tracing::info!("inside");
        })
        .await;
        tracing::info!("outside");
        let lines = parsed(&captured);
        assert_eq!(lines[0]["request_id"], "req-1");
        assert!(lines[1].get("request_id").is_none());
    }

    #[test]
    fn fields_recorded_later_join_the_span() {
        let lines = lines_of(|| {
            let span = tracing::info_span!("request", id = "abc", user = tracing::field::Empty);
            span.record("user", "u1");
            span.in_scope(|| tracing::info!("hello"));
            tracing::info!("no span");
        });
        assert_eq!(lines[0]["spans"], serde_json::json!([{"name": "request", "id": "abc", "user": "u1"}]));
        assert!(lines[1].get("spans").is_none());
    }
}
