//! The SQLite store: opening with PRAGMAs and migrations, a pool of read-only connections
//! (lookups on the calling thread, scans on the blocking pool) that keep their snapshot until
//! the next commit (ours, or one another process made, once noticed), and one writer thread
//! that group-commits. The only module that imports rusqlite; it returns domain values,
//! never HTTP types.

pub mod backup;
pub mod cache;
mod checkpointer;
mod dedup;
pub mod paste;
pub mod pki;
pub mod pow;
pub mod schema;
pub mod short;
pub mod stats;
pub mod sweep;
pub mod usage;

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Every connection opens its database path without following a symbolic link.
const NOFOLLOW: OpenFlags = OpenFlags::SQLITE_OPEN_NOFOLLOW;
/// Read-only connections; reads beyond this many wait for one.
const READERS: usize = 4;
/// Jobs queued for the writer before senders wait.
const WRITE_QUEUE: usize = 1024;
/// Most jobs that share one commit.
const MAX_BATCH: usize = 256;
/// How long a connection waits on a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements kept per connection: every statement the store runs, with room.
const STATEMENT_CACHE: usize = 64;
/// The writer's page cache, KiB: at a million pastes it keeps the upper levels of the
/// indexes every creation descends (SQLite's default of 2 MiB did not).
const WRITER_CACHE_KIB: i64 = 16 * 1024;
/// The writer's page cache while large content passes through it (SQLite's default): its
/// pages are written once and not read again, and the writer's memory would otherwise
/// grow by the whole cache on the first large upload.
const LARGE_WRITE_CACHE_KIB: i64 = 2 * 1024;

/// Sizes in bytes of the store's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSizes {
    /// The database file.
    pub database: u64,
    /// The write-ahead log beside it; 0 when there is none.
    pub wal: u64,
}

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database file or its directory could not be created or prepared.
    #[error("cannot prepare {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The database was written by a newer build.
    #[error("database schema version {found} is newer than this build knows ({known})")]
    TooNew { found: u32, known: u32 },
    /// The store is closed, or its writer thread is gone.
    #[error("the store is closed")]
    Closed,
    /// A blocking task could not be run to completion.
    #[error("store task failed: {0}")]
    Join(String),
    /// The database refused write-ahead logging.
    #[error("journal_mode is {0}; WAL is required")]
    NotWal(String),
    /// The transaction carrying a write could not begin or commit.
    #[error("transaction failed: {0}")]
    Batch(String),
    /// The content being read changed or went away in the middle.
    #[error("the paste changed while it was being read")]
    Changed,
    /// The file at the database path is no longer the one the store opened.
    #[error("database file {0} was removed or replaced")]
    Replaced(PathBuf),
    /// Every fresh id tried was taken.
    #[error("no free id after {0} tries")]
    NoFreeId(usize),
}

/// Why a paste or short URL was not created although nothing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The same content (or URL) was submitted `count` times in the current window.
    Duplicate { count: i64 },
    /// The id is taken; try another.
    IdTaken,
    /// The proof-of-work nonce was spent by an earlier creation.
    Spent,
    /// The content would take the stored bytes above a quota.
    Quota(usage::Exceeded),
}

/// Fresh ids tried before giving up: a random id collides about never, a few tries make
/// it never in practice.
const FRESH_ID_TRIES: usize = 4;

/// Runs `insert` with ids from `fresh` until one is not taken; returns the id it used.
///
/// # Errors
/// [`Error::NoFreeId`] when every id tried was taken, and `insert`'s errors.
pub fn insert_fresh(
    c: &Connection,
    mut fresh: impl FnMut() -> String,
    mut insert: impl FnMut(&Connection, &str) -> Result<Result<(), Refusal>, Error>,
) -> Result<Result<String, Refusal>, Error> {
    for _ in 0..FRESH_ID_TRIES {
        let id = fresh();
        match insert(c, &id)? {
            Ok(()) => return Ok(Ok(id)),
            Err(Refusal::IdTaken) => {}
            Err(other) => return Ok(Err(other)),
        }
    }
    Err(Error::NoFreeId(FRESH_ID_TRIES))
}

/// Outcome of one job inside a batch: whether it succeeded, and how to tell its caller once
/// the batch's commit is known.
type Finish = Box<dyn FnOnce(Result<(), Error>) + Send>;
/// A write job. It is handed the connection, or the reason its batch cannot run.
type Job = Box<dyn FnOnce(Result<&Connection, Error>) -> (bool, Finish) + Send>;
/// The answer to a probe for commits made by other connections.
type Probe = oneshot::Sender<Result<bool, Error>>;

