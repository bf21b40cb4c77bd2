//! The daemon's life, in order: load config → bind → open store → drop privileges → READY →
//! serve → drain → close store → unlink our sockets; or, for `admin`, load config → run the
//! admin action. Owns signals and the exit code.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::AppState;
use crate::cli::{Cli, Command};
use crate::config::{self, Config};
use crate::listen::{self, Listeners};
use crate::metrics::Metrics;
use crate::serve::{self as server, Endpoint, Limits};
use crate::store::Store;
use crate::{admin, logging, notify, privdrop};

/// Scrapers served at once on the metrics listeners.
const METRICS_CONNECTIONS: usize = 16;
/// How often the daemon looks for commits made by another process (`flaskpaste admin`).
const EXTERNAL_WRITES_PERIOD: Duration = Duration::from_secs(1);

/// Why the daemon could not start (or ran into a fatal error); each maps to a sysexits code.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// EX_USAGE (64).
    #[error("{0}")]
    Usage(String),
    /// EX_CONFIG (78).
    #[error("configuration: {0}")]
    Config(String),
    /// EX_CANTCREAT (73): the database or a socket.
    #[error("{0}")]
    CantCreate(String),
    /// EX_NOPERM (77): privileges could not be dropped.
    #[error("{0}")]
    Privileges(String),
    /// Anything else (1).
    #[error("{0}")]
    Other(String),
}

impl StartupError {
    /// The sysexits code of this failure.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            StartupError::Usage(_) => 64,
            StartupError::Config(_) => 78,
            StartupError::CantCreate(_) => 73,
            StartupError::Privileges(_) => 77,
            StartupError::Other(_) => 1,
        }
    }
}

/// Logs a fatal error where the operator will look: the configured log when it is up,
/// stderr otherwise.
pub fn report(err: &StartupError) {
    if tracing::dispatcher::has_been_set() {
        tracing::error!("{err}");
    } else {
        let _ = writeln!(std::io::stderr(), "flaskpaste: {err}");
    }
}

/// Runs the daemon to completion.
///
/// # Errors
/// A [`StartupError`] carrying its exit code; it has not been logged yet.
pub fn run(cli: Cli) -> Result<(), StartupError> {
    if cli.version {
        return print(&version_text());
    }
    let loaded = config::load(&cli).map_err(|e| {
        let err = StartupError::Config(e.to_string());
        if let Some(Command::Admin(args)) = &cli.command
            && args.json
        {
            // The exit code and stderr still tell if stdout cannot be written.
            let _ = admin::output::print_error_message(&err.to_string());
        }
        err
    })?;
    let config = loaded.config;
    if let Some(Command::Admin(args)) = &cli.command {
        for warning in &loaded.warnings {
            let _ = writeln!(std::io::stderr(), "flaskpaste: warning: {warning}");
        }
        // Before logging, binding or dropping anything: a tool run beside the daemon.
        return admin::run(args, &config).map_err(|e| match e {
            admin::Error::Usage(text) => StartupError::Usage(text),
            admin::Error::Open(text) => StartupError::CantCreate(text),
            other @ (admin::Error::Check(_) | admin::Error::Failed(_)) => {
                StartupError::Other(other.to_string())
            }
        });
    }
    let target = privdrop::resolve(config.user.as_deref(), config.group.as_deref())
        .map_err(|e| StartupError::Config(e.to_string()))?;
    if cli.check_config {
        let text =
            config::to_redacted_toml(&config).map_err(|e| StartupError::Other(e.to_string()))?;
        return print(&text);
    }
    logging::init(&config).map_err(|e| match e {
        logging::Error::NoSyslog => StartupError::Config(e.to_string()),
        _ => StartupError::Other(e.to_string()),
    })?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| StartupError::Other(format!("cannot start the runtime: {e}")))?;
    let result = runtime.block_on(lifecycle(cli, Arc::new(config), target));
    // Everything that matters has finished; a blocking read of stdin (inetd mode) never
    // would, and must not keep the process alive.
    runtime.shutdown_background();
    result
}

fn print(text: &str) -> Result<(), StartupError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| StartupError::Other(format!("cannot write to stdout: {e}")))
}

/// The cargo features of this build, space-separated, or `(none)`.
fn features() -> String {
    let features: Vec<&str> = [
        ("systemd", cfg!(feature = "systemd")),
        ("syslog", cfg!(feature = "syslog")),
        ("pki", cfg!(feature = "pki")),
        ("client", cfg!(feature = "client")),
    ]
    .iter()
    .filter_map(|(name, on)| on.then_some(*name))
    .collect();
    if features.is_empty() {
        "(none)".to_owned()
    } else {
        features.join(" ")
    }
}

