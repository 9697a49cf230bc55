//! [`ShutdownSignal`], and [`UntilShutdown`], a response body that ends when the server shuts
//! down.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::watch;

/// Fires once the server starts shutting down ([`ServerHandle::shutdown`] or the handle
/// dropped). Every request carries one in its extensions:
/// `req.extensions().get::<ShutdownSignal>()`; [`ServerHandle::shutdown_signal`] gives one too.
///
/// [`ServerHandle::shutdown`]: crate::ServerHandle::shutdown
/// [`ServerHandle::shutdown_signal`]: crate::ServerHandle::shutdown_signal
#[derive(Clone, Debug)]
pub struct ShutdownSignal {
    rx: watch::Receiver<bool>,
}

impl ShutdownSignal {
    pub(crate) fn new(rx: watch::Receiver<bool>) -> Self {
        Self { rx }
    }

    /// Whether shutdown has begun.
    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow() || self.rx.has_changed().is_err()
    }

    /// Completes once shutdown has begun (at once if it already has).
    pub async fn triggered(&self) {
        let mut rx = self.rx.clone();
        // An error means the handle is gone, which is a shutdown too.
        let _ = rx.wait_for(|stopping| *stopping).await;
    }
}

pin_project_lite::pin_project! {
    /// A response body that ends (cleanly, at a frame boundary) once the server shuts down: for
    /// bodies that never end on their own, such as server-sent events, which would otherwise
    /// hold the shutdown for its whole drain time and then be cut off.
    ///
    /// A body whose length is known (an exact [`SizeHint`]) is never cut, since ending it early
    /// would break the response; with chunked bodies the client sees a normal end of stream, so
    /// wrap only bodies where that is an acceptable ending.
    ///
    /// ```
    /// # use hyper::{body::Incoming, Request, Response};
    /// # use http_body_util::Full;
    /// # use hyper::body::Bytes;
    /// use lnedge_http::{ShutdownSignal, UntilShutdown};
    /// fn respond(req: &Request<Incoming>, events: Full<Bytes>) -> Response<UntilShutdown<Full<Bytes>>> {
    ///     let signal = req.extensions().get::<ShutdownSignal>().cloned();
    ///     Response::new(UntilShutdown::new(events, signal))
    /// }
    /// ```
    pub struct UntilShutdown<B> {
        #[pin]
        body: B,
        stop: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
        ended: bool,
    }
}

impl<B: Body> UntilShutdown<B> {
    /// `body`, ended when `signal` fires (never, with `None` or a body of known length).
    pub fn new(body: B, signal: Option<ShutdownSignal>) -> Self {
        let stop = match signal {
            Some(signal) if body.size_hint().exact().is_none() => {
                let stop: Pin<Box<dyn Future<Output = ()> + Send>> =
                    Box::pin(async move { signal.triggered().await });
                Some(stop)
            }
            _ => None,
        };
        Self {
            body,
            stop,
            ended: false,
        }
    }
}

impl<B> UntilShutdown<B> {
    /// The wrapped body.
    pub fn into_inner(self) -> B {
        self.body
    }
}

impl<B: Body> Body for UntilShutdown<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        if let Some(stop) = this.stop.as_mut() {
            if stop.as_mut().poll(cx).is_ready() {
                *this.ended = true;
                *this.stop = None;
                return Poll::Ready(None);
            }
        }
        this.body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.ended {
            SizeHint::with_exact(0)
        } else {
            self.body.size_hint()
        }
    }
}

impl<B> fmt::Debug for UntilShutdown<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UntilShutdown")
            .field("watching", &self.stop.is_some())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}
