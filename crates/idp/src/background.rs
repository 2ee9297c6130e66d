//! Work that outlives the request that started it (back-channel logout deliveries, a
//! forgot-password request handled after the answer). Tracked, so a short-lived process — the
//! admin command line — can wait for it before it exits instead of dropping it.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;

#[derive(Debug, Clone, Default)]
pub struct Background {
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Background {
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(work);
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    /// Waits (at most `limit`) until every task started so far has finished.
    pub async fn wait(&self, limit: Duration) {
        let pending: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        let _ = tokio::time::timeout(limit, async {
            for task in pending {
                let _ = task.await;
            }
        })
        .await;
    }
}
