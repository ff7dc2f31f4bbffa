//! `Connection: close` on answers that leave the request body unread.
//!
//! Some answers go out before the body is read: a 413 for a declared `Content-Length` over the
//! limit, the 404 and 405 fallbacks, a body-limit refusal half way through. hyper then reads
//! what has already arrived and, when the body is still incomplete, closes the connection after
//! the answer. Without a notice in the answer, a client that keeps connections alive may already
//! have written its next request on that connection, and sees it closed with no answer (hyper's
//! "connection closed before message completed"). [`close_if_body_unread`] announces the close:
//! every answer to a request whose body was not read to its end carries `Connection: close`
//! (RFC 9112 §9.6), so the client opens a new connection for its next request.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// A request body that notes when it has been read to its end.
struct Tracked {
    inner: Body,
    read: Arc<AtomicBool>,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let poll = Pin::new(&mut self.inner).poll_frame(cx);
        let ended = match &poll {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => self.inner.is_end_stream(),
            _ => false,
        };
        if ended {
            self.read.store(true, Ordering::Release);
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Middleware: runs the request and adds `Connection: close` to the answer when the request's
/// body was not read to its end (an empty body counts as read).
pub async fn close_if_body_unread(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let read = Arc::new(AtomicBool::new(body.is_end_stream()));
    let body = Body::new(Tracked {
        inner: body,
        read: Arc::clone(&read),
    });
    let mut resp = next.run(Request::from_parts(parts, body)).await;
    if !read.load(Ordering::Acquire) {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}
