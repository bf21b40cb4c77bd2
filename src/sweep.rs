//! The timers that tidy the store: the expiry sweep ([`Store::sweep`], the pass
//! `POST /admin/cleanup` runs too) deletes expired pastes and short URLs and forgets spent
//! proof-of-work nonces once at start, then every `cleanup_interval` seconds, until
//! shutdown (expired rows are already invisible; this reclaims the space, and empties the
//! WAL, which holds old copies of deleted content); and redirect counts gathered in memory
//! are written shortly after they arrive.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::api::AppState;
use crate::store::Store;

/// How long redirect counts gather before they are written: one commit carries them all.
const REDIRECT_BATCH: Duration = Duration::from_secs(1);

/// Runs the sweep until `shutdown` is cancelled.
pub async fn run(state: Arc<AppState>, interval: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let pass = crate::api::admin::sweep(&state).await;
        report_checkpoint(pass.checkpoint);
        match pass.purged.map(|s| s.pastes + s.short_urls) {
            Ok(0) => tracing::debug!("expiry sweep: nothing expired"),
            Ok(n) => tracing::info!("expiry sweep: deleted {n} expired paste(s) and short URL(s)"),
            Err(e) => tracing::error!("expiry sweep failed: {e}"),
        }
    }
}

/// Truncates the WAL; a failure is logged, and the next sweep tries again.
pub async fn checkpoint(store: &Store) {
    report_checkpoint(store.checkpoint().await);
}

fn report_checkpoint(outcome: Result<bool, crate::store::Error>) {
    match outcome {
        Ok(true) => tracing::debug!("checkpoint: WAL copied and truncated"),
        Ok(false) => tracing::warn!("checkpoint: the WAL was busy; it is truncated later"),
        Err(e) => tracing::error!("checkpoint failed: {e}"),
    }
}

/// Writes redirect counts a moment after they start to gather, until `shutdown` is
/// cancelled (the daemon writes what is left after the drain).
pub async fn write_redirects(state: Arc<AppState>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = state.redirects.wait() => {}
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(REDIRECT_BATCH) => {}
        }
        if let Err(e) = state.redirects.write(&state.store).await {
            tracing::error!("writing redirect counts: {e}");
        }
    }
}
