//! The duplicate throttle: how often the same content (or the same short URL target) was
//! submitted in the current window, by its hash. Rows are removed by the sweep.

use rusqlite::{Connection, OptionalExtension, params};

use super::Error;

/// Counts `key` against the throttle at `now`; `Some(count)` when it is over `max` in the
/// current `window` (and is then not counted again).
///
/// # Errors
/// SQLite errors.
pub(super) fn count(
    c: &Connection,
    key: &str,
    now: i64,
    window: i64,
    max: i64,
) -> Result<Option<i64>, Error> {
    let seen: Option<(i64, i64)> = c
        .prepare_cached("SELECT window_start, count FROM content_hashes WHERE hash = ?1")?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let in_window = seen.is_some_and(|(start, _)| now - start < window);
    match seen {
        Some((_, count)) if count >= max && in_window => Ok(Some(count)),
        Some(_) if in_window => {
            c.prepare_cached("UPDATE content_hashes SET count = count + 1 WHERE hash = ?1")?
                .execute([key])?;
            Ok(None)
        }
        _ => {
            c.prepare_cached(
                "INSERT OR REPLACE INTO content_hashes (hash, window_start, count) \
                 VALUES (?1, ?2, 1)",
            )?
            .execute(params![key, now])?;
            Ok(None)
        }
    }
}
