//! Proof-of-work: fetch a challenge, solve it on every core (a spinner on a terminal), and
//! hand back the two headers that prove it.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use flaskpaste::security::pow;
use http::Method;
use indicatif::{ProgressBar, ProgressStyle};

use crate::http::{Client, Headers};

/// Fetches the challenge at `path` (`/challenge`, or `/register/challenge`) and returns the
/// `X-PoW-Token` / `X-PoW-Solution` headers, none when the server asks for no work.
///
/// # Errors
/// An unreachable server or a malformed challenge.
pub fn prove(client: &Client, path: &str) -> Result<Headers> {
    let doc = client.json(Method::GET, path, &Vec::new(), None)?;
    if doc.get("enabled").and_then(serde_json::Value::as_bool) != Some(true) {
        return Ok(Vec::new());
    }
    let field = |name: &str| {
        doc.get(name)
            .with_context(|| format!("the challenge has no {name}"))
    };
    let nonce = field("nonce")?.as_str().context("bad challenge nonce")?;
    let token = field("token")?.as_str().context("bad challenge token")?;
    let difficulty = field("difficulty")?
        .as_u64()
        .and_then(|d| u8::try_from(d).ok())
        .context("bad challenge difficulty")?;
    let solution = solve(nonce, difficulty);
    Ok(vec![
        ("X-PoW-Token", token.to_owned()),
        ("X-PoW-Solution", solution.to_string()),
    ])
}

/// The smallest-found N with `difficulty` leading zero bits, searched by one thread per
/// core, each taking every k-th candidate.
#[must_use]
pub fn solve(nonce: &str, difficulty: u8) -> u64 {
    let threads = thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let step = threads as u64;
    let found = AtomicBool::new(false);
    let answer = AtomicU64::new(u64::MAX);
    let spinner = spinner(difficulty);
    thread::scope(|s| {
        for first in 0..step {
            let (found, answer) = (&found, &answer);
            s.spawn(move || {
                let mut n = first;
                while !found.load(Ordering::Relaxed) {
                    if pow::solves(nonce, n, difficulty) {
                        answer.fetch_min(n, Ordering::Relaxed);
                        found.store(true, Ordering::Relaxed);
                        break;
                    }
                    n = match n.checked_add(step) {
                        Some(next) => next,
                        None => break,
                    };
                }
            });
        }
    });
    spinner.finish_and_clear();
    answer.load(Ordering::Relaxed)
}

/// A spinner on stderr while the cores work, when stderr is a terminal.
fn spinner(difficulty: u8) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.set_message(format!("solving proof-of-work ({difficulty} bits)"));
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_solution_satisfies_the_servers_check() {
        for bits in [0, 1, 8, 14] {
            let n = solve("a1b2c3", bits);
            assert!(pow::solves("a1b2c3", n, bits), "{bits} bits: {n}");
        }
    }
}
