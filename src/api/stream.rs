//! A response body that streams paste content from the store, one chunk each time hyper
//! asks for more: no task, no channel, and at most one chunk held per download.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use tokio::task::JoinHandle;

use crate::store::{self, Store, paste};

/// Bytes read from the store per chunk.
pub const CHUNK: usize = 256 * 1024;

type Chunk = Result<Vec<u8>, store::Error>;

/// Content bytes `offset..end` of row `rowid`, as long as it still holds the content with
/// `hash` (a download never mixes two versions of a paste).
pub struct ContentStream {
    store: Store,
    rowid: i64,
    hash: std::sync::Arc<str>,
    offset: usize,
    end: usize,
    /// A chunk being read on the blocking pool because no reader was free.
    pending: Option<JoinHandle<Chunk>>,
}

impl ContentStream {
    /// A stream of `start..end` of the content of row `rowid`, whose hash is `hash`.
    #[must_use]
    pub fn new(store: Store, rowid: i64, hash: &str, start: usize, end: usize) -> ContentStream {
        ContentStream {
            store,
            rowid,
            hash: hash.into(),
            offset: start,
            end,
            pending: None,
        }
    }

    fn deliver(&mut self, chunk: Chunk) -> Result<Frame<Bytes>, std::io::Error> {
        match chunk {
            Ok(data) if !data.is_empty() => {
                self.offset += data.len();
                Ok(Frame::data(Bytes::from(data)))
            }
            other => {
                let why = other
                    .err()
                    .map_or_else(|| "content ended early".to_owned(), |e| e.to_string());
                tracing::warn!("aborting download of row {}: {why}", self.rowid);
                // Nothing more may be sent: the client must see a short body, not a wrong one.
                self.offset = self.end;
                Err(std::io::Error::other(why))
            }
        }
    }
}

impl hyper::body::Body for ContentStream {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if this.offset >= this.end {
            return Poll::Ready(None);
        }
        if this.pending.is_none() {
            let (rowid, offset, hash) =
                (this.rowid, this.offset, std::sync::Arc::clone(&this.hash));
            let len = CHUNK.min(this.end - this.offset);
            match this
                .store
                .lookup_now(move |c| paste::read_chunk(c, rowid, &hash, offset, len))
            {
                Ok(chunk) => return Poll::Ready(Some(this.deliver(chunk))),
                Err(read) => {
                    let store = this.store.clone();
                    this.pending = Some(tokio::spawn(async move { store.read(read).await }));
                }
            }
        }
        let handle = this.pending.as_mut().expect("a read is pending here");
        let joined = ready!(Pin::new(handle).poll(cx));
        this.pending = None;
        let chunk = joined.unwrap_or_else(|e| Err(store::Error::Join(e.to_string())));
        Poll::Ready(Some(this.deliver(chunk)))
    }

    fn is_end_stream(&self) -> bool {
        self.offset >= self.end
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(u64::try_from(self.end - self.offset).unwrap_or(u64::MAX))
    }
}
