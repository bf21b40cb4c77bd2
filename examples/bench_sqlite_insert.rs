//! Benchmark reference: raw rusqlite inserts of 1 KiB rows in WAL mode with
//! `synchronous=FULL`, one row per transaction and 64 rows per transaction.
//!
//! Usage: `bench_sqlite_insert DIR SECONDS` — prints `single ROWS_PER_S` and `batch64 ROWS_PER_S`.

use std::io::Write;
use std::time::{Duration, Instant};

fn run(dir: &std::path::Path, name: &str, per_tx: usize, span: Duration) -> rusqlite::Result<f64> {
    let path = dir.join(format!("{name}.db"));
    let _ = std::fs::remove_file(&path);
    let mut conn = rusqlite::Connection::open(&path)?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    conn.execute_batch(
        "PRAGMA synchronous = FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL);",
    )?;
    let row = vec![b'x'; 1024];
    let start = Instant::now();
    let mut rows = 0usize;
    while start.elapsed() < span {
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare_cached("INSERT INTO t (v) VALUES (?1)")?;
            for _ in 0..per_tx {
                st.execute([&row])?;
            }
        }
        tx.commit()?;
        rows += per_tx;
    }
    #[expect(clippy::cast_precision_loss, reason = "a rate to print")]
    let rate = rows as f64 / start.elapsed().as_secs_f64();
    Ok(rate)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let single = run(&dir, "single", 1, Duration::from_secs(secs))?;
    let batch = run(&dir, "batch64", 64, Duration::from_secs(secs))?;
    let mut out = std::io::stderr();
    writeln!(out, "single {single:.0}")?;
    writeln!(out, "batch64 {batch:.0}")?;
    Ok(())
}
