//! Pure security functions: no tokio, no SQL, no HTTP types.

pub mod identity;