/// What the writer thread is asked to do.
enum Message {
    /// Run a write job in the next batch.
    Write(Job),
    /// Say whether another connection committed since the last probe.
    Probe(Probe),
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// (device, inode) of the database file when opened.
    file_id: (u64, u64),
    writer: Mutex<Option<mpsc::Sender<Message>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Reader>>,
    reader_permits: Semaphore,
    /// Commits made by the writer, plus one for each time commits by another connection
    /// were noticed; a reader's snapshot is current while this is unchanged.
    commits: AtomicU64,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, migrates it and starts the writer.
    ///
    /// # Errors
    /// The directory or file cannot be created or opened, or migration fails.
    pub fn open(path: &Path) -> Result<Store, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o750)
                .create(dir)
                .map_err(|source| Error::File {
                    path: dir.to_owned(),
                    source,
                })?;
        }
        refuse_links(path)?;
        let build = build_path(path);
        if std::fs::symlink_metadata(path).is_ok() {
            // Left by a crash between moving a new database into place and tidying up.
            remove_build(&build);
        } else {
            create(path, &build)?;
        }
        let mut conn = Connection::open_with_flags(path, OpenFlags::default() | NOFOLLOW)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        enable_wal(&conn)?;
        // FULL: a commit is on disk before the writer replies, so an acknowledged write
        // survives a crash of the process or the machine.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        // Deleted means gone: freed pages are overwritten, large pastes' overflow pages too
        // (FAST would leave those behind).
        conn.execute_batch("PRAGMA secure_delete = ON;")?;
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        schema::migrate(&mut conn)?;
        let version = data_version(&conn)?;
        // Opened now, before privileges are dropped: the directory may not let the new
        // user in.
        let readers = (0..READERS)
            .map(|_| Reader::open(path))
            .collect::<Result<Vec<_>, _>>()?;
        let due = checkpointer::Due::hook(&mut conn)?;
        let meta = std::fs::metadata(path).map_err(|e| Error::File {
            path: path.to_owned(),
            source: e,
        })?;
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let inner = Arc::new(Inner {
            path: path.to_owned(),
            file_id: (meta.dev(), meta.ino()),
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(None),
            readers: Mutex::new(readers),
            reader_permits: Semaphore::new(READERS),
            commits: AtomicU64::new(0),
        });
        let shared = Arc::clone(&inner);
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(&conn, &due, version, rx, &shared))
            .map_err(|e| Error::Join(e.to_string()))?;
        *lock(&inner.writer_thread) = Some(thread);
        Ok(Store { inner })
    }

    /// Runs `f` on a read-only connection on the blocking pool: for reads whose cost grows
    /// with the data (listings, counts). Never waits for writes. Everything `f` reads comes
    /// from one snapshot that includes every write acknowledged before the call.
    ///
    /// # Errors
    /// Whatever `f` returns, or [`Error::Closed`].
    pub async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .inner
            .reader_permits
            .acquire()
            .await
            .map_err(|_| Error::Closed)?;
        let inner = Arc::clone(&self.inner);
        let result = tokio::task::spawn_blocking(move || inner.with_reader(f))
            .await
            .map_err(|e| Error::Join(e.to_string()))?;
        drop(permit);
        result
    }

    /// Runs a read of bounded cost (a lookup by key, one chunk of content) right here on the
    /// calling thread, when a reader is free; otherwise as [`Store::read`].
    ///
    /// In WAL mode a reader never waits for the writer, and a lookup in the page cache takes
    /// a few microseconds: less than handing it to another thread and back.
    ///
    /// # Errors
    /// Whatever `f` returns, or [`Error::Closed`].
    pub async fn lookup<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        match self.lookup_now(f) {
            Ok(result) => result,
            Err(f) => self.read(f).await,
        }
    }

    /// [`Store::lookup`] without the fallback: gives `f` back when no reader is free.
    ///
    /// # Errors
    /// `Err(f)` when every reader is busy.
    pub fn lookup_now<T, F>(&self, f: F) -> Result<Result<T, Error>, F>
    where
        F: FnOnce(&Connection) -> Result<T, Error>,
    {
        match self.inner.reader_permits.try_acquire() {
            Ok(_permit) => Ok(self.inner.with_reader(f)),
            Err(tokio::sync::TryAcquireError::Closed) => Ok(Err(Error::Closed)),
            Err(tokio::sync::TryAcquireError::NoPermits) => Err(f),
        }
    }

    /// Runs `f` on the writer connection inside its own savepoint, and replies only after the
    /// transaction holding it has committed: an `Ok` is durable.
    ///
    /// # Errors
    /// Whatever `f` returns (its changes are rolled back alone), a failed commit, or
    /// [`Error::Closed`].
    pub async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = conn.and_then(f);
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |commit| {
                // The caller may have gone away; the outcome stands either way.
                let _ = reply.send(commit.and(result));
            });
            (ok, finish)
        });
        let sender = lock(&self.inner.writer).clone().ok_or(Error::Closed)?;
        sender
            .send(Message::Write(job))
            .await
            .map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }

    /// Asks whether another connection (`flaskpaste admin`, another process) committed since
    /// the last call; if so, counts that as a commit, so that readers drop their snapshots
    /// and everything cached by [`Store::commits`] is read again. `Ok(true)` when it did.
    ///
    /// The writer's own `PRAGMA data_version` answers: it changes with every commit made by
    /// another connection and never with the writer's own, so local writes cost nothing
    /// here. The check runs on the writer thread between batches.
    ///
    /// # Errors
    /// The pragma failed, or [`Error::Closed`].
    pub async fn notice_external_writes(&self) -> Result<bool, Error> {
        let (reply, answer) = oneshot::channel();
        let sender = lock(&self.inner.writer).clone().ok_or(Error::Closed)?;
        sender
            .send(Message::Probe(reply))
            .await
            .map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }

    /// Checks that the database answers a query, that the writer runs, and that the file at
    /// the configured path is still the one in use.
    ///
    /// # Errors
    /// The first check that fails.
    pub async fn health(&self) -> Result<(), Error> {
        if lock(&self.inner.writer)
            .as_ref()
            .is_none_or(mpsc::Sender::is_closed)
        {
            return Err(Error::Closed);
        }
        let same_file = std::fs::metadata(&self.inner.path)
            .is_ok_and(|m| (m.dev(), m.ino()) == self.inner.file_id);
        if !same_file {
            return Err(Error::Replaced(self.inner.path.clone()));
        }
        self.lookup(|c| {
            c.query_row(
                "SELECT count(*) FROM (SELECT 1 FROM pastes LIMIT 1)",
                [],
                |r| r.get::<_, i64>(0),
            )?;
            Ok(())
        })
        .await
    }

    /// The database file and the WAL and SHM files beside it, those that exist.
    #[must_use]
    pub fn files(&self) -> Vec<PathBuf> {
        let base = self.inner.path.as_os_str();
        ["", "-wal", "-shm"]
            .iter()
            .map(|suffix| {
                let mut name = base.to_owned();
                name.push(suffix);
                PathBuf::from(name)
            })
            .filter(|p| std::fs::symlink_metadata(p).is_ok())
            .collect()
    }

    /// The sizes of the database file and of its WAL (0 when absent), from the file system.
    #[must_use]
    pub fn sizes(&self) -> FileSizes {
        let size = |suffix: &str| {
            let mut name = self.inner.path.as_os_str().to_owned();
            name.push(suffix);
            std::fs::symlink_metadata(PathBuf::from(name)).map_or(0, |m| m.len())
        };
        FileSizes {
            database: size(""),
            wal: size("-wal"),
        }
    }

    /// Copies the WAL into the database and truncates it to nothing, so that old copies of
    /// deleted content it held are gone from the file. The copy runs while reads go on;
    /// reads wait only for the truncation after it (and for the copy of what was committed
    /// in between). The writer goes on (the checkpoint waits for its commit). `Ok(false)`
    /// when a reader or writer kept it from completing.
    ///
    /// # Errors
    /// The checkpoint could not run, or [`Error::Closed`].
    pub async fn checkpoint(&self) -> Result<bool, Error> {
        // An empty WAL holds nothing: as at start after a clean stop, or when nothing was
        // written since the last checkpoint. Skipping spares the connection (and the memory
        // its page cache leaves in the allocator for good).
        if self.wal_is_empty() {
            return Ok(true);
        }
        let path = self.inner.path.clone();
        // First the copy, which after a large sweep takes seconds: readers keep their
        // snapshots, and a passive checkpoint copies every frame none of them still needs.
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection, Error> {
            let conn = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | NOFOLLOW,
            )?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
            Ok(conn)
        })
        .await
        .map_err(|e| Error::Join(e.to_string()))??;
        // Then the truncation, with every reader idle and without a snapshot: an open read
        // transaction would hold the WAL's frames, and TRUNCATE would wait for it in vain.
        let all = u32::try_from(READERS).expect("a handful of readers");
        let permits = self
            .inner
            .reader_permits
            .acquire_many(all)
            .await
            .map_err(|_| Error::Closed)?;
        self.inner.release_idle_readers();
        let done = tokio::task::spawn_blocking(move || -> Result<bool, Error> {
            let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            Ok(busy == 0)
        })
        .await
        .map_err(|e| Error::Join(e.to_string()))?;
        drop(permits);
        done
    }

    /// Whether the WAL beside the database is absent or holds no frames.
    fn wal_is_empty(&self) -> bool {
        let mut wal = self.inner.path.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::symlink_metadata(PathBuf::from(wal)).map_or(true, |m| m.len() == 0)
    }

    /// Number of commits the writer has made (each may carry many writes). A read made
    /// when this had some value still describes the database while it keeps that value.
    #[must_use]
    pub fn commits(&self) -> u64 {
        self.inner.commits.load(Ordering::Acquire)
    }

    /// Stops the writer after the queued jobs, waits for it, and closes all connections, on
    /// the blocking pool.
    ///
    /// # Errors
    /// The writer thread panicked.
    pub async fn close(&self) -> Result<(), Error> {
        self.inner.reader_permits.close();
        let readers = std::mem::take(&mut *lock(&self.inner.readers));
        let writer = lock(&self.inner.writer).take();
        let thread = lock(&self.inner.writer_thread).take();
        tokio::task::spawn_blocking(move || {
            // Readers first: the last connection to close checkpoints and removes the WAL,
            // and only the writer may do that.
            drop(readers);
            drop(writer);
            thread.map(std::thread::JoinHandle::join)
        })
        .await
        .map_err(|e| Error::Join(e.to_string()))?
        .transpose()
        .map_err(|_| Error::Join("the writer thread panicked".into()))?;
        Ok(())
    }
}

