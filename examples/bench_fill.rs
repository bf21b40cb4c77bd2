//! Builds a large database for the benchmark without the HTTP API: the daemon's own schema
//! (opened once through `flaskpaste::store::Store`, so migrations and the storage-usage
//! triggers are the real ones), then plain SQLite inserts in large transactions.
//!
//! Usage: `bench_fill PATH [PASTES]` (default 1,000,000). PATH must not exist. Every paste is
//! 1 KiB of distinct content under a fresh 12-hex id, created over the last 30 days. The first
//! 10,000 belong to the certificate fingerprint `a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2`
//! (for deep pages of `GET /pastes`), every tenth expires at the time in `$EXPIRE_AT` (Unix
//! seconds; default: far in the future, so that a benchmark can move it), the rest never
//! within the benchmark.

use std::io::Write;
use std::time::Instant;

use rusqlite::params;
use sha2::{Digest, Sha256};

/// The fingerprint the benchmark presents.
const FP: &str = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2";
/// Pastes owned by [`FP`].
const OWNED: u64 = 10_000;
/// Rows per transaction.
const BATCH: u64 = 20_000;
/// Far enough ahead not to expire during any benchmark.
const FAR: i64 = 4_000_000_000;

/// A distinct 48-bit id for `i`: multiplying by an odd constant permutes 2^48.
fn paste_id(i: u64) -> String {
    let x = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4B) & 0xFFFF_FFFF_FFFF;
    format!("{x:012x}")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = std::path::PathBuf::from(args.next().ok_or("usage: bench_fill PATH [PASTES]")?);
    let pastes: u64 = match args.next() {
        Some(n) => n.parse()?,
        None => 1_000_000,
    };
    if path.exists() {
        return Err(format!("{} exists; remove it first", path.display()).into());
    }
    let expire_at: i64 = match std::env::var("EXPIRE_AT") {
        Ok(t) => t.parse()?,
        Err(_) => FAR,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(flaskpaste::store::Store::open(&path)?.close())?;

    let started = Instant::now();
    let conn = rusqlite::Connection::open(&path)?;
    // Nobody else has the file yet: a crash here means building it again.
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -65536;")?;
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs(),
    )?;
    let mut content = vec![0u8; 1024];
    let mut i = 0;
    while i < pastes {
        conn.execute_batch("BEGIN")?;
        {
            let mut insert = conn.prepare_cached(
                "INSERT INTO pastes (id, mime_type, size, content_hash, owner, created_at, \
                 last_accessed, expires_at, content) VALUES (?1, 'application/octet-stream', \
                 1024, ?2, ?3, ?4, ?4, ?5, ?6)",
            )?;
            for i in i..(i + BATCH).min(pastes) {
                let seed = Sha256::digest(i.to_le_bytes());
                for (n, chunk) in content.chunks_mut(32).enumerate() {
                    chunk.copy_from_slice(&seed);
                    chunk[0] ^= u8::try_from(n).unwrap_or(0);
                }
                let hash = flaskpaste::ids::hex(&Sha256::digest(&content));
                let owner = (i < OWNED).then_some(FP);
                let age = i64::try_from(i % (30 * 86_400))?;
                let expires = if i % 10 == 0 { expire_at } else { FAR };
                insert.execute(params![
                    paste_id(i),
                    hash,
                    owner,
                    now - age,
                    expires,
                    content
                ])?;
            }
        }
        conn.execute_batch("COMMIT")?;
        i = (i + BATCH).min(pastes);
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let bytes = std::fs::metadata(&path)?.len();
    #[expect(clippy::cast_precision_loss, reason = "a ratio to print")]
    let per_paste = bytes as f64 / pastes.max(1) as f64;
    writeln!(
        std::io::stderr(),
        "{pastes} pastes in {:.1} s; {bytes} bytes, {per_paste:.0} per paste",
        started.elapsed().as_secs_f64()
    )?;
    Ok(())
}
