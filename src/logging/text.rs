//! Cheaper text formatting for the request log line, the same bytes as tracing-subscriber's
//! defaults. Every request logs one line, and the default field visitor and clock spent a
//! quarter of a small read's instructions on it.
//!
//! - [`Fields`] writes plain string fields, integers and booleans directly. The message,
//!   errors, raw identifiers and strings that need escaping go to the default visitor.
//! - [`Clock`] formats the date and time once per second per thread and adds microseconds.

use std::cell::RefCell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultVisitor, Writer};
use tracing_subscriber::fmt::time::FormatTime;

/// Field formatting with the output of `DefaultFields`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fields;

impl<'a> MakeVisitor<Writer<'a>> for Fields {
    type Visitor = Visitor<'a>;

    fn make_visitor(&self, writer: Writer<'a>) -> Visitor<'a> {
        Visitor {
            writer,
            first: true,
            result: Ok(()),
        }
    }
}

/// Writes `name=value` pairs separated by spaces, as `DefaultVisitor` does.
pub struct Visitor<'a> {
    writer: Writer<'a>,
    first: bool,
    result: fmt::Result,
}

impl Visitor<'_> {
    /// Writes one field through `write`, preceded by a space unless it is the first.
    fn field(&mut self, name: &str, write: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let w = &mut self.writer;
        self.result = (|| {
            w.write_str(if self.first { "" } else { " " })?;
            w.write_str(name)?;
            w.write_str("=")?;
            write(w)
        })();
        self.first = false;
    }

    /// Hands one field to the default visitor.
    fn delegate(&mut self, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        if self.result.is_err() {
            return;
        }
        let mut default = DefaultVisitor::new(self.writer.by_ref(), self.first);
        record(&mut default);
        self.result = default.finish();
        self.first = false;
    }
}

/// Whether `s` prints unchanged inside the quotes of its `Debug` form.
fn plain(s: &str) -> bool {
    s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
}

/// Whether the default visitor treats the field specially.
fn special(field: &Field) -> bool {
    field.name() == "message" || field.name().starts_with("r#")
}

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if special(field) || !plain(value) {
            return self.delegate(|d| d.record_str(field, value));
        }
        self.field(field.name(), |w| {
            w.write_str("\"")?;
            w.write_str(value)?;
            w.write_str("\"")
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if special(field) {
            return self.delegate(|d| d.record_u64(field, value));
        }
        self.field(field.name(), |w| {
            w.write_str(itoa::Buffer::new().format(value))
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if special(field) {
            return self.delegate(|d| d.record_i64(field, value));
        }
        self.field(field.name(), |w| {
            w.write_str(itoa::Buffer::new().format(value))
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if special(field) {
            return self.delegate(|d| d.record_bool(field, value));
        }
        self.field(field.name(), |w| {
            w.write_str(if value { "true" } else { "false" })
        });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.delegate(|d| d.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if special(field) {
            return self.delegate(|d| d.record_debug(field, value));
        }
        self.field(field.name(), |w| write!(w, "{value:?}"));
    }
}

impl VisitOutput<fmt::Result> for Visitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for Visitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

/// RFC 3339 UTC time with microseconds, as tracing-subscriber's `SystemTime` prints it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock;

impl FormatTime for Clock {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        write_time(SystemTime::now(), w)
    }
}

thread_local! {
    /// The second last formatted on this thread, and its text without the trailing `Z`.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

fn write_time(now: SystemTime, w: &mut impl fmt::Write) -> fmt::Result {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let whole = UNIX_EPOCH + std::time::Duration::from_secs(secs);
            let mut text = humantime::format_rfc3339_seconds(whole).to_string();
            text.pop();
            *cached = (secs, text);
        }
        w.write_str(&cached.1)
    })?;
    let micros = since.subsec_micros();
    let mut digits = *b".000000Z";
    let mut rest = micros;
    for d in digits[1..7].iter_mut().rev() {
        *d = b'0' + u8::try_from(rest % 10).expect("a decimal digit");
        rest /= 10;
    }
    w.write_str(std::str::from_utf8(&digits).expect("ASCII digits"))
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer failure")]
    struct Outer(#[source] io::Error);

    /// Every kind of field the daemon logs, and the awkward values.
    fn events() {
        let outer = Outer(io::Error::other("inner \"cause\""));
        let path = "/a b/\"c\"";
        tracing::info!(
            rid = "49cc9d19-f2b2-448a-ae02-f475af03ac6a",
            peer = %"127.0.0.1:5000",
            client = "-",
            method = %http::Method::GET,
            path = %path,
            status = 200u16,
            bytes = 1024u64,
            neg = -5i64,
            ok = true,
            ratio = 0.5f64,
            "request"
        );
        tracing::info!(
            rid = "quote \" and \\ back",
            tab = "a\tb\nc",
            uni = "é ü \u{1b}[31m"
        );
        tracing::warn!(
            error = &outer as &(dyn std::error::Error + 'static),
            "failed: {}",
            "x"
        );
        tracing::warn!(r#type = "raw", "escape \u{1b}[2J in the message");
        tracing::error!(empty = "", debug = ?Some("x"), "done");
        tracing::info!(only = 1u64);
    }

    fn render(fast: bool) -> String {
        let buf = Buf::default();
        let base = tracing_subscriber::fmt::layer()
            .with_writer(buf.clone())
            .with_ansi(false)
            .without_time();
        let dispatch = if fast {
            tracing::Dispatch::new(tracing_subscriber::registry().with(base.fmt_fields(Fields)))
        } else {
            tracing::Dispatch::new(tracing_subscriber::registry().with(base))
        };
        tracing::dispatcher::with_default(&dispatch, events);
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn fields_come_out_as_the_default_visitor_writes_them() {
        let fast = render(true);
        assert_eq!(fast, render(false));
        assert!(fast.contains("rid=\"quote \\\" and \\\\ back\""), "{fast}");
        assert!(
            fast.contains("status=200 bytes=1024 neg=-5 ok=true"),
            "{fast}"
        );
    }

    #[test]
    fn time_matches_tracing_subscribers_format_across_seconds() {
        let base = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        for offset_us in [
            0,
            1,
            999_999,
            1_000_000,
            1_000_007,
            59_123_456,
            86_400_000_001,
        ] {
            let t = base + Duration::from_micros(offset_us);
            let mut got = String::new();
            write_time(t, &mut got).unwrap();
            assert_eq!(got, humantime::format_rfc3339_micros(t).to_string());
        }
        let mut ours = String::new();
        Clock.format_time(&mut Writer::new(&mut ours)).unwrap();
        let mut theirs = String::new();
        tracing_subscriber::fmt::time::SystemTime
            .format_time(&mut Writer::new(&mut theirs))
            .unwrap();
        assert_eq!(ours.len(), theirs.len(), "{ours} vs {theirs}");
        assert_eq!(ours[..16], theirs[..16], "{ours} vs {theirs}");
    }
}
