//! Binds listen addresses: expands `sd-listen` to every inherited socket, applies
//! `socket_mode` to Unix sockets right after bind, remembers the socket files *we* created
//! (inherited ones are never touched) and reports the real bound address. Never reads config.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{Mode, umask};
use tokio_listener::{Listener, ListenerAddress, SystemOptions, UserOptions};

/// First file descriptor systemd passes (sd_listen_fds(3)).
const SD_LISTEN_FDS_START: i32 = 3;

/// One bound listener and what is known about it.
#[derive(Debug)]
pub struct Bound {
    /// The accepting socket.
    pub listener: Listener,
    /// The real bound address, for "listening on".
    pub display: String,
    /// Passed in by systemd (socket activation), not bound by us.
    pub inherited: bool,
    /// inetd mode: one connection on stdin/stdout.
    pub inetd: bool,
}

impl Bound {
    /// The bound TCP address, for a TCP listener.
    #[must_use]
    pub fn tcp_address(&self) -> Option<std::net::SocketAddr> {
        self.listener
            .try_borrow_tcp_listener()
            .and_then(|t| t.local_addr().ok())
    }
}

/// Every listener of the daemon and the socket files to remove at exit.
#[derive(Debug, Default)]
pub struct Listeners {
    pub bound: Vec<Bound>,
    /// The listeners of `metrics_listen`, which serve `GET /metrics` only.
    pub metrics: Vec<Bound>,
    /// Unix socket files this process created.
    pub created: Vec<PathBuf>,
}

impl Listeners {
    /// True when any listener came from socket activation.
    #[must_use]
    pub fn socket_activated(&self) -> bool {
        self.bound.iter().any(|b| b.inherited)
    }

    /// Removes the socket files we created; inherited sockets are left alone.
    pub fn unlink_created(&self) -> Vec<(PathBuf, std::io::Error)> {
        self.created
            .iter()
            .filter_map(|p| std::fs::remove_file(p).err().map(|e| (p.clone(), e)))
            .collect()
    }
}

/// Why a listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Binding (or adopting) an address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    /// `sd-listen` was asked for but systemd passed nothing usable to this process.
    #[error("{0}")]
    SdListen(String),
}

/// Binds the metrics addresses, then the API's, each in order. An inherited socket the
/// metrics take by name is left out of a bare `sd-listen` of the API. On failure, sockets
/// created so far are removed again.
///
/// # Errors
/// The first address that cannot be bound, or an unusable socket-activation environment.
pub async fn bind_all(
    addrs: &[ListenerAddress],
    metrics: &[ListenerAddress],
    socket_mode: u32,
) -> Result<Listeners, Error> {
    let mut out = Listeners::default();
    let mut fds_taken = Vec::new();
    let mut result = bind_into(&mut out, metrics, socket_mode, &mut fds_taken).await;
    out.metrics = std::mem::take(&mut out.bound);
    if result.is_ok() {
        result = bind_into(&mut out, addrs, socket_mode, &mut fds_taken).await;
    }
    if result.is_err() {
        out.unlink_created();
    }
    result.map(|()| out)
}

async fn bind_into(
    out: &mut Listeners,
    addrs: &[ListenerAddress],
    socket_mode: u32,
    fds_taken: &mut Vec<i32>,
) -> Result<(), Error> {
    let mut sys = SystemOptions::default();
    sys.nodelay = true;
    sys.sleep_on_errors = true; // EMFILE and friends: back off instead of spinning
    let usr = UserOptions::default();
    for addr in expand(addrs)? {
        if let ListenerAddress::FromFd(fd) = addr {
            // Adopting one descriptor twice would close it twice.
            if fds_taken.contains(&fd) {
                continue;
            }
            fds_taken.push(fd);
        }
        let bind_err = |source| Error::Bind {
            addr: addr.to_string(),
            source,
        };
        let listener = match &addr {
            ListenerAddress::Path(path) => {
                // The socket is created with its final mode: under the umask's mode there
                // would be a moment in which others may connect (or nobody may).
                let mask = Mode::from_bits_truncate(0o777 & !socket_mode);
                let old_mask = umask(mask);
                let bound = bind_unix_path(&addr, path, &sys, &usr).await;
                umask(old_mask);
                let l = bound.map_err(bind_err)?;
                out.created.push(path.clone());
                // chmod right after bind: the umask must not decide who may connect.
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(socket_mode))
                    .map_err(bind_err)?;
                l
            }
            _ => Listener::bind(&addr, &sys, &usr).await.map_err(bind_err)?,
        };
        let display = describe(&addr, &listener);
        out.bound.push(Bound {
            listener,
            display,
            inherited: matches!(addr, ListenerAddress::FromFd(_)),
            inetd: matches!(addr, ListenerAddress::Inetd),
        });
    }
    Ok(())
}

