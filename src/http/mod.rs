//! HTTP plumbing: the accept loop, routing, per-request context, response builders, the
//! error table and the headers every response carries.

pub mod error;
pub mod headers;
pub mod limit;
pub mod request;
pub mod response;
pub mod router;
pub mod server;
