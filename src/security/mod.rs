//! Pure security functions: no tokio, no SQL, no HTTP types.

pub mod antiflood;
pub mod entropy;
pub mod identity;
pub mod mime;
pub mod password;
pub mod pow;
pub mod target;