impl Inner {
    /// Runs `f` on a pooled reader; the caller holds a reader permit. The reader goes back
    /// to the pool even if `f` panics.
    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
        let mut lease = Lease {
            pool: &self.readers,
            reader: Some(lock(&self.readers).pop().ok_or(Error::Closed)?),
        };
        let reader = lease
            .reader
            .as_mut()
            .expect("a lease holds its reader until dropped");
        let commits = self.commits.load(Ordering::Acquire);
        reader.begin(commits)?;
        let result = f(&reader.conn);
        if self.commits.load(Ordering::Acquire) != commits {
            // Back to the pool without a snapshot that would hold up checkpoints.
            reader.end();
        }
        result
    }

    /// Ends the snapshots of idle readers; they are stale after a commit.
    fn release_idle_readers(&self) {
        for reader in lock(&self.readers).iter_mut() {
            reader.end();
        }
    }
}

/// A read-only connection and the read transaction it keeps open between uses.
///
/// Beginning and ending a read transaction costs more than a lookup by key, so a reader
/// keeps its snapshot for as long as no commit has been made since it began. The commit
/// count says when that is: the writer's commits, and those of other processes once
/// [`Store::notice_external_writes`] has seen them.
struct Reader {
    conn: Connection,
    /// The commit count when the open read transaction began; `None` without one.
    snapshot: Option<u64>,
}

