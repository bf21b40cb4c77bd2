//! The audit syslog socket (feature `syslog`): one datagram per event, framed by the syslog
//! crate (RFC 3164, facility authpriv, tag `flaskpaste[pid]`), sent without waiting.
//! Connects lazily and again after a failure. Never logs: it tells `audit` what happened.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use syslog::{Facility, Formatter3164, LogFormat, Severity};

/// A syslog datagram socket that is connected on first use and whenever a send failed.
#[derive(Debug)]
pub struct Socket {
    path: PathBuf,
    formatter: Formatter3164,
    conn: Mutex<Conn>,
}

#[derive(Debug, Default)]
struct Conn {
    dgram: Option<UnixDatagram>,
    /// The last send failed (the caller has been told once).
    failing: bool,
}

/// What became of one message.
#[derive(Debug)]
pub enum Delivery {
    /// Sent.
    Sent,
    /// Sent, after earlier messages were not.
    Restored,
    /// Not sent; the first failure since the last message that was.
    Failed(io::Error),
    /// Not sent, like the message before it.
    StillFailing,
}

impl Socket {
    /// The socket at `path`; nothing is connected yet.
    #[must_use]
    pub fn new(path: &Path) -> Socket {
        Socket {
            path: path.to_owned(),
            formatter: Formatter3164 {
                facility: Facility::LOG_AUTHPRIV,
                // A local socket: the syslog daemon adds the host name itself.
                hostname: None,
                process: "flaskpaste".into(),
                pid: std::process::id(),
            },
            conn: Mutex::new(Conn::default()),
        }
    }

    /// The socket's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends `message` with `severity`, or says why not. Never waits for the reader.
    pub fn send(&self, severity: Severity, message: &str) -> Delivery {
        let mut datagram = Vec::with_capacity(message.len() + 64);
        let framed = self
            .formatter
            .format(&mut datagram, severity, message)
            .map_err(io::Error::other);
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let sent = framed.and_then(|()| conn.send(&self.path, &datagram));
        match (sent, conn.failing) {
            (Ok(()), false) => Delivery::Sent,
            (Ok(()), true) => {
                conn.failing = false;
                Delivery::Restored
            }
            (Err(e), false) => {
                conn.failing = true;
                Delivery::Failed(e)
            }
            (Err(_), true) => Delivery::StillFailing,
        }
    }
}

impl Conn {
    fn send(&mut self, path: &Path, datagram: &[u8]) -> io::Result<()> {
        if let Some(dgram) = &self.dgram {
            match dgram.send(datagram) {
                Ok(_) => return Ok(()),
                // Full: the reader is there but behind, and a new connection would not help.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(e),
                // The reader went away (journald restarted?): connect afresh below.
                Err(_) => self.dgram = None,
            }
        }
        let dgram = connect(path)?;
        let sent = dgram.send(datagram);
        self.dgram = Some(dgram);
        sent.map(drop)
    }
}

fn connect(path: &Path) -> io::Result<UnixDatagram> {
    let dgram = UnixDatagram::unbound()?;
    // A full socket must answer WouldBlock, not hold up the request that audits.
    dgram.set_nonblocking(true)?;
    dgram.connect(path)?;
    Ok(dgram)
}
