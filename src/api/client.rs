//! `GET /client`: the `fpaste` binary named by `client_path`, opened per request and
//! streamed from disk. Never keeps the file in memory and never answers 500 for it: a
//! missing or unreadable client is a 404 with a hint for the operator.

use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use tokio::io::{AsyncRead, ReadBuf};

use super::AppState;
use super::stream::CHUNK;
use crate::http::error::ApiError;
use crate::http::request::Request;
use crate::http::response::{Body, with_body};

/// 200 with the client's bytes as a download; HEAD opens the file but reads none of it.
///
/// # Errors
/// [`ApiError::ClientUnavailable`] when the file cannot be opened or is not a regular file
/// (the cause is logged).
pub async fn get(state: &AppState, req: &Request<'_>) -> Result<Response<Body>, ApiError> {
    let path = &state.config().client_path;
    let (file, size) = open(path).await.map_err(|e| {
        tracing::warn!(
            "[rid={}] cannot serve client_path {}: {e}",
            req.ctx.rid(),
            path.display()
        );
        ApiError::ClientUnavailable
    })?;
    let body = FileBody {
        file,
        left: size,
        buf: BytesMut::new(),
    };
    let mut resp = with_body(StatusCode::OK, body.boxed());
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"fpaste\""),
    );
    Ok(resp)
}

/// The open client file and its length.
async fn open(path: &Path) -> std::io::Result<(tokio::fs::File, u64)> {
    let file = tokio::fs::File::open(path).await?;
    let meta = file.metadata().await?;
    // A directory opens fine and fails only at the first read, after the 200 went out.
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok((file, meta.len()))
}

/// The first `left` bytes of an open file, one chunk each time hyper asks for more.
struct FileBody {
    file: tokio::fs::File,
    left: u64,
    buf: BytesMut,
}

impl hyper::body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if this.left == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.left).map_or(CHUNK, |left| left.min(CHUNK));
        this.buf.resize(want, 0);
        let mut read = ReadBuf::new(&mut this.buf[..want]);
        let polled = ready!(Pin::new(&mut this.file).poll_read(cx, &mut read));
        let n = read.filled().len();
        let failed = match polled {
            Ok(()) if n > 0 => None,
            Ok(()) => Some(std::io::Error::other("the file ended early")),
            Err(e) => Some(e),
        };
        if let Some(e) = failed {
            tracing::warn!("aborting download of the client: {e}");
            // Nothing more may be sent: the client must see a short body, not a wrong one.
            this.left = 0;
            return Poll::Ready(Some(Err(e)));
        }
        let sent = u64::try_from(n).unwrap_or(u64::MAX);
        this.left = this.left.saturating_sub(sent);
        Poll::Ready(Some(Ok(Frame::data(this.buf.split_to(n).freeze()))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}