impl Reader {
    fn open(path: &Path) -> Result<Reader, Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
            | NOFOLLOW;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Reader {
            conn,
            snapshot: None,
        })
    }

    /// Makes sure a read transaction is open whose snapshot has every commit up to
    /// `commits` (the count read before this call).
    fn begin(&mut self, commits: u64) -> Result<(), Error> {
        if self.snapshot == Some(commits) {
            return Ok(());
        }
        self.end();
        // Deferred: the snapshot is taken at the first read, later than `commits` was read,
        // so it has every commit counted there.
        run(&self.conn, "BEGIN")?;
        self.snapshot = Some(commits);
        Ok(())
    }

    fn end(&mut self) {
        if self.snapshot.take().is_some() {
            // A read transaction cannot fail to end; if it did, the next BEGIN reports it.
            let _ = run(&self.conn, "COMMIT");
        }
    }
}

/// A reader taken from the pool, returned on drop.
struct Lease<'a> {
    pool: &'a Mutex<Vec<Reader>>,
    reader: Option<Reader>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            lock(self.pool).push(reader);
        }
    }
}

/// Builds a new database beside `path` and moves it into place once complete and on disk.
/// The build needs no syncs of its own (nobody sees it until it is linked), which saves the
/// seven `fsync` calls SQLite would make turning an empty file into a migrated WAL database.
/// A crash leaves at most the hidden build files, which the next start removes.
fn create(path: &Path, build: &Path) -> Result<(), Error> {
    let file_error = |source| Error::File {
        path: path.to_owned(),
        source,
    };
    remove_build(build);
    {
        let mut conn = Connection::open_with_flags(build, OpenFlags::default() | NOFOLLOW)?;
        // Pastes are private; SQLite gives the WAL and SHM files the database's mode.
        std::fs::set_permissions(build, std::fs::Permissions::from_mode(0o600))
            .map_err(file_error)?;
        conn.execute_batch("PRAGMA synchronous = OFF")?;
        enable_wal(&conn)?;
        schema::migrate(&mut conn)?;
        // Closing the only connection copies the WAL into the file and removes it.
    }
    std::fs::File::open(build)
        .and_then(|f| f.sync_all())
        .map_err(file_error)?;
    // A link, unlike a rename, never replaces a database that appeared meanwhile; a file
    // system without links gets the rename.
    match std::fs::hard_link(build, path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(_) => std::fs::rename(build, path).map_err(file_error)?,
    }
    remove_build(build);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(file_error)
}

