//! A BIP 78 reply ([`Reply`]): the proposal PSBT, or a JSON error with its status code.

use payjoin::receive::JsonReply;

/// What the receiver answers to a POST, independent of the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// `text/plain` base64 PSBT (200) or `application/json` error.
    pub content_type: &'static str,
    /// Body.
    pub body: String,
}

impl Reply {
    /// 200 with the proposal PSBT.
    pub fn proposal(psbt: &bitcoin::Psbt) -> Self {
        Self {
            status: 200,
            content_type: "text/plain",
            body: psbt.to_string(),
        }
    }

    /// The reply the `payjoin` crate prescribes for one of its errors (implementation errors
    /// become `unavailable` with no details).
    pub fn from_payjoin(error: &payjoin::receive::Error) -> Self {
        let reply = JsonReply::from(error);
        let mut json = reply.to_json();
        // payjoin 1.2 puts `supported` as a string ("[1]"); BIP 78 specifies an array of numbers.
        if let Some(supported) = json.get_mut("supported") {
            if let Some(array) = supported
                .as_str()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                .filter(serde_json::Value::is_array)
            {
                *supported = array;
            }
        }
        Self {
            status: reply.status_code(),
            content_type: "application/json",
            body: json.to_string(),
        }
    }

    /// 400 `original-psbt-rejected` with a developer message (never internals).
    pub fn rejected(message: &str) -> Self {
        Self::json(400, "original-psbt-rejected", message)
    }

    /// 500 `unavailable` ("Receiver error", no details).
    pub fn unavailable() -> Self {
        Self::json(500, "unavailable", "Receiver error")
    }

    /// 404 for anything that is not a POST to the endpoint.
    pub fn not_found() -> Self {
        Self::json(404, "original-psbt-rejected", "not a payjoin endpoint")
    }

    fn json(status: u16, code: &str, message: &str) -> Self {
        let body = serde_json::json!({ "errorCode": code, "message": message }).to_string();
        Self {
            status,
            content_type: "application/json",
            body,
        }
    }
}
