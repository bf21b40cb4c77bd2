//! Anti-flood: counts creations server-wide and raises the proof-of-work difficulty of new
//! challenges by `antiflood_step` bits per `antiflood_threshold` creations in the last
//! `antiflood_window` seconds, up to `antiflood_max`. The rate is a sliding estimate over two
//! fixed windows (the previous window's count, weighted by how much of it the sliding window
//! still covers, plus the current one), so the difficulty falls back smoothly once the load
//! passes. Pure: no clock (callers pass `now`), a mutex around three numbers.

use std::sync::Mutex;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU64};

/// Two fixed windows: the current one's start and count, and the previous one's count.
#[derive(Debug, Default, Clone, Copy)]
struct Windows {
    start: i64,
    current: u64,
    previous: u64,
}

/// The server-wide creation counter and the difficulty it implies.
#[derive(Debug)]
pub struct AntiFlood {
    // Atomics: a reload changes them while creations are counted.
    base: AtomicU8,
    threshold: AtomicU64,
    window: AtomicI64,
    step: AtomicU8,
    max: AtomicU8,
    windows: Mutex<Windows>,
}

impl AntiFlood {
    /// A counter for challenges of `base` bits, raised by `step` bits per `threshold`
    /// creations in `window` seconds, up to `max` bits; off when `threshold` is 0.
    #[must_use]
    pub fn new(base: u8, threshold: u64, window: i64, step: u8, max: u8) -> AntiFlood {
        let flood = AntiFlood {
            base: AtomicU8::default(),
            threshold: AtomicU64::default(),
            window: AtomicI64::default(),
            step: AtomicU8::default(),
            max: AtomicU8::default(),
            windows: Mutex::new(Windows::default()),
        };
        flood.reconfigure(base, threshold, window, step, max);
        flood
    }

    /// New settings, as for [`AntiFlood::new`]; the creations counted so far stay.
    pub fn reconfigure(&self, base: u8, threshold: u64, window: i64, step: u8, max: u8) {
        self.base.store(base, Relaxed);
        self.threshold.store(threshold, Relaxed);
        self.window.store(window.max(1), Relaxed);
        self.step.store(step, Relaxed);
        self.max.store(max, Relaxed);
    }

    /// Counts one creation at `now`.
    pub fn record(&self, now: i64) {
        if self.threshold.load(Relaxed) == 0 {
            return;
        }
        let window = self.window.load(Relaxed);
        let mut w = self.lock();
        roll(&mut w, now, window);
        w.current += 1;
    }

    /// The difficulty of a challenge issued at `now`: the base, raised for the load.
    #[must_use]
    pub fn difficulty(&self, now: i64) -> u8 {
        let (base, threshold) = (self.base.load(Relaxed), self.threshold.load(Relaxed));
        if threshold == 0 || base == 0 {
            return base;
        }
        let window = self.window.load(Relaxed);
        let rate = {
            let mut w = self.lock();
            roll(&mut w, now, window);
            let left = window - (now - w.start).clamp(0, window);
            // The previous window's share of the sliding window that ends now.
            let carried = u128::from(w.previous) * u128::try_from(left).unwrap_or(0)
                / u128::try_from(window).unwrap_or(1);
            u64::try_from(carried).unwrap_or(u64::MAX) + w.current
        };
        // One step per threshold exceeded: (T, 2T] is one, (2T, 3T] two, and so on.
        let exceeded = rate.saturating_sub(1) / threshold;
        let raised = u64::from(base)
            .saturating_add(exceeded.saturating_mul(u64::from(self.step.load(Relaxed))))
            .min(u64::from(self.max.load(Relaxed).max(base)));
        u8::try_from(raised).unwrap_or(base)
    }

    /// The configured difficulty, before any raise.
    #[must_use]
    pub fn base(&self) -> u8 {
        self.base.load(Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Windows> {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Moves the windows on to the one holding `now`.
fn roll(w: &mut Windows, now: i64, window: i64) {
    let elapsed = now - w.start;
    if elapsed < window {
        return;
    }
    w.previous = if elapsed < 2 * window { w.current } else { 0 };
    w.current = 0;
    w.start = now - elapsed % window;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flood(base: u8, threshold: u64, step: u8, max: u8) -> AntiFlood {
        AntiFlood::new(base, threshold, 60, step, max)
    }

    #[test]
    fn difficulty_rises_a_step_per_threshold_exceeded_up_to_the_max() {
        let f = flood(20, 10, 2, 28);
        let t = 6000;
        for _ in 0..10 {
            f.record(t);
        }
        assert_eq!(f.difficulty(t), 20, "at the threshold, not over it");
        f.record(t);
        assert_eq!(f.difficulty(t), 22);
        for _ in 0..10 {
            f.record(t);
        }
        assert_eq!(f.difficulty(t), 24);
        for _ in 0..1000 {
            f.record(t);
        }
        assert_eq!(f.difficulty(t), 28, "capped");
    }

    #[test]
    fn difficulty_falls_back_as_the_load_passes() {
        let f = flood(20, 10, 2, 28);
        for _ in 0..40 {
            f.record(6000);
        }
        assert_eq!(f.difficulty(6000), 26);
        // Half a window later the previous window counts half: 20 creations, one step.
        assert_eq!(f.difficulty(6090), 22);
        assert_eq!(f.difficulty(6119), 20);
        assert_eq!(f.difficulty(6500), 20);
    }

    #[test]
    fn off_when_the_threshold_is_zero_or_pow_is_off() {
        let f = flood(20, 0, 2, 28);
        for _ in 0..100 {
            f.record(1);
        }
        assert_eq!(f.difficulty(1), 20);
        let f = flood(0, 1, 2, 28);
        for _ in 0..100 {
            f.record(1);
        }
        assert_eq!(f.difficulty(1), 0);
    }

    #[test]
    fn a_max_below_the_base_never_lowers_it() {
        let f = flood(20, 1, 2, 10);
        for _ in 0..100 {
            f.record(1);
        }
        assert_eq!(f.difficulty(1), 20);
    }
}