/// Switches `conn`'s database to write-ahead logging, which the store's readers need.
fn enable_wal(conn: &Connection) -> Result<(), Error> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if mode.eq_ignore_ascii_case("wal") {
        Ok(())
    } else {
        Err(Error::NotWal(mode))
    }
}

/// Refuses a symbolic link at the database path or its WAL or SHM path. SQLite's
/// `NOFOLLOW` covers only the database path itself.
fn refuse_links(path: &Path) -> Result<(), Error> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = PathBuf::from(name);
        if std::fs::symlink_metadata(&file).is_ok_and(|m| m.file_type().is_symlink()) {
            // Following it would let whoever planted it choose which file the daemon
            // creates, writes and hands over to the service user.
            return Err(Error::File {
                path: file,
                source: std::io::Error::other("is a symbolic link; refusing to follow it"),
            });
        }
    }
    Ok(())
}

/// Where a new database for `path` is built: `.NAME.new` beside it.
fn build_path(path: &Path) -> PathBuf {
    let mut hidden = std::ffi::OsString::from(".");
    hidden.push(path.file_name().unwrap_or_default());
    hidden.push(".new");
    path.with_file_name(hidden)
}

/// Removes a build and the journal, WAL and SHM files SQLite may have left beside it.
fn remove_build(build: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut p = build.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

/// Runs one statement without parameters through the connection's statement cache.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Locks a mutex whose data stays consistent even if a holder panicked.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The writer: takes every queued job, runs each in its own savepoint inside one
/// transaction, commits once, then answers them all (group commit). Answers probes between
/// batches; `version` is the connection's `PRAGMA data_version` when last probed.
fn writer_loop(
    conn: &Connection,
    due: &checkpointer::Due,
    mut version: i64,
    mut rx: mpsc::Receiver<Message>,
    inner: &Inner,
) {
    while let Some(first) = rx.blocking_recv() {
        let probes = match first {
            Message::Write(job) => run_batch(conn, job, &mut rx, inner),
            Message::Probe(reply) => vec![reply],
        };
        for reply in probes {
            let _ = reply.send(probe(conn, &mut version, inner));
        }
        // After the answers, as SQLite would have done inside the commit.
        match due.run(conn) {
            Ok(true) => inner.release_idle_readers(),
            Ok(false) => {}
            Err(e) => tracing::warn!("checkpoint: {e}"),
        }
    }
}

/// Runs `f` with `c`'s page cache set to `kib` KiB, and gives the connection its own size
/// back after, whether `f` failed or not.
fn with_cache_kib<T>(
    c: &Connection,
    kib: i64,
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    let own: i64 = c.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    c.pragma_update(None, "cache_size", -kib)?;
    let out = f();
    let restored = c.pragma_update(None, "cache_size", own);
    let out = out?;
    restored?;
    Ok(out)
}

/// Whether another connection committed since `version` was read; if so, counts a commit
/// and lets idle readers go, as after a batch of our own.
fn probe(conn: &Connection, version: &mut i64, inner: &Inner) -> Result<bool, Error> {
    let now = data_version(conn)?;
    if now == *version {
        return Ok(false);
    }
    *version = now;
    inner.commits.fetch_add(1, Ordering::Release);
    inner.release_idle_readers();
    Ok(true)
}

/// The connection's `PRAGMA data_version`: changed by every commit of another connection.
fn data_version(conn: &Connection) -> Result<i64, Error> {
    Ok(conn
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?)
}

/// Runs `first` and every job that arrives while the batch runs, then commits them all.
/// Returns the probes that arrived meanwhile, to be answered after the commit.
fn run_batch(
    conn: &Connection,
    first: Job,
    rx: &mut mpsc::Receiver<Message>,
    inner: &Inner,
) -> Vec<Probe> {
    let mut probes = Vec::new();
    if let Err(e) = run(conn, "BEGIN IMMEDIATE") {
        let (_, finish) = first(Err(Error::Batch(e.to_string())));
        finish(Ok(()));
        return probes;
    }
    let mut finishes: Vec<(Finish, Result<(), String>)> = vec![run_job(conn, first)];
    while finishes.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(Message::Write(job)) => finishes.push(run_job(conn, job)),
            Ok(Message::Probe(reply)) => probes.push(reply),
            Err(_) => break,
        }
    }
    let commit = run(conn, "COMMIT").map_err(|e| e.to_string());
    if commit.is_err() {
        // Nothing of the batch may stay half-applied; the callers hear of the failure.
        let _ = run(conn, "ROLLBACK");
    }
    // Before any reply: a client that heard of its write must find it in the next read.
    inner.commits.fetch_add(1, Ordering::Release);
    inner.release_idle_readers();
    for (finish, status) in finishes {
        finish(status.and(commit.clone()).map_err(Error::Batch));
    }
    probes
}

