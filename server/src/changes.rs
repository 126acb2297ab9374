//! Change events across server replicas: PostgreSQL `LISTEN/NOTIFY`. A trigger on
//! `gateway_environment` notifies `gatehouse_environment` (with the environment's name) when its
//! revision changes, at commit, whichever replica made the change; every replica listens and
//! wakes the gateways' long polls it holds. A lost connection is re-established by the
//! listener; waiters also re-check every [`FALLBACK`] in case a notification was missed.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

/// The notification channel (migrations/20261201000002_environment_notify.sql).
pub const CHANNEL: &str = "gatehouse_environment";
/// A waiting long poll re-reads the version this often even without a notification.
pub const FALLBACK: Duration = Duration::from_secs(5);

/// Counts notifications (and reconnections, after which a change may have been missed).
#[derive(Clone)]
pub struct Changes {
    rx: watch::Receiver<u64>,
}

impl Changes {
    /// Starts listening on `db` in the background.
    pub fn listen(db: &PgPool) -> Changes {
        let (tx, rx) = watch::channel(0u64);
        let db = db.clone();
        // Ends when the pool closes (its connection goes back first, so the database can be
        // dropped) or when nobody holds a receiver any more.
        let mut closing = db.close_event();
        tokio::spawn(async move {
            let work = async {
                loop {
                    tokio::select! {
                        result = follow(&db, &tx) => match result {
                            Ok(()) | Err(sqlx::Error::PoolClosed) => return,
                            Err(e) => {
                                tracing::warn!(error = %e, "environment change listener lost; polling until it is back");
                                // Whatever happened meanwhile is read by the next version check.
                                tx.send_modify(|n| *n += 1);
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        },
                        _ = tx.closed() => return,
                    }
                }
            };
            let _ = closing.do_until(work).await;
        });
        Changes { rx }
    }

    /// A receiver that has seen everything so far: `changed()` wakes at the next change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        let mut rx = self.rx.clone();
        rx.mark_unchanged();
        rx
    }
}

/// Forwards notifications until the connection fails.
async fn follow(db: &PgPool, tx: &watch::Sender<u64>) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(db).await?;
    listener.listen(CHANNEL).await?;
    // Connected (again): wake waiters once, for what they may have missed.
    tx.send_modify(|n| *n += 1);
    loop {
        // `None` (recv's reconnect) counts as a change: the version check sorts it out.
        let _ = listener.try_recv().await?;
        tx.send_modify(|n| *n += 1);
    }
}
