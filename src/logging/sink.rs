//! A tracing writer that sends each log line to a syslog socket (feature `syslog`).

use std::io::Write;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

use super::Error;

/// A syslog connection shared by all threads; reconnects once when a send fails (the syslog
/// daemon may have restarted).
#[derive(Clone)]
pub struct SyslogSink {
    inner: std::sync::Arc<std::sync::Mutex<SyslogConn>>,
}

struct SyslogConn {
    path: std::path::PathBuf,
    formatter: syslog::Formatter3164,
    logger: syslog::Logger<syslog::LoggerBackend, syslog::Formatter3164>,
}

impl SyslogSink {
    /// Connects to the syslog socket at `path` with `facility`.
    ///
    /// # Errors
    /// The socket cannot be reached.
    pub fn connect(path: &std::path::Path, facility: syslog::Facility) -> Result<Self, Error> {
        let formatter = syslog::Formatter3164 {
            facility,
            hostname: None,
            process: "flaskpaste".into(),
            pid: std::process::id(),
        };
        let logger = syslog::unix_custom(formatter.clone(), path).map_err(|e| Error::Syslog {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(SyslogSink {
            inner: std::sync::Arc::new(std::sync::Mutex::new(SyslogConn {
                path: path.to_owned(),
                formatter,
                logger,
            })),
        })
    }

    fn line(&self, level: Level) -> SyslogLine {
        SyslogLine {
            sink: self.clone(),
            level,
            buf: Vec::with_capacity(256),
        }
    }

    /// Sends one message with the severity of `level`.
    pub fn send(&self, level: Level, message: &str) {
        let Ok(mut conn) = self.inner.lock() else {
            return;
        };
        if conn.send(level, message).is_err()
            && let Ok(fresh) = syslog::unix_custom(conn.formatter.clone(), &conn.path)
        {
            conn.logger = fresh;
            // A second failure has nowhere to be reported but stderr.
            if let Err(e) = conn.send(level, message) {
                let _ = writeln!(std::io::stderr(), "syslog: {e}");
            }
        }
    }
}

impl SyslogConn {
    fn send(&mut self, level: Level, message: &str) -> Result<(), syslog::Error> {
        match level {
            Level::ERROR => self.logger.err(message),
            Level::WARN => self.logger.warning(message),
            Level::INFO => self.logger.info(message),
            _ => self.logger.debug(message),
        }
    }
}

/// One log line on its way to syslog; sent when dropped.
pub struct SyslogLine {
    sink: SyslogSink,
    level: Level,
    buf: Vec<u8>,
}

impl Write for SyslogLine {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let text = text.trim_end();
        if !text.is_empty() {
            self.sink.send(self.level, text);
        }
    }
}

impl<'a> MakeWriter<'a> for SyslogSink {
    type Writer = SyslogLine;

    fn make_writer(&'a self) -> SyslogLine {
        self.line(Level::INFO)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> SyslogLine {
        self.line(*meta.level())
    }
}
