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

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    /// Stores `content` as one paste and returns its row.
    async fn stored(store: &Store, content: &[u8]) -> paste::Paste {
        let new = paste::NewPaste {
            id: "abcdef".into(),
            content: Bytes::from(content.to_vec()),
            mime_type: "application/octet-stream".into(),
            content_hash: "h".into(),
            owner: None,
            owner_token_hash: None,
            created_at: 1,
            expires_at: i64::MAX,
            inactivity: None,
            burn_after_read: false,
            burn_confirm: false,
            password_hash: None,
            display_name: None,
        };
        store
            .write(move |c| paste::insert(c, &new, 0, 0))
            .await
            .unwrap()
            .unwrap();
        store
            .lookup(|c| paste::get(c, "abcdef", 2))
            .await
            .unwrap()
            .unwrap()
    }

    type Held = (
        Vec<JoinHandle<Result<(), store::Error>>>,
        Vec<std::sync::mpsc::Sender<()>>,
    );

    /// Holds every reader until the returned senders are sent to.
    async fn hold_every_reader(store: &Store) -> Held {
        let (mut holders, mut releases) = (Vec::new(), Vec::new());
        while store.lookup_now(|_| Ok(())).is_ok() {
            assert!(holders.len() < 64, "readers never ran out");
            let (held_tx, held_rx) = tokio::sync::oneshot::channel();
            let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
            let store = store.clone();
            holders.push(tokio::spawn(async move {
                store
                    .read(move |_| {
                        held_tx.send(()).unwrap();
                        release_rx.recv().unwrap();
                        Ok(())
                    })
                    .await
            }));
            held_rx.await.unwrap();
            releases.push(release_tx);
        }
        (holders, releases)
    }

    #[tokio::test]
    async fn chunks_are_read_on_the_blocking_pool_when_every_reader_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.db")).unwrap();
        let content: Vec<u8> = (0..CHUNK * 2 + 5)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        let p = stored(&store, &content).await;
        let (holders, releases) = hold_every_reader(&store).await;
        let body = ContentStream::new(store.clone(), p.rowid, &p.content_hash, 3, content.len());
        let download = tokio::spawn(async move { body.collect().await.map(|b| b.to_bytes()) });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            !download.is_finished(),
            "no reader was free, yet the download finished"
        );
        for release in releases {
            release.send(()).unwrap();
        }
        for h in holders {
            h.await.unwrap().unwrap();
        }
        let got = download.await.unwrap().unwrap();
        assert!(got[..] == content[3..], "downloaded bytes differ");
    }
}
