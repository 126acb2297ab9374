//! Gatehouse gateway: the data plane. The library half holds what the server shares with the
//! gateway (settings loading, logging set-up, and, as they arrive, the runtime snapshot types);
//! the `runtime` feature adds the proxy itself.
// One system call without a safe wrapper (`process::lower_thread_priority`) allows it locally.
#![deny(unsafe_code)]

pub mod analytics;
#[cfg(feature = "runtime")]
pub mod auth;
#[cfg(feature = "runtime")]
pub mod cluster;
pub mod config;
pub mod crypto;
#[cfg(feature = "runtime")]
pub mod deny;
#[cfg(feature = "runtime")]
pub mod diagnostics;
#[cfg(feature = "runtime")]
pub mod feed;
#[cfg(feature = "jwt")]
pub mod jwt;
#[cfg(feature = "runtime")]
pub mod mediation;
#[cfg(feature = "runtime")]
pub mod metrics;
pub mod otel;
#[cfg(feature = "runtime")]
pub mod phases;
pub mod policy;
#[cfg(feature = "runtime")]
pub mod pool;
#[cfg(feature = "process")]
pub mod process;
#[cfg(feature = "runtime")]
pub mod proxy;
#[cfg(feature = "runtime")]
pub mod redis;
pub mod router;
pub mod schema;
pub mod settings;
pub mod snapshot;
#[cfg(feature = "runtime")]
pub mod throttle;
