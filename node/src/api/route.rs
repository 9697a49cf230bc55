//! The route table: which method and path reach which handler. Adding an endpoint adds its
//! line here, its handler in [`handlers`](super::handlers) and its line in `docs/api.md`.

use hyper::Method;

use super::handlers::{self, Decode};

/// What serves a route.
#[derive(Clone, Copy)]
pub(crate) enum Handler {
    /// A JSON endpoint: decodes the request (no node needed), then runs it.
    Json(Decode),
    /// A JSON endpoint that reads the query string (`limit`, `after`): its decoder gets the
    /// query (`""` if none) where a [`Json`](Self::Json) decoder gets the path parameter.
    JsonQuery(Decode),
    /// The server-sent event stream.
    Events,
}

/// `(method, path, handler)`; a path ending in `{id}` takes one non-empty segment there.
const ROUTES: &[(Method, &str, Handler)] = &[
    (Method::GET, "/v1/info", Handler::Json(handlers::node::info)),
    (
        Method::GET,
        "/v1/peers",
        Handler::Json(handlers::peers::list),
    ),
    (
        Method::POST,
        "/v1/peers/connect",
        Handler::Json(handlers::peers::connect),
    ),
    (
        Method::POST,
        "/v1/peers/disconnect",
        Handler::Json(handlers::peers::disconnect),
    ),
    (
        Method::GET,
        "/v1/channels",
        Handler::Json(handlers::channels::list),
    ),
    (
        Method::POST,
        "/v1/channels/open",
        Handler::Json(handlers::channels::open),
    ),
    (
        Method::POST,
        "/v1/channels/close",
        Handler::Json(handlers::channels::close),
    ),
    (
        Method::POST,
        "/v1/invoices",
        Handler::Json(handlers::bolt11::create),
    ),
    (
        Method::POST,
        "/v1/invoices/pay",
        Handler::Json(handlers::bolt11::pay),
    ),
    (
        Method::POST,
        "/v1/offers",
        Handler::Json(handlers::bolt12::create),
    ),
    (
        Method::POST,
        "/v1/offers/pay",
        Handler::Json(handlers::bolt12::pay),
    ),
    (
        Method::POST,
        "/v1/keysend",
        Handler::Json(handlers::keysend::send),
    ),
    (
        Method::GET,
        "/v1/payments",
        Handler::JsonQuery(handlers::payments::list),
    ),
    (
        Method::GET,
        "/v1/payments/{id}",
        Handler::Json(handlers::payments::get),
    ),
    (
        Method::POST,
        "/v1/wallet/address",
        Handler::Json(handlers::wallet::address),
    ),
    (
        Method::GET,
        "/v1/wallet/balance",
        Handler::Json(handlers::wallet::balance),
    ),
    (
        Method::POST,
        "/v1/wallet/send",
        Handler::Json(handlers::wallet::send),
    ),
    (Method::GET, "/v1/events", Handler::Events),
    (
        Method::POST,
        "/v1/async/recipients",
        Handler::Json(handlers::async_payments::register),
    ),
    (
        Method::GET,
        "/v1/async/recipients",
        Handler::Json(handlers::async_payments::recipients),
    ),
    (
        Method::POST,
        "/v1/async/revoke/{id}",
        Handler::Json(handlers::async_payments::revoke),
    ),
    (
        Method::POST,
        "/v1/async/token/{id}",
        Handler::Json(handlers::async_payments::reissue),
    ),
    (
        Method::GET,
        "/v1/async/invoices",
        Handler::Json(handlers::async_payments::invoices),
    ),
    (
        Method::GET,
        "/v1/async/invoices/{id}",
        Handler::Json(handlers::async_payments::recipient_invoices),
    ),
    (
        Method::GET,
        "/v1/async/server",
        Handler::Json(handlers::async_payments::stats),
    ),
    (
        Method::POST,
        "/v1/async/apply",
        Handler::Json(handlers::async_payments::apply),
    ),
    (
        Method::POST,
        "/v1/async/offer",
        Handler::Json(handlers::async_payments::offer),
    ),
    (
        Method::GET,
        "/v1/async/offers",
        Handler::Json(handlers::async_payments::offers),
    ),
];

/// Why a path and method reach no endpoint.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoRoute {
    /// No such path.
    NotFound,
    /// The path exists with this other method.
    MethodNotAllowed(Method),
}

/// The path parameter `path` gives for `pattern`, or `None` if it does not match.
fn matches<'p>(pattern: &str, path: &'p str) -> Option<&'p str> {
    match pattern.strip_suffix("{id}") {
        Some(prefix) => path
            .strip_prefix(prefix)
            .filter(|id| !id.is_empty() && !id.contains('/')),
        None => (pattern == path).then_some(""),
    }
}

/// Maps a method and path to a handler and the path's parameter (`""` if none).
pub(crate) fn route<'p>(method: &Method, path: &'p str) -> Result<(Handler, &'p str), NoRoute> {
    let mut allowed = None;
    for (m, pattern, handler) in ROUTES {
        let Some(param) = matches(pattern, path) else {
            continue;
        };
        if method == m || (method == Method::HEAD && m == Method::GET) {
            return Ok((*handler, param));
        }
        allowed.get_or_insert(m.clone());
    }
    Err(allowed.map_or(NoRoute::NotFound, NoRoute::MethodNotAllowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reaches(method: Method, path: &str) -> Result<&str, NoRoute> {
        route(&method, path).map(|(_, param)| param)
    }

    #[test]
    fn routes_and_methods() {
        assert_eq!(reaches(Method::GET, "/v1/info"), Ok(""));
        assert_eq!(
            reaches(Method::POST, "/v1/info"),
            Err(NoRoute::MethodNotAllowed(Method::GET))
        );
        assert_eq!(reaches(Method::GET, "/v1/payments/ab"), Ok("ab"));
        assert_eq!(
            reaches(Method::GET, "/v1/payments/"),
            Err(NoRoute::NotFound)
        );
        assert_eq!(
            reaches(Method::GET, "/v1/payments/a/b"),
            Err(NoRoute::NotFound)
        );
        assert_eq!(reaches(Method::GET, "/v2/info"), Err(NoRoute::NotFound));
        assert_eq!(reaches(Method::POST, "/v1/keysend"), Ok(""));
        // One path, two methods.
        assert_eq!(reaches(Method::GET, "/v1/async/recipients"), Ok(""));
        assert_eq!(reaches(Method::POST, "/v1/async/recipients"), Ok(""));
        assert_eq!(
            reaches(Method::DELETE, "/v1/async/recipients"),
            Err(NoRoute::MethodNotAllowed(Method::POST))
        );
        assert_eq!(reaches(Method::GET, "/v1/async/invoices"), Ok(""));
        assert_eq!(reaches(Method::GET, "/v1/async/invoices/0a"), Ok("0a"));
        assert_eq!(reaches(Method::POST, "/v1/async/revoke/0a"), Ok("0a"));
        assert_eq!(
            reaches(Method::POST, "/v1/async/revoke/"),
            Err(NoRoute::NotFound)
        );
        assert!(matches!(
            route(&Method::GET, "/v1/events"),
            Ok((Handler::Events, ""))
        ));
    }
}
