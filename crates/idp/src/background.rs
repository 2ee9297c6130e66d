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

    /// Waits (at most `limit`) until every task started so far has finished. Tasks still
    /// running at the limit stay tracked, so a later wait waits for them too.
    pub async fn wait(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        let mut pending: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        while let Some(mut task) = pending.pop() {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                pending.push(task);
                let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
                tasks.extend(pending);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_still_running_at_the_limit_is_waited_for_next_time() {
        let background = Background::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        background.spawn(async move {
            let _ = rx.await;
        });
        background.wait(Duration::from_millis(20)).await;
        assert_eq!(background.tasks.lock().unwrap().len(), 1, "still tracked");
        tx.send(()).unwrap();
        background.wait(Duration::from_secs(5)).await;
        assert!(background.tasks.lock().unwrap().is_empty());
    }
}
