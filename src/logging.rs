//! The tracing subscriber: stderr (with `<N>` level prefixes when journald reads it, see
//! sd-daemon(3)) or syslog (facility daemon), as text or JSON. Installed once, globally;
//! a reload may change its level and format, never its target.

use std::sync::{Mutex, OnceLock, PoisonError};
use tracing::Level;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry, reload};

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
    /// The subscriber to change is gone.
    #[error("the log subscriber is gone")]
    Gone,
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;
type Formatted = reload::Layer<BoxedLayer, Registry>;

/// What a reload may change in the installed subscriber: the format (a new layer for the
/// same target) and the level.
struct Control {
    layer: reload::Handle<BoxedLayer, Registry>,
    level: reload::Handle<LevelFilter, Layered<Formatted, Registry>>,
    /// The format and level in force.
    now: Mutex<(LogFormat, LogLevel)>,
}

static CONTROL: OnceLock<Control> = OnceLock::new();

/// Installs the global subscriber described by `config`.
///
/// # Errors
/// An unreachable syslog socket, or a second call.
pub fn init(config: &Config) -> Result<(), Error> {
    let (layer, layer_handle) = reload::Layer::new(layer(config, config.log_format)?);
    let (level, level_handle) = reload::Layer::new(level_filter(config.log_level));
    let subscriber = Registry::default().with(layer).with(level);
    tracing::subscriber::set_global_default(subscriber).map_err(|_| Error::Twice)?;
    // Set only here, right after the subscriber it controls.
    let _ = CONTROL.set(Control {
        layer: layer_handle,
        level: level_handle,
        now: Mutex::new((config.log_format, config.log_level)),
    });
    Ok(())
}

/// Applies `log_level` and `log_format` of `config` to the installed subscriber, keeping
/// its target (`log_target` and `syslog_socket` need a restart). Returns whether anything
/// changed.
///
/// # Errors
/// The syslog socket cannot be reached for the new format; the old format stays.
pub fn reconfigure(config: &Config) -> Result<bool, Error> {
    let Some(control) = CONTROL.get() else {
        return Ok(false);
    };
    let mut now = control.now.lock().unwrap_or_else(PoisonError::into_inner);
    let mut changed = false;
    if now.0 != config.log_format {
        let layer = layer(config, config.log_format)?;
        control.layer.reload(layer).map_err(|_| Error::Gone)?;
        now.0 = config.log_format;
        changed = true;
    }
    if now.1 != config.log_level {
        control
            .level
            .reload(level_filter(config.log_level))
            .map_err(|_| Error::Gone)?;
        now.1 = config.log_level;
        changed = true;
    }
    Ok(changed)
}

fn level_filter(level: LogLevel) -> LevelFilter {
    LevelFilter::from_level(match level {
        LogLevel::Error => Level::ERROR,
        LogLevel::Warn => Level::WARN,
        LogLevel::Info => Level::INFO,
        LogLevel::Debug => Level::DEBUG,
        LogLevel::Trace => Level::TRACE,
    })
}

/// The formatting layer for `config`'s target in `format`.
fn layer(config: &Config, format: LogFormat) -> Result<BoxedLayer, Error> {
    match config.log_target {
        LogTarget::Stderr => Ok(stderr_layer(format)),
        LogTarget::Syslog => syslog_layer(config, format),
    }
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
fn syslog_layer(_config: &Config, _format: LogFormat) -> Result<BoxedLayer, Error> {
    Err(Error::NoSyslog)
}

#[cfg(feature = "syslog")]
fn syslog_layer(config: &Config, format: LogFormat) -> Result<BoxedLayer, Error> {
    let sink = sink::SyslogSink::connect(&config.syslog_socket, ::syslog::Facility::LOG_DAEMON)?;
    let base = tracing_subscriber::fmt::layer()
        .with_writer(sink)
        .with_ansi(false)
        .with_target(false)
        .without_time();
    Ok(match format {
        LogFormat::Text => Box::new(base.fmt_fields(text::Fields)),
        LogFormat::Json => Box::new(base.json().flatten_event(true)),
    })
}
