//! `GET /v1/events`: the node's event stream as server-sent events. Each [`NodeEvent`] is one
//! `event: <type>` / `data: <json>` record; a `: keep-alive` comment goes out every 15 seconds
//! of silence; a subscriber too slow to keep up gets an `event: lagged` record saying how many
//! events it missed.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::model::NodeEvent;

/// Silence after which a keep-alive comment is sent.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

type Step = (broadcast::Receiver<NodeEvent>, Option<Bytes>);

/// A response body that never ends on its own: one chunk per event. Dropping it (the client
/// went away, the server shut down) drops the subscription.
pub(crate) struct EventStream {
    next: Option<Pin<Box<dyn Future<Output = Step> + Send>>>,
}

impl EventStream {
    /// A stream of the events `receiver` gets from now on.
    pub(crate) fn new(receiver: broadcast::Receiver<NodeEvent>) -> Self {
        Self {
            next: Some(next_chunk(receiver)),
        }
    }
}

fn next_chunk(
    mut receiver: broadcast::Receiver<NodeEvent>,
) -> Pin<Box<dyn Future<Output = Step> + Send>> {
    Box::pin(async move {
        let chunk = match tokio::time::timeout(KEEP_ALIVE, receiver.recv()).await {
            Err(_) => Some(Bytes::from_static(b": keep-alive\n\n")),
            Ok(Ok(event)) => Some(Bytes::from(sse_record(&event))),
            Ok(Err(RecvError::Lagged(missed))) => Some(Bytes::from(format!(
                "event: lagged\ndata: {{\"missed\":{missed}}}\n\n"
            ))),
            Ok(Err(RecvError::Closed)) => None,
        };
        (receiver, chunk)
    })
}

/// One server-sent event record for `event`.
pub(crate) fn sse_record(event: &NodeEvent) -> String {
    let value =
        serde_json::to_value(super::types::Event::from(event)).unwrap_or(serde_json::Value::Null);
    let kind = value
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("event")
        .to_string();
    format!("event: {kind}\ndata: {value}\n\n")
}

impl Body for EventStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let Some(next) = this.next.as_mut() else {
            return Poll::Ready(None);
        };
        let (receiver, chunk) = match next.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(step) => step,
        };
        match chunk {
            Some(bytes) => {
                this.next = Some(next_chunk(receiver));
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            None => {
                this.next = None;
                Poll::Ready(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_name_the_event_type() {
        let record = sse_record(&NodeEvent::PaymentForwarded { fee_msat: Some(7) });
        assert!(record.starts_with("event: payment_forwarded\ndata: {"));
        assert!(record.ends_with("}\n\n"));
        assert!(record.contains("\"fee_msat\":7"));
    }
}
