//! The tracing subscriber: stderr (with `<N>` level prefixes when journald reads it, see
//! sd-daemon(3)) or syslog (facility daemon), as text or JSON. Installed once, globally.

use tracing::Level;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

use crate::config::{Config, LogFormat, LogLevel, LogTarget};

#[cfg(feature = "syslog")]
mod sink;
mod text;

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `log_target = "syslog"` but the socket cannot be reached.
    #[error("cannot connect to syslog at {path}: {reason}")]
    Syslog { path: String, reason: String },
    /// This build has no syslog support.
    #[error("log_target = \"syslog\" needs the `syslog` feature, which this build lacks")]
    NoSyslog,
    /// A subscriber was installed already.
    #[error("logging was initialised twice")]
    Twice,
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global subscriber described by `config`.
///
/// # Errors
/// An unreachable syslog socket, or a second call.
pub fn init(config: &Config) -> Result<(), Error> {
    let level = match config.log_level {
        LogLevel::Error => Level::ERROR,
        LogLevel::Warn => Level::WARN,
        LogLevel::Info => Level::INFO,
        LogLevel::Debug => Level::DEBUG,
        LogLevel::Trace => Level::TRACE,
    };
    let filter = tracing_subscriber::filter::LevelFilter::from_level(level);
    let layer = match config.log_target {
        LogTarget::Stderr => stderr_layer(config.log_format),
        LogTarget::Syslog => syslog_layer(config)?,
    };
    let subscriber = Registry::default().with(layer.with_filter(filter));
    tracing::subscriber::set_global_default(subscriber).map_err(|_| Error::Twice)
}

fn stderr_layer(format: LogFormat) -> BoxedLayer {
    let base = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_timer(text::Clock);
    // journald timestamps lines itself and reads the level from a "<N>" prefix.
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    match (format, journal) {
        (LogFormat::Text, false) => Box::new(base.fmt_fields(text::Fields)),
        (LogFormat::Json, false) => Box::new(base.json().flatten_event(true)),
        (LogFormat::Text, true) => Box::new(
            base.without_time()
                .event_format(JournalPrefix(
                    tracing_subscriber::fmt::format()
                        .without_time()
                        .with_target(false)
                        .with_level(false),
                ))
                .fmt_fields(text::Fields),
        ),
        (LogFormat::Json, true) => Box::new(
            base.event_format(JournalPrefix(
                tracing_subscriber::fmt::format()
                    .json()
                    .flatten_event(true)
                    .without_time(),
            )),
        ),
    }
}

/// Prefixes each line with its syslog priority, as sd-daemon(3) describes.
struct JournalPrefix<F>(F);

impl<S, N, F> FormatEvent<S, N> for JournalPrefix<F>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "<{}>", priority(event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

/// syslog(3) severity of a tracing level.
fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

#[cfg(not(feature = "syslog"))]
fn syslog_layer(_config: &Config) -> Result<BoxedLayer, Error> {
    Err(Error::NoSyslog)
}

#[cfg(feature = "syslog")]
fn syslog_layer(config: &Config) -> Result<BoxedLayer, Error> {
    let sink = sink::SyslogSink::connect(&config.syslog_socket, ::syslog::Facility::LOG_DAEMON)?;
    let base = tracing_subscriber::fmt::layer()
        .with_writer(sink)
        .with_ansi(false)
        .with_target(false)
        .without_time();
    Ok(match config.log_format {
        LogFormat::Text => Box::new(base.fmt_fields(text::Fields)),
        LogFormat::Json => Box::new(base.json().flatten_event(true)),
    })
}
