//! Zero-copy file bodies on plain HTTP/1 connections.
//!
//! A blob on local disk is sent with `sendfile(2)`: the kernel hands page-cache pages to the
//! socket, so the bytes are never read into this process and never copied out of it again.
//! hyper has no file-body API, so this crate works beneath it, at the connection:
//!
//! - [`ZeroCopyListener`] accepts TCP connections as [`ZeroCopyStream`]s. Each stream owns a
//!   [`FileSender`]: the queue of file ranges waiting to be sent on that connection.
//!   [`MakeWithConnection`] puts the sender (and the peer address, as axum's
//!   [`ConnectInfo`]) into every request served on the connection; [`MakeWithPeer`] does
//!   the same for other listeners (TLS), without a sender.
//! - A handler that wants to send a file takes the request's sender
//!   ([`FileSender::for_request`]: HTTP/1 requests only) and answers with
//!   [`FileSender::body`]. When hyper first polls that body, the file range joins the
//!   connection's queue; the body then yields *placeholder* chunks, slices of one static
//!   buffer, as many bytes as the range holds.
//! - hyper keeps body chunks as they are, without copying, when its connection does vectored
//!   writes (its `Queue` write strategy: [`ZeroCopyStream`] reports vectored writes and
//!   pipeline flushing stays off). When the stream is asked to write a slice that lies inside
//!   the placeholder buffer, it sends that many bytes of the front queued file instead. Every
//!   other byte (status line, headers, other bodies) is written as given.
//!
//! A file `sendfile` refuses (`EINVAL` and kin: a filesystem without it) is copied through a
//! buffer instead, from the same offset.
//!
//! Placeholder bytes with no file queued, more placeholder bytes than the queued range holds,
//! or a file that ends early fail the connection with an I/O error: the client sees a cut-off
//! response, never the placeholder's bytes. `tests/sendfile.rs` checks the bytes that arrive
//! against the file through axum's real server, so a hyper release that changed how bodies
//! are buffered would fail there.
//!
//! `sendfile` runs on the connection's task. For pages not yet in the page cache it waits for
//! the disk, as a read would on a blocking thread; [`FileSender::body`]'s caller should
//! announce the range with `posix_fadvise(WILLNEED)` when it opens the file, so the kernel
//! reads ahead.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fs::File;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

use axum::extract::{ConnectInfo, Request};
use axum::http::request::Parts;
use axum::http::Version;
use axum::serve::{IncomingStream, Listener};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Bytes per placeholder chunk: at most this much is handed to one `sendfile` call.
const PLACEHOLDER_LEN: usize = 2 << 20;

/// The placeholder buffer. Its bytes are never sent: only the addresses of slices into it are
/// compared. Zero-initialised, so it sits in `.bss` and costs no memory until touched.
static PLACEHOLDER: [u8; PLACEHOLDER_LEN] = [0; PLACEHOLDER_LEN];

/// Whether `buf` is a non-empty slice of [`PLACEHOLDER`].
fn is_placeholder(buf: &[u8]) -> bool {
    let base = PLACEHOLDER.as_ptr() as usize;
    let start = buf.as_ptr() as usize;
    !buf.is_empty() && start >= base && start + buf.len() <= base + PLACEHOLDER_LEN
}

/// Bytes read per step when a file cannot be sent with `sendfile` and is copied instead.
const COPY_CHUNK: usize = 256 * 1024;

/// A file range queued to be sent on a connection.
struct Queued {
    file: File,
    /// Where the next byte to read from the file is.
    offset: u64,
    /// Bytes of the range not yet written to the socket.
    remaining: u64,
    /// `Some` once `sendfile` refused this file (a filesystem without it): bytes read from
    /// the file and not yet written to the socket.
    copied: Option<Vec<u8>>,
}

/// `sendfile` errors that mean "not for this file", not "the connection failed".
fn sendfile_unsupported(e: &io::Error) -> bool {
    use rustix::io::Errno;
    [Errno::INVAL, Errno::NOSYS, Errno::OPNOTSUPP, Errno::SPIPE]
        .iter()
        .any(|errno| e.raw_os_error() == Some(errno.raw_os_error()))
}

/// One connection's queue of file ranges to send. Cheap to clone; every clone is the same
/// queue.
#[derive(Clone, Default)]
pub struct FileSender {
    queue: Arc<Mutex<VecDeque<Queued>>>,
}

impl std::fmt::Debug for FileSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSender")
            .field("queued", &self.lock().len())
            .finish()
    }
}

impl FileSender {
    /// The sender of the connection `req` arrived on, when its response may carry a
    /// [`FileSender::body`]: a plain-TCP connection served by [`MakeWithConnection`] and an
    /// HTTP/1 request (HTTP/2 frames its own data, so placeholders would reach the wire).
    pub fn for_request(req: &Parts) -> Option<FileSender> {
        match req.version {
            Version::HTTP_10 | Version::HTTP_11 => req.extensions.get::<FileSender>().cloned(),
            _ => None,
        }
    }

