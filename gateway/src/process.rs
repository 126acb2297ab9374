//! Process helpers shared by both binaries: logging set-up (`RUST_LOG` filters, `[log] format`
//! picks text or JSON) and the shutdown signal.

use std::future::Future;

use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. `default_filter` applies when `RUST_LOG` is unset.
pub fn init_logging(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // A second call (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Gives the calling thread the lowest CPU priority (nice 19): it still runs when the CPU is
/// busy, but a runnable thread of normal priority (traffic) always goes first. On Linux the
/// nice value belongs to the thread, and threads it starts inherit it.
#[allow(unsafe_code)]
pub fn lower_thread_priority() -> std::io::Result<()> {
    // SAFETY: setpriority(2) takes plain integers and touches no memory of ours; `who = 0`
    // is the calling thread.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is called, not when
/// the future is first polled, so a signal that arrives during start-up is not lost.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
            match s {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! { _ = wait(term) => {}, _ = wait(int) => {} }
    }
}
