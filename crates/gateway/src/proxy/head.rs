//! The first request head on a connection, read before hyper takes over, so that a client
//! that is too slow gets 408 and one whose head is too large gets 431 (hyper would only close
//! the connection on a timeout). The bytes read are handed on to hyper unchanged.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// Why no request head was read.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadError {
    /// The client closed the connection (or sent nothing) before a full head.
    Closed,
    /// The client took longer than the header timeout (it got 408).
    Timeout,
    /// The head was larger than allowed (it got 431).
    TooLarge,
}

/// Where the head ends (`\r\n\r\n`, or bare `\n\n` from lax clients).
fn head_end(buf: &[u8]) -> bool {
    buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n")
}

const REQUEST_TIMEOUT: &[u8] = b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\nx-content-type-options: nosniff\r\ncontent-length: 44\r\nconnection: close\r\n\r\nThe request headers took too long to arrive.";
const TOO_LARGE: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\nx-content-type-options: nosniff\r\ncontent-length: 35\r\nconnection: close\r\n\r\nThe request headers are too large.\n";

/// Reads until the end of the first request head, at most `max` bytes within `timeout`.
/// Answers 408 or 431 itself when the client is too slow or the head too large.
pub async fn read_first_head(
    stream: &mut TcpStream,
    max: usize,
    timeout: Duration,
) -> Result<Vec<u8>, HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let read = tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await;
        match read {
            Err(_) => {
                if buf.is_empty() {
                    // An idle connection that never asked for anything: no answer is owed.
                    return Err(HeadError::Closed);
                }
                let _ = stream.write_all(REQUEST_TIMEOUT).await;
                let _ = stream.shutdown().await;
                return Err(HeadError::Timeout);
            }
            Ok(Err(_)) | Ok(Ok(0)) => return Err(HeadError::Closed),
            Ok(Ok(n)) => {
                // Only the new bytes and the three before them can complete the terminator.
                let from = buf.len().saturating_sub(3);
                buf.extend_from_slice(&chunk[..n]);
                if head_end(&buf[from..]) {
                    return Ok(buf);
                }
                if buf.len() > max {
                    let _ = stream.write_all(TOO_LARGE).await;
                    let _ = stream.shutdown().await;
                    return Err(HeadError::TooLarge);
                }
            }
        }
    }
}

/// A stream that first yields bytes already read from it.
pub struct Prefixed<S> {
    prefix: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    pub fn new(prefix: Vec<u8>, inner: S) -> Prefixed<S> {
        Prefixed {
            prefix,
            at: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.at < self.prefix.len() {
            let rest = &self.prefix[self.at..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            self.at += n;
            if self.at == self.prefix.len() {
                self.prefix = Vec::new();
                self.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_end_at_a_blank_line() {
        assert!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(head_end(b"GET / HTTP/1.1\nHost: a\n\n"));
        assert!(!head_end(b"GET / HTTP/1.1\r\nHost: a\r\n"));
    }

    #[test]
    fn the_canned_answers_have_the_right_lengths() {
        for answer in [REQUEST_TIMEOUT, TOO_LARGE] {
            let text = std::str::from_utf8(answer).unwrap_or_default();
            let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.parse().ok())
                .unwrap_or(usize::MAX);
            assert_eq!(length, body.len(), "{head}");
        }
    }
}
