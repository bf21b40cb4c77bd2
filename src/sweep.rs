//! The expiry sweep: deletes expired pastes once at start, then every `cleanup_interval`
//! seconds, until shutdown. Expired pastes are already invisible; this reclaims the space,
//! and empties the WAL, which holds old copies of deleted content.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::{Store, paste};

/// Runs the sweep until `shutdown` is cancelled.
pub async fn run(store: Store, interval: Duration, dedup_window: i64, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let now = crate::clock::now();
        let purged = store
            .write(move |c| paste::purge_expired(c, now, dedup_window))
            .await;
        // Burned and deleted pastes, too, leave old copies in the WAL until it is emptied.
        checkpoint(&store).await;
        match purged {
            Ok(0) => tracing::debug!("expiry sweep: nothing expired"),
            Ok(n) => tracing::info!("expiry sweep: deleted {n} expired paste(s)"),
            Err(e) => tracing::error!("expiry sweep failed: {e}"),
        }
    }
}

/// Truncates the WAL; a failure is logged, and the next sweep tries again.
pub async fn checkpoint(store: &Store) {
    match store.checkpoint().await {
        Ok(true) => tracing::debug!("checkpoint: WAL copied and truncated"),
        Ok(false) => tracing::warn!("checkpoint: the WAL was busy; it is truncated later"),
        Err(e) => tracing::error!("checkpoint failed: {e}"),
    }
}
