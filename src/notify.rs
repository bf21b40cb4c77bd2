//! Service-manager notifications: READY, STATUS, STOPPING, RELOADING, WATCHDOG (feature
//! `systemd`).
//! Every call is a no-op without `$NOTIFY_SOCKET` or without the feature.

use std::time::Duration;

#[cfg(feature = "systemd")]
fn send(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(err) = sd_notify::notify(states) {
        tracing::warn!("cannot notify the service manager: {err}");
    }
}

/// The daemon is ready to serve; `status` is a one-line description.
pub fn ready(status: &str) {
    #[cfg(feature = "systemd")]
    send(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(status),
    ]);
    #[cfg(not(feature = "systemd"))]
    let _ = status;
}

/// The daemon is shutting down.
pub fn stopping(status: &str) {
    #[cfg(feature = "systemd")]
    send(&[
        sd_notify::NotifyState::Stopping,
        sd_notify::NotifyState::Status(status),
    ]);
    #[cfg(not(feature = "systemd"))]
    let _ = status;
}

/// The daemon is reloading its configuration; [`ready`] follows when it is done.
pub fn reloading() {
    #[cfg(feature = "systemd")]
    match sd_notify::NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[
            sd_notify::NotifyState::Reloading,
            now,
            sd_notify::NotifyState::Status("reloading the configuration"),
        ]),
        Err(err) => tracing::warn!("cannot read the monotonic clock: {err}"),
    }
}

/// Tells the watchdog the daemon is alive.
pub fn watchdog() {
    #[cfg(feature = "systemd")]
    send(&[sd_notify::NotifyState::Watchdog]);
}

/// How often to ping the watchdog: half of `$WATCHDOG_USEC`, when set for this process.
#[must_use]
pub fn watchdog_interval() -> Option<Duration> {
    #[cfg(feature = "systemd")]
    return sd_notify::watchdog_enabled()
        .filter(|d| !d.is_zero())
        .map(|d| d / 2);
    #[cfg(not(feature = "systemd"))]
    None
}