/// Binds a Unix socket path, replacing a stale socket file that nobody listens on any more.
async fn bind_unix_path(
    addr: &ListenerAddress,
    path: &Path,
    sys: &SystemOptions,
    usr: &UserOptions,
) -> std::io::Result<Listener> {
    match Listener::bind(addr, sys, usr).await {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && is_stale_socket(path) => {
            std::fs::remove_file(path)?;
            Listener::bind(addr, sys, usr).await
        }
        other => other,
    }
}

/// A socket file left behind by a process that is gone: connecting is refused.
fn is_stale_socket(path: &Path) -> bool {
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    is_socket
        && std::os::unix::net::UnixStream::connect(path)
            .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
}

/// Turns `sd-listen` into one address per inherited descriptor and `sd-listen:NAME` into
/// the descriptor systemd named so.
fn expand(addrs: &[ListenerAddress]) -> Result<Vec<ListenerAddress>, Error> {
    let mut out = Vec::with_capacity(addrs.len());
    for addr in addrs {
        match addr {
            ListenerAddress::FromFd(_) => {
                let count = listen_fds()?;
                out.extend((0..count).map(|i| ListenerAddress::FromFd(SD_LISTEN_FDS_START + i)));
            }
            ListenerAddress::FromFdNamed(name) => {
                let count = listen_fds()?;
                let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
                let index = names
                    .split(':')
                    .take(usize::try_from(count).unwrap_or(0))
                    .position(|n| n == name)
                    .ok_or_else(|| {
                        Error::SdListen(format!(
                            "sd-listen:{name}: no inherited socket has that name \
                             (LISTEN_FDNAMES={names:?})"
                        ))
                    })?;
                let index = i32::try_from(index).expect("index is below LISTEN_FDS, an i32");
                out.push(ListenerAddress::FromFd(SD_LISTEN_FDS_START + index));
            }
            other => out.push(other.clone()),
        }
    }
    Ok(out)
}

/// The number of sockets systemd passed to *this* process.
fn listen_fds() -> Result<i32, Error> {
    let pid_ok = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<i32>().ok())
        .filter(|n| (1..=4096).contains(n));
    match (pid_ok, count) {
        (true, Some(n)) => Ok(n),
        _ => Err(Error::SdListen(
            "sd-listen: no sockets were passed to this process (LISTEN_PID/LISTEN_FDS)".into(),
        )),
    }
}

/// The real address of a bound listener, as an operator would type it.
fn describe(addr: &ListenerAddress, listener: &Listener) -> String {
    match addr {
        ListenerAddress::Inetd => "inetd (stdin/stdout)".to_owned(),
        ListenerAddress::Path(_) | ListenerAddress::Abstract(_) => addr.to_string(),
        ListenerAddress::FromFd(fd) => {
            let real = listener
                .try_borrow_unix_listener()
                .and_then(|u| u.local_addr().ok())
                .map(|a| match a.as_pathname() {
                    Some(p) => p.display().to_string(),
                    None => format!("{a:?}"),
                })
                .or_else(|| {
                    listener
                        .try_borrow_tcp_listener()
                        .and_then(|t| t.local_addr().ok())
                        .map(|a| a.to_string())
                })
                .unwrap_or_else(|| "?".to_owned());
            format!("{real} (sd-listen fd {fd})")
        }
        _ => listener
            .try_borrow_tcp_listener()
            .and_then(|t| t.local_addr().ok())
            .map_or_else(|| addr.to_string(), |a| a.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tcp_port_zero_reports_the_real_port() {
        let ls = bind_all(&["127.0.0.1:0".parse().unwrap()], &[], 0o660)
            .await
            .unwrap();
        assert!(
            !ls.bound[0].display.ends_with(":0"),
            "{}",
            ls.bound[0].display
        );
    }

    #[tokio::test]
    async fn unix_socket_gets_socket_mode_and_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fp.sock");
        let addr = ListenerAddress::Path(path.clone());
        let ls = bind_all(&[addr], &[], 0o600).await.unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(ls.created, vec![path.clone()]);
        assert!(ls.unlink_created().is_empty());
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn stale_socket_file_is_replaced_but_live_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fp.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let addr = ListenerAddress::Path(path.clone());
        let live = bind_all(std::slice::from_ref(&addr), &[], 0o660)
            .await
            .unwrap();
        let err = bind_all(&[addr], &[], 0o660).await.unwrap_err();
        assert!(err.to_string().contains("fp.sock"), "{err}");
        drop(live);
    }

    #[tokio::test]
    async fn failed_bind_removes_sockets_created_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.sock");
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addrs = [
            ListenerAddress::Path(path.clone()),
            ListenerAddress::Tcp(taken.local_addr().unwrap()),
        ];
        assert!(bind_all(&addrs, &[], 0o660).await.is_err());
        assert!(!path.exists());
    }

    #[test]
    fn sd_listen_without_environment_is_an_error() {
        // The test harness is never socket-activated.
        assert!(expand(&["sd-listen".parse().unwrap()]).is_err());
    }
}