/// Runs one job in a savepoint; a failing (or panicking) job is rolled back alone. The
/// status is an error when the job's changes could not be kept although the job succeeded.
fn run_job(conn: &Connection, job: Job) -> (Finish, Result<(), String>) {
    if let Err(e) = run(conn, "SAVEPOINT job") {
        return (job(Err(Error::Batch(e.to_string()))).1, Ok(()));
    }
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Ok(conn))));
    let (finish, status) = match outcome {
        Ok((true, finish)) => match run(conn, "RELEASE job") {
            Ok(()) => return (finish, Ok(())),
            Err(e) => (finish, Err(e.to_string())),
        },
        Ok((false, finish)) => (finish, Ok(())),
        // The job's reply channel went with the panic: its caller sees Closed.
        Err(_) => (Box::new(|_| {}) as Finish, Ok(())),
    };
    let _ = run(conn, "ROLLBACK TO job").and_then(|()| run(conn, "RELEASE job"));
    (finish, status)
}

#[cfg(test)]
mod tests {
    use rusqlite::OptionalExtension;

    use super::*;

    fn table(store: &Store) -> impl Future<Output = Result<(), Error>> + '_ {
        store.write(|c| {
            c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")?;
            Ok(())
        })
    }

    /// Runs `f` on the writer (or a reader) and keeps that connection busy until the
    /// returned sender is used; returns once `f` has run.
    async fn hold(
        store: &Store,
        on_writer: bool,
        f: fn(&Connection) -> Result<(), Error>,
    ) -> (
        tokio::task::JoinHandle<Result<(), Error>>,
        std::sync::mpsc::Sender<()>,
    ) {
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let job = move |c: &Connection| {
            f(c)?;
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        };
        let store = store.clone();
        let held = tokio::spawn(async move {
            if on_writer {
                store.write(job).await
            } else {
                store.read(job).await
            }
        });
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        (held, release_tx)
    }

    #[tokio::test]
    async fn concurrent_writes_share_commits_and_are_visible_when_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/p.db");
        let store = Store::open(&path).unwrap();
        table(&store).await.unwrap();
        let before = store.commits();
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let s = store.clone();
                tokio::spawn(async move {
                    s.write(move |c| {
                        c.execute("INSERT INTO t (id, v) VALUES (?1, 'x')", [i])?;
                        Ok(())
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        // Every acknowledged row is in the file for any other connection, store still open.
        let other = Connection::open(&path).unwrap();
        let n: i64 = other
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 200);
        assert!(store.commits() - before < 200, "no commit was shared");
        // FULL: each acknowledged commit was synced, so it survives a crash.
        let sync: i64 = store
            .write(|c| Ok(c.query_row("PRAGMA synchronous", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(sync, 2);
        store.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_failing_write_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.db")).unwrap();
        table(&store).await.unwrap();
        let ok = store.write(|c| {
            c.execute("INSERT INTO t (id, v) VALUES (1, 'a')", [])?;
            Ok(())
        });
        let bad = store.write(|c| {
            c.execute("INSERT INTO t (id, v) VALUES (2, 'b')", [])?;
            c.execute("INSERT INTO t (id, v) VALUES (1, 'dup')", [])?;
            Ok(())
        });
        let (ok, bad) = tokio::join!(ok, bad);
        ok.unwrap();
        assert!(bad.is_err());
        let ids: Vec<i64> = store
            .read(|c| {
                let mut st = c.prepare("SELECT id FROM t ORDER BY id")?;
                let rows = st.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
            .unwrap();
        assert_eq!(ids, vec![1]);
    }

    #[tokio::test]
    async fn reads_do_not_wait_for_an_open_write_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.db")).unwrap();
        table(&store).await.unwrap();
        let (slow, release_tx) = hold(&store, true, |c| {
            c.execute("INSERT INTO t (id, v) VALUES (1, 'a')", [])?;
            Ok(())
        })
        .await;
        // The writer holds its transaction open; a read must still complete.
        let n: i64 = store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(n, 0);
        release_tx.send(()).unwrap();
        slow.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn every_acknowledged_write_is_in_the_next_read_and_idle_readers_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let store = Store::open(&path).unwrap();
        table(&store).await.unwrap();
        let count = || {
            store.lookup(|c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))?))
        };
        for i in 0..20 {
            assert_eq!(count().await.unwrap(), i);
            store
                .write(move |c| {
                    c.execute("INSERT INTO t (id, v) VALUES (?1, 'x')", [i])?;
                    Ok(())
                })
                .await
                .unwrap();
        }
        // The last read left its reader with a snapshot; the next commit must end it, or
        // the WAL could never be checkpointed to its end and reset.
        assert_eq!(count().await.unwrap(), 20);
        store
            .write(|c| Ok(c.execute("DELETE FROM t WHERE id = 0", [])?))
            .await
            .unwrap();
        let other = Connection::open(&path).unwrap();
        let busy: i64 = other
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .unwrap();
        assert_eq!(busy, 0, "a reader still holds an old snapshot");
        assert_eq!(count().await.unwrap(), 19);
    }

    #[tokio::test]
    async fn a_reader_busy_across_a_commit_does_not_keep_its_old_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.db")).unwrap();
        table(&store).await.unwrap();
        let (busy, release_tx) = hold(&store, false, |c| {
            c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))?;
            Ok(())
        })
        .await;
        store
            .write(|c| Ok(c.execute("INSERT INTO t (id, v) VALUES (1, 'x')", [])?))
            .await
            .unwrap();
        release_tx.send(()).unwrap();
        busy.await.unwrap().unwrap();
        // The pool hands out the reader returned last: the one that was busy.
        let n: i64 = store
            .lookup(|c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn commits_by_another_connection_are_noticed_and_end_stale_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let store = Store::open(&path).unwrap();
        table(&store).await.unwrap();
        store
            .write(|c| Ok(c.execute("INSERT INTO t (id, v) VALUES (1, 'x')", [])?))
            .await
            .unwrap();
        let value = || {
            store.lookup(|c| {
                Ok(c.query_row("SELECT v FROM t WHERE id = 1", [], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?)
            })
        };
        assert_eq!(value().await.unwrap().as_deref(), Some("x"));
        assert!(!store.notice_external_writes().await.unwrap());
        // Our own commits are not another connection's.
        store
            .write(|c| Ok(c.execute("INSERT INTO t (id, v) VALUES (2, 'y')", [])?))
            .await
            .unwrap();
        assert!(!store.notice_external_writes().await.unwrap());
        assert_eq!(value().await.unwrap().as_deref(), Some("x"));

        let other = Connection::open(&path).unwrap();
        other.execute("DELETE FROM t WHERE id = 1", []).unwrap();
        // The reader's snapshot predates the delete: without a probe it still sees the row.
        assert_eq!(value().await.unwrap().as_deref(), Some("x"));
        let generation = store.commits();
        assert!(store.notice_external_writes().await.unwrap());
        assert!(
            store.commits() > generation,
            "caches keyed by commits stay valid"
        );
        assert_eq!(value().await.unwrap(), None);
        assert!(!store.notice_external_writes().await.unwrap());
        store.close().await.unwrap();
        assert!(matches!(
            store.notice_external_writes().await,
            Err(Error::Closed)
        ));
    }

    #[tokio::test]
    async fn a_new_database_is_built_aside_and_moved_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        // What a crash in the middle of an earlier build would leave.
        std::fs::write(dir.path().join(".p.db.new"), b"half a database").unwrap();
        std::fs::write(dir.path().join(".p.db.new-journal"), b"junk").unwrap();
        let store = Store::open(&path).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["p.db", "p.db-shm", "p.db-wal"]);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (journal, version): (String, u32) = store
            .lookup(|c| {
                Ok((
                    c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                    c.query_row("PRAGMA user_version", [], |r| r.get(0))?,
                ))
            })
            .await
            .unwrap();
        assert_eq!((journal.as_str(), version), ("wal", schema::latest()));
        store.close().await.unwrap();
        // A crash after the link but before tidying up leaves the build beside the
        // database; opening finds the database as it was left and removes the build.
        std::fs::write(dir.path().join(".p.db.new"), b"stale").unwrap();
        let store = Store::open(&path).unwrap();
        assert!(!dir.path().join(".p.db.new").exists());
        table(&store).await.unwrap();
    }

    #[tokio::test]
    async fn health_notices_a_replaced_file_and_a_closed_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let store = Store::open(&path).unwrap();
        store.health().await.unwrap();
        std::fs::rename(&path, dir.path().join("moved.db")).unwrap();
        assert!(matches!(store.health().await, Err(Error::Replaced(_))));
        store.close().await.unwrap();
        assert!(matches!(store.health().await, Err(Error::Closed)));
        assert!(matches!(store.write(|_| Ok(())).await, Err(Error::Closed)));
    }

    #[tokio::test]
    async fn writes_queued_before_close_are_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let store = Store::open(&path).unwrap();
        table(&store).await.unwrap();
        store
            .write(|c| {
                c.execute("INSERT INTO t (id, v) VALUES (7, 'x')", [])?;
                Ok(())
            })
            .await
            .unwrap();
        store.close().await.unwrap();
        let reopened = Store::open(&path).unwrap();
        let n: i64 = reopened
            .read(|c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn the_wal_starts_over_under_steady_writes_and_reads() {
        // SQLite's automatic checkpoint ran inside the commit, while idle readers still
        // held the commit before: the last commit's pages were never copied and the WAL
        // grew by every write.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.db")).unwrap();
        table(&store).await.unwrap();
        // A thousand commits of four rows of 3 kB: about 6,000 WAL frames in all.
        for i in 0..1000 {
            store
                .write(move |c| {
                    let v = "v".repeat(3000);
                    for j in 0..4 {
                        c.execute("INSERT INTO t (id, v) VALUES (?1, ?2)", (i * 4 + j, &v))?;
                    }
                    Ok(())
                })
                .await
                .unwrap();
            let seen: i64 = store
                .lookup(move |c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
                .await
                .unwrap();
            assert_eq!(seen, (i + 1) * 4);
        }
        let wal = store.sizes().wal;
        assert!(
            wal < 2 * 1000 * 4096 + (1 << 20),
            "the WAL holds {wal} bytes"
        );
        store.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_checkpoint_copies_the_wal_while_a_read_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.db")).unwrap();
        table(&store).await.unwrap();
        store
            .write(|c| {
                let v = "v".repeat(3000);
                for i in 0..200 {
                    c.execute("INSERT INTO t (id, v) VALUES (?1, ?2)", (i, &v))?;
                }
                Ok(())
            })
            .await
            .unwrap();
        let before = store.sizes().database;
        let (held, release) = hold(&store, false, |c| {
            c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))?;
            Ok(())
        })
        .await;
        let checkpoint = tokio::spawn({
            let store = store.clone();
            async move { store.checkpoint().await }
        });
        // The rows reach the database file while the read still holds its snapshot.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while store.sizes().database < before + 200 * 3000 {
            assert!(
                std::time::Instant::now() < deadline,
                "nothing copied while a read went on"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            !checkpoint.is_finished(),
            "the truncation waits for the read"
        );
        release.send(()).unwrap();
        held.await.unwrap().unwrap();
        assert!(checkpoint.await.unwrap().unwrap());
        assert_eq!(store.sizes().wal, 0);
        store.close().await.unwrap();
    }
}
