//! The load generator: `concurrency` tasks repeat one request (or one whole journey) until the
//! time or the count is up, each timing its own iterations into one HDR histogram.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::Mutex;

/// How long and how much a scenario may run: whichever ends first.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub concurrency: usize,
    pub duration: Duration,
    pub max_count: u64,
}

/// What one scenario measured.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub count: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The first error seen, for the report.
    pub first_error: Option<String>,
}

/// Runs `iteration(i)` (i counts from 0 across all tasks) within `bounds`.
pub async fn run<F, Fut>(bounds: Bounds, iteration: F) -> Stats
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let iteration = Arc::new(iteration);
    let issued = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None));
    let histogram = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).unwrap_or_else(|_| unreachable!()),
    ));
    let started = Instant::now();
    let deadline = started + bounds.duration;
    let mut tasks = Vec::with_capacity(bounds.concurrency);
    for _ in 0..bounds.concurrency {
        let (iteration, issued, errors) = (iteration.clone(), issued.clone(), errors.clone());
        let (histogram, first_error) = (histogram.clone(), first_error.clone());
        tasks.push(tokio::spawn(async move {
            let mut own = Histogram::<u64>::new_from(&*histogram.lock().await);
            while Instant::now() < deadline {
                let i = issued.fetch_add(1, Ordering::SeqCst);
                if i >= bounds.max_count {
                    break;
                }
                let began = Instant::now();
                match iteration(i).await {
                    Ok(()) => {
                        let micros = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
                        let _ = own.record(micros.max(1));
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::SeqCst);
                        first_error.lock().await.get_or_insert(e);
                    }
                }
            }
            let _ = histogram.lock().await.add(&own);
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let histogram = histogram.lock().await;
    let count = histogram.len();
    Stats {
        count,
        errors: errors.load(Ordering::SeqCst),
        per_second: count as f64 / elapsed.max(1e-9),
        p50_ms: histogram.value_at_quantile(0.50) as f64 / 1000.0,
        p99_ms: histogram.value_at_quantile(0.99) as f64 / 1000.0,
        first_error: first_error.lock().await.clone(),
    }
}