    /// A response body of `len` bytes that sends `file` from `offset` with `sendfile`. The
    /// response must declare `Content-Length: len`, and must be sent on the connection this
    /// sender belongs to.
    pub fn body(&self, file: File, offset: u64, len: u64) -> FileBody {
        FileBody {
            pending: (len > 0).then(|| {
                (
                    self.clone(),
                    Queued {
                        file,
                        offset,
                        remaining: len,
                        copied: None,
                    },
                )
            }),
            remaining: len,
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Queued>> {
        // A poisoned queue is still a consistent queue: every mutation is one call.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A body of placeholder chunks standing for a queued file range (see the crate docs).
pub struct FileBody {
    pending: Option<(FileSender, Queued)>,
    remaining: u64,
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some((sender, queued)) = self.pending.take() {
            sender.lock().push_back(queued);
        }
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = usize::try_from(self.remaining).map_or(PLACEHOLDER_LEN, |r| r.min(PLACEHOLDER_LEN));
        self.remaining -= n as u64;
        let chunk = Bytes::from_static(&PLACEHOLDER[..n]);
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// A TCP connection that sends queued files where its writes carry placeholder slices.
pub struct ZeroCopyStream {
    tcp: TcpStream,
    sender: FileSender,
}

impl ZeroCopyStream {
    pub fn new(tcp: TcpStream) -> Self {
        ZeroCopyStream {
            tcp,
            sender: FileSender::default(),
        }
    }

    /// This connection's file queue.
    pub fn sender(&self) -> FileSender {
        self.sender.clone()
    }

    /// Writes `want` placeholder bytes: that many bytes of the front queued file.
    fn poll_send_file(&self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<usize>> {
        let mut queue = self.sender.lock();
        let Some(front) = queue.front_mut() else {
            return Poll::Ready(Err(io::Error::other(
                "zero-copy body bytes with no file queued on the connection",
            )));
        };
        if want as u64 > front.remaining {
            return Poll::Ready(Err(io::Error::other(
                "zero-copy body bytes outnumber the queued file range",
            )));
        }
        let sent = loop {
            if front.copied.is_some() {
                break ready!(self.poll_copy(cx, front, want));
            }
            ready!(self.tcp.poll_write_ready(cx))?;
            let sent = self.tcp.try_io(Interest::WRITABLE, || {
                rustix::fs::sendfile(&self.tcp, &front.file, Some(&mut front.offset), want)
                    .map_err(io::Error::from)
            });
            match sent {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) if sendfile_unsupported(&e) => {
                    tracing::debug!(error = %e, "sendfile refused a file; copying it instead");
                    front.copied = Some(Vec::new());
                }
                other => break other,
            }
        };
        match sent {
            Ok(0) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file ended before the length its response declared",
            ))),
            Ok(n) => {
                front.remaining -= n as u64;
                if front.remaining == 0 {
                    queue.pop_front();
                }
                Poll::Ready(Ok(n))
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Writes up to `want` bytes of `front` by reading them into memory first: for files
    /// `sendfile` refuses. Answers the bytes written to the socket (0: the file ended).
    fn poll_copy(
        &self,
        cx: &mut Context<'_>,
        front: &mut Queued,
        want: usize,
    ) -> Poll<io::Result<usize>> {
        use std::os::unix::fs::FileExt as _;
        let Some(buf) = front.copied.as_mut() else {
            return Poll::Ready(Err(io::Error::other("not in copy mode")));
        };
        if buf.is_empty() {
            buf.resize(want.min(COPY_CHUNK), 0);
            let n = match front.file.read_at(buf, front.offset) {
                Ok(n) => n,
                Err(e) => {
                    buf.clear();
                    return Poll::Ready(Err(e));
                }
            };
            buf.truncate(n);
            front.offset += n as u64;
            if n == 0 {
                return Poll::Ready(Ok(0));
            }
        }
        loop {
            ready!(self.tcp.poll_write_ready(cx))?;
            match self.tcp.try_write(buf) {
                Ok(n) => {
                    buf.drain(..n);
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncRead for ZeroCopyStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for ZeroCopyStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if is_placeholder(buf) {
            return this.poll_send_file(cx, buf.len());
        }
        Pin::new(&mut this.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match bufs.iter().position(|b| is_placeholder(b)) {
            // A placeholder first: send file bytes for it (a short write; the caller comes
            // back for the rest).
            Some(0) => this.poll_send_file(cx, bufs[0].len()),
            // Real bytes first: write those, up to the placeholder.
            Some(i) => Pin::new(&mut this.tcp).poll_write_vectored(cx, &bufs[..i]),
            None => Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        // hyper picks its queueing (non-copying) write strategy from this.
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// A TCP listener for `axum::serve` whose connections are [`ZeroCopyStream`]s.
pub struct ZeroCopyListener(TcpListener);

impl ZeroCopyListener {
    pub fn new(listener: TcpListener) -> Self {
        ZeroCopyListener(listener)
    }
}

impl Listener for ZeroCopyListener {
    type Io = ZeroCopyStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (tcp, addr) = Listener::accept(&mut self.0).await;
        (ZeroCopyStream::new(tcp), addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// The make-service for `axum::serve(ZeroCopyListener, …)`: one [`WithConnection`] per
/// connection around a clone of the inner service.
#[derive(Clone)]
pub struct MakeWithConnection<S> {
    inner: S,
}

impl<S> MakeWithConnection<S> {
    pub fn new(inner: S) -> Self {
        MakeWithConnection { inner }
    }
}

impl<S: Clone> tower::Service<IncomingStream<'_, ZeroCopyListener>> for MakeWithConnection<S> {
    type Response = WithConnection<S>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<WithConnection<S>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, conn: IncomingStream<'_, ZeroCopyListener>) -> Self::Future {
        std::future::ready(Ok(WithConnection {
            inner: self.inner.clone(),
            sender: Some(conn.io().sender()),
            peer: *conn.remote_addr(),
        }))
    }
}

/// The make-service for listeners whose connections cannot send files (TLS): one
/// [`WithConnection`] per connection that adds only the peer address.
#[derive(Clone)]
pub struct MakeWithPeer<S> {
    inner: S,
}

impl<S> MakeWithPeer<S> {
    pub fn new(inner: S) -> Self {
        MakeWithPeer { inner }
    }
}

impl<S: Clone, L: Listener<Addr = SocketAddr>> tower::Service<IncomingStream<'_, L>>
    for MakeWithPeer<S>
{
    type Response = WithConnection<S>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<WithConnection<S>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, conn: IncomingStream<'_, L>) -> Self::Future {
        std::future::ready(Ok(WithConnection {
            inner: self.inner.clone(),
            sender: None,
            peer: *conn.remote_addr(),
        }))
    }
}

/// A service that adds the connection's [`FileSender`] (when it has one) and
/// `ConnectInfo<SocketAddr>` to each request before passing it on.
#[derive(Clone)]
pub struct WithConnection<S> {
    inner: S,
    sender: Option<FileSender>,
    peer: SocketAddr,
}

impl<S> tower::Service<Request> for WithConnection<S>
where
    S: tower::Service<Request>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> S::Future {
        if let Some(sender) = &self.sender {
            req.extensions_mut().insert(sender.clone());
        }
        req.extensions_mut().insert(ConnectInfo(self.peer));
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised_by_address_only() {
        assert!(is_placeholder(&PLACEHOLDER[..1]));
        assert!(is_placeholder(&PLACEHOLDER[PLACEHOLDER_LEN - 5..]));
        assert!(is_placeholder(&PLACEHOLDER[..]));
        assert!(!is_placeholder(&PLACEHOLDER[..0]));
        let zeros = vec![0u8; 16];
        assert!(
            !is_placeholder(&zeros),
            "equal bytes elsewhere are real data"
        );
    }

    #[test]
    fn only_http1_requests_get_a_sender() {
        let sender = FileSender::default();
        for (version, expected) in [
            (Version::HTTP_10, true),
            (Version::HTTP_11, true),
            (Version::HTTP_2, false),
        ] {
            let mut req = axum::http::Request::new(());
            *req.version_mut() = version;
            req.extensions_mut().insert(sender.clone());
            let (parts, ()) = req.into_parts();
            assert_eq!(
                FileSender::for_request(&parts).is_some(),
                expected,
                "{version:?}"
            );
        }
        let (parts, ()) = axum::http::Request::new(()).into_parts();
        assert!(
            FileSender::for_request(&parts).is_none(),
            "no sender without the connection's extension"
        );
    }

    #[test]
    fn a_body_queues_its_file_when_first_polled() {
        let sender = FileSender::default();
        let file = tempfile::tempfile().expect("temp file");
        let mut body = sender.body(file, 3, PLACEHOLDER_LEN as u64 + 10);
        assert_eq!(sender.lock().len(), 0, "nothing queued before hyper polls");
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut sizes = Vec::new();
        while let Poll::Ready(Some(Ok(frame))) =
            http_body::Body::poll_frame(Pin::new(&mut body), &mut cx)
        {
            let data = frame.into_data().expect("data frame");
            assert!(is_placeholder(&data));
            sizes.push(data.len());
        }
        assert_eq!(sizes, vec![PLACEHOLDER_LEN, 10]);
        let queue = sender.lock();
        assert_eq!(queue.len(), 1);
        assert_eq!(
            (queue[0].offset, queue[0].remaining),
            (3, PLACEHOLDER_LEN as u64 + 10)
        );
    }

    #[test]
    fn an_empty_body_queues_nothing() {
        let sender = FileSender::default();
        let mut body = sender.body(tempfile::tempfile().expect("temp file"), 0, 0);
        assert!(http_body::Body::is_end_stream(&body));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(matches!(
            http_body::Body::poll_frame(Pin::new(&mut body), &mut cx),
            Poll::Ready(None)
        ));
        assert_eq!(sender.lock().len(), 0);
    }
}