fn version_text() -> String {
    format!(
        "flaskpaste {}\nfeatures: {}\nconfig: {}\ndb: {}\nclient: {}\n",
        env!("CARGO_PKG_VERSION"),
        features(),
        config::DEFAULT_CONFIG_PATH,
        config::DEFAULT_DB_PATH,
        config::default_client_path().display(),
    )
}

async fn lifecycle(
    cli: Cli,
    config: Arc<Config>,
    target: Option<privdrop::Target>,
) -> Result<(), StartupError> {
    // Before READY: a SIGTERM that arrives right after must drain, not kill.
    let signals = Signals::install()?;
    let listeners = listen::bind_all(&config.listen, &config.metrics_listen, config.socket_mode.0)
        .await
        .map_err(|e| StartupError::CantCreate(e.to_string()))?;
    // Opened right here: this future runs on the thread in `block_on`, not on a worker,
    // and nothing is served yet. A blocking-pool thread would stay around idle afterwards,
    // with a malloc arena of its own (about 0.25 MiB of idle RSS).
    let store = match Store::open(&config.db) {
        Ok(store) => store,
        Err(e) => {
            cleanup_sockets(&listeners);
            return Err(StartupError::CantCreate(format!(
                "cannot open database {}: {e}",
                config.db.display()
            )));
        }
    };
    if let Some(target) = &target {
        let dropped = privdrop::hand_over(&listeners.created, &store.files(), target)
            .and_then(|()| privdrop::drop_to(target));
        if let Err(e) = dropped {
            close_store(&store).await;
            cleanup_sockets(&listeners);
            return Err(StartupError::Privileges(e.to_string()));
        }
        tracing::info!("running as {}", target.describe());
    }
    let metrics = if config.metrics_listen.is_empty() {
        Metrics::disabled()
    } else {
        Metrics::new(&features())
    };
    let state = match AppState::new(Arc::clone(&config), store.clone(), metrics).await {
        Ok(state) => Arc::new(state),
        Err(e) => {
            close_store(&store).await;
            cleanup_sockets(&listeners);
            return Err(StartupError::CantCreate(format!(
                "cannot read or store the challenge-signing key in {}: {e}",
                config.db.display()
            )));
        }
    };
    let Listeners {
        bound,
        metrics: metrics_bound,
        created,
    } = listeners;
    warn_of_open_identity(&config, &bound);
    if config.pki_enabled && !cfg!(feature = "pki") {
        tracing::warn!("pki_enabled is set, but this build has no PKI (feature pki): not served");
    }
    let addresses: Vec<String> = bound.iter().map(|b| b.display.clone()).collect();
    for address in &addresses {
        tracing::info!("listening on {address}");
    }
    for bound in &metrics_bound {
        tracing::info!("serving metrics on {}", bound.display);
    }
    let limits = Limits {
        max_connections: config.max_connections,
        shutdown_timeout: config.shutdown_timeout.duration(),
        idle_timeout: (!config.idle_timeout.is_zero() && bound.iter().any(|b| b.inherited))
            .then(|| config.idle_timeout.duration()),
    };
    let status = format!("serving on {}", addresses.join(", "));
    notify::ready(&status);

    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    let reloaded = Arc::clone(&state);
    tasks.spawn(signals.wait(shutdown.clone(), move || {
        reload(&cli, &reloaded, &status);
    }));
    tasks.spawn(announce_stop(shutdown.clone()));
    if let Some(interval) = notify::watchdog_interval() {
        tasks.spawn(ping_watchdog(interval, shutdown.clone()));
    }
    if !metrics_bound.is_empty() {
        tasks.spawn(server::serve(
            metrics_bound,
            Arc::clone(&state),
            Endpoint::Metrics,
            Limits {
                max_connections: METRICS_CONNECTIONS,
                shutdown_timeout: limits.shutdown_timeout,
                idle_timeout: None,
            },
            shutdown.clone(),
        ));
    }
    tasks.spawn(crate::sweep::run(
        Arc::clone(&state),
        config.cleanup_interval.duration(),
        shutdown.clone(),
    ));
    tasks.spawn(prune_rate_windows(
        Arc::clone(&state),
        config.rate_window.duration(),
        shutdown.clone(),
    ));
    tasks.spawn(notice_external_writes(Arc::clone(&state), shutdown.clone()));
    tasks.spawn(crate::sweep::write_redirects(
        Arc::clone(&state),
        shutdown.clone(),
    ));
    server::serve(
        bound,
        Arc::clone(&state),
        Endpoint::Api,
        limits,
        shutdown.clone(),
    )
    .await;
    shutdown.cancel();
    tasks.close();
    tasks.wait().await;

    // Redirects counted in memory are written before the store closes.
    if let Err(e) = state.redirects.write(&store).await {
        tracing::error!("writing redirect counts: {e}");
    }

    // Deleted content must not outlive a clean stop in the WAL.
    crate::sweep::checkpoint(&store).await;
    close_store(&store).await;
    cleanup_sockets(&Listeners {
        created,
        ..Listeners::default()
    });
    tracing::info!("stopped");
    Ok(())
}

