//! [`Failure`]: a refused request or a failed call, as a status and an `{"error": …}` text.

use hyper::StatusCode;

use crate::error::NodeError;

/// A request the API refuses or a call that failed.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<NodeError> for Failure {
    fn from(e: NodeError) -> Self {
        let status = match &e {
            NodeError::InvalidInput(_) => StatusCode::BAD_REQUEST,
            NodeError::NotFound(_) => StatusCode::NOT_FOUND,
            NodeError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            NodeError::NotEnabled(_) => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, e.to_string())
    }
}
