//! The toolkit below the handlers: the request value and its context (request id, client
//! address behind trusted proxies, identity), response builders (HEAD drops its body in one
//! place), the error table, the headers every response carries, rate-limit windows. Never
//! imports `api/` or `serve/`.

pub mod error;
pub mod headers;
pub mod limit;
pub mod peer;
pub mod request;
pub mod response;