/// Without a proxy secret or trusted proxies, only local peers may vouch for a client
/// certificate; an operator listening beyond this host should know that nobody else will.
fn warn_of_open_identity(config: &Config, bound: &[listen::Bound]) {
    if config.proxy_secret.is_some() || !config.trusted_proxies.is_empty() {
        return;
    }
    for addr in bound.iter().filter_map(listen::Bound::tcp_address) {
        if !addr.ip().to_canonical().is_loopback() {
            tracing::warn!(
                "{addr} is not a loopback address, and neither proxy_secret nor trusted_proxies \
                 is set: X-SSL-Client-SHA1 is ignored from non-local peers (they are anonymous)"
            );
        }
    }
}

async fn close_store(store: &Store) {
    if let Err(e) = store.close().await {
        tracing::error!("closing the database: {e}");
    }
}

fn cleanup_sockets(listeners: &Listeners) {
    for (path, err) in listeners.unlink_created() {
        tracing::warn!("cannot remove socket {}: {err}", path.display());
    }
}

/// Re-reads the configuration file and the environment, and puts the new configuration in
/// force for new requests; restart-only keys keep their running values, with a warning
/// that names them. A configuration that does not load or validate changes nothing.
fn reload(cli: &Cli, state: &AppState, status: &str) {
    notify::reloading();
    tracing::info!("SIGHUP received; reloading the configuration");
    match config::load(cli) {
        Err(e) => {
            tracing::error!("configuration not reloaded; the running one stays: {e}");
        }
        Ok(loaded) => {
            for warning in &loaded.warnings {
                tracing::warn!("{warning}");
            }
            let running = state.config();
            let mut new = config::reload(&running, loaded.config);
            if !new.kept.is_empty() {
                tracing::warn!(
                    "not applied until a restart: {} (the running values stay)",
                    new.kept.join(", ")
                );
            }
            // Said before a new log level can silence it.
            if new.applied.is_empty() {
                tracing::info!("configuration reloaded; nothing else changed");
            } else {
                tracing::info!(
                    "configuration reloaded; now in force: {}",
                    new.applied.join(", ")
                );
            }
            if let Err(e) = logging::reconfigure(&new.config) {
                tracing::error!("log format not changed: {e}");
                new.config.log_format = running.log_format;
            }
            state.reconfigure(Arc::new(new.config));
        }
    }
    notify::ready(status);
}

/// SIGTERM and SIGINT start a drain; SIGHUP reloads the configuration.
struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    fn install() -> Result<Signals, StartupError> {
        let install = |kind| {
            signal(kind)
                .map_err(|e| StartupError::Other(format!("cannot install signal handler: {e}")))
        };
        Ok(Signals {
            term: install(SignalKind::terminate())?,
            int: install(SignalKind::interrupt())?,
            hup: install(SignalKind::hangup())?,
        })
    }

    async fn wait(mut self, shutdown: CancellationToken, on_hangup: impl Fn()) {
        loop {
            let name = tokio::select! {
                () = shutdown.cancelled() => return,
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
                _ = self.hup.recv() => {
                    on_hangup();
                    continue;
                }
            };
            tracing::info!("{name} received; draining");
            shutdown.cancel();
            return;
        }
    }
}

/// Drops ended rate-limit windows every `period`, so a request never pays for a scan.
async fn prune_rate_windows(state: Arc<AppState>, period: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => state.limiter.prune(crate::clock::now()),
        }
    }
}

/// Every [`EXTERNAL_WRITES_PERIOD`], asks the store whether another process (`flaskpaste
/// admin`) committed; if so, the store has already ended its snapshots and cached pastes,
/// and the trust cache is dropped here, so a deleted paste or a revoked certificate stops
/// counting within a period.
async fn notice_external_writes(state: Arc<AppState>, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(EXTERNAL_WRITES_PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => match state.store.notice_external_writes().await {
                Ok(changed) => {
                    if changed {
                        state.standings.forget();
                    }
                    failing = false;
                }
                // Once per run of failures: the health check reports a broken store.
                Err(e) if !failing => {
                    tracing::warn!("checking for writes by other processes: {e}");
                    failing = true;
                }
                Err(_) => {}
            },
        }
    }
}

async fn announce_stop(shutdown: CancellationToken) {
    shutdown.cancelled().await;
    notify::stopping("draining connections");
}

async fn ping_watchdog(interval: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => notify::watchdog(),
        }
    }
}
