//! Serving, above the handlers: accept loops and connections (hyper-util's auto builder,
//! HTTP/1.1 and h2c), a cap on concurrent connections (and per client address, [`peers`]),
//! header and idle timeouts, graceful
//! drain, the idle exit of a socket-activated daemon, the write timeout on every connection
//! ([`io`]); and, in [`router`], the route table.

mod io;
mod peers;
pub mod router;
mod scrape;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_listener::{Connection, SomeSocketAddr};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::AppState;
use crate::http::peer::{Peer, Remote};
use crate::listen::Bound;
use peers::{Admission, PerAddress};

/// Time a client has to send a complete request head. HTTP/1 also counts an idle keep-alive
/// connection's wait for its next request against it, so it doubles as the idle timeout.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line and headers) accepted over HTTP/1.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Most header fields in one request: hyper's default, which it keeps on the stack. Setting
/// it explicitly, even to the same number, would allocate and fill a buffer per request.
pub const MAX_HEADERS: usize = 100;
/// HTTP/2 pings an idle connection this often and drops it when a ping goes unanswered.
const H2_KEEPALIVE: Duration = Duration::from_secs(20);

/// What a set of listeners serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The API ([`router`]).
    Api,
    /// `GET /metrics` alone (`metrics_listen`).
    Metrics,
}

/// Limits for [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once; further ones wait in the kernel's listen backlog.
    pub max_connections: usize,
    /// How long in-flight requests may take to finish once shutdown starts.
    pub shutdown_timeout: Duration,
    /// Stop after this long without any connection (socket activation only).
    pub idle_timeout: Option<Duration>,
}

struct Accepted {
    conn: Connection,
    peer: Peer,
    permit: OwnedSemaphorePermit,
    /// The connection's count against `max_connections_per_ip`, when counted.
    slot: Option<peers::Slot>,
}

/// Counts open connections and wakes the idle watcher on every change.
#[derive(Default)]
struct Activity {
    open: AtomicUsize,
    changed: Notify,
}

impl Activity {
    fn opened(&self) {
        self.open.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_one();
    }
    fn closed(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
        self.changed.notify_one();
    }
}

/// Serves `listeners` until `shutdown` is cancelled (or every listener is finished, as after
/// inetd's one connection), then drains in-flight requests for up to `shutdown_timeout`.
pub async fn serve(
    listeners: Vec<Bound>,
    state: Arc<AppState>,
    endpoint: Endpoint,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let activity = Arc::new(Activity::default());
    let tasks = TaskTracker::new();
    let per_address = PerAddress::new(
        state.config().max_connections_per_ip,
        &state.config().trusted_proxies,
        state.config().rate_ipv6_prefix,
    );
    let (conn_tx, mut conn_rx) = mpsc::channel::<Accepted>(64);
    for bound in listeners {
        tasks.spawn(accept_loop(
            bound,
            Arc::clone(&permits),
            Arc::clone(&per_address),
            conn_tx.clone(),
            shutdown.clone(),
        ));
    }
    drop(conn_tx);
    if let Some(idle) = limits.idle_timeout {
        tasks.spawn(watch_idle(Arc::clone(&activity), idle, shutdown.clone()));
    }

    let builder = builder();
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = conn_rx.recv() => match accepted {
                Some(a) => spawn_connection(&builder, &graceful, &state, endpoint, &activity, a),
                None => break,
            },
        }
    }
    shutdown.cancel();
    drop(conn_rx);
    tasks.close();
    tasks.wait().await;

    let open = activity.open.load(Ordering::SeqCst);
    if open > 0 {
        tracing::info!("draining {open} open connection(s)");
    }
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "{} connection(s) still busy after shutdown_timeout ({}s); closing them",
            activity.open.load(Ordering::SeqCst),
            limits.shutdown_timeout.as_secs()
        );
    }
}

fn builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(MAX_HEADER_BYTES).expect("16 KiB fits in u32"))
        .keep_alive_interval(H2_KEEPALIVE)
        .keep_alive_timeout(H2_KEEPALIVE);
    builder
}

/// Accepts while a connection slot is free; ends on shutdown or when an inetd listener has
/// served its one connection.
async fn accept_loop(
    mut bound: Bound,
    permits: Arc<Semaphore>,
    per_address: Arc<PerAddress>,
    tx: mpsc::Sender<Accepted>,
    shutdown: CancellationToken,
) {
    loop {
        // Take the slot first: past max_connections, clients wait in the backlog instead of
        // being accepted and starved.
        let permit = tokio::select! {
            () = shutdown.cancelled() => return,
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            a = bound.listener.accept() => a,
        };
        match accepted {
            Ok((conn, addr)) => {
                let peer = match addr {
                    SomeSocketAddr::Tcp(a) => Peer::Tcp(a),
                    SomeSocketAddr::Stdio => Peer::Stdio,
                    _ => Peer::Unix,
                };
                let slot = match per_address.admit(&peer) {
                    Admission::Exempt => None,
                    Admission::Counted(slot) => Some(slot),
                    // Closed at once: answering would spend on the client what the cap saves.
                    Admission::Refused(ip) => {
                        tracing::debug!("{ip} is at max_connections_per_ip; connection closed");
                        continue;
                    }
                };
                let accepted = Accepted {
                    conn,
                    peer,
                    permit,
                    slot,
                };
                if tx.send(accepted).await.is_err() {
                    return;
                }
            }
            // inetd: the only connection is finished.
            Err(_) if bound.inetd => return,
            Err(err) => {
                tracing::warn!("accept on {}: {err}", bound.display);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn spawn_connection(
    builder: &auto::Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
    state: &Arc<AppState>,
    endpoint: Endpoint,
    activity: &Arc<Activity>,
    accepted: Accepted,
) {
    let Accepted {
        conn,
        peer,
        permit,
        slot,
    } = accepted;
    let timeout = Some(state.config().write_timeout)
        .filter(|t| !t.is_zero())
        .map(crate::config::Seconds::duration);
    let remote = Remote::new(peer);
    let state = Arc::clone(state);
    let service = service_fn(move |req| {
        let state = Arc::clone(&state);
        let remote = remote.clone();
        async move {
            Ok::<_, Infallible>(match endpoint {
                Endpoint::Api => router::handle(&state, remote, req).await,
                Endpoint::Metrics => scrape::handle(&state, &req),
            })
        }
    });
    let conn = builder
        .serve_connection(TokioIo::new(io::WriteTimeout::new(conn, timeout)), service)
        .into_owned();
    let served = graceful.watch(conn);
    activity.opened();
    let activity = Arc::clone(activity);
    tokio::spawn(async move {
        if let Err(err) = served.await {
            tracing::debug!("connection ended with an error: {err}");
        }
        drop((permit, slot));
        activity.closed();
    });
}

/// Cancels `shutdown` once no connection has been open for `idle`.
async fn watch_idle(activity: Arc<Activity>, idle: Duration, shutdown: CancellationToken) {
    loop {
        let quiet = activity.open.load(Ordering::SeqCst) == 0;
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = activity.changed.notified() => {}
            () = tokio::time::sleep(idle), if quiet => {
                tracing::info!("no connection for {}s; exiting (idle_timeout)", idle.as_secs());
                shutdown.cancel();
                return;
            }
        }
    }
}
