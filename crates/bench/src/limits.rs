//! The limits of the work itself, measured in the same run on the same cores: argon2id hashes
//! with the configured parameters, RS256 signatures with the IdP's own key manager, and a bare
//! actix-web handler answering the discovery document's bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Result;
use argon2::password_hash::{PasswordHasher, SaltString};

use crate::load::{self, Bounds, Stats};

/// Operations per second of `op` on `threads` OS threads for `duration`.
fn per_second_on_threads(
    threads: usize,
    duration: Duration,
    op: Arc<dyn Fn() + Send + Sync>,
) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (done, op) = (done.clone(), op.clone());
            std::thread::spawn(move || {
                while started.elapsed() < duration {
                    op();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// argon2id hashes/s with the IdP's parameters (the argon2 crate's defaults: m = 19 MiB,
/// t = 2, p = 1) on every core.
pub fn argon2_per_second(threads: usize, duration: Duration) -> f64 {
    per_second_on_threads(
        threads,
        duration,
        Arc::new(|| {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            let _ = argon2::Argon2::default().hash_password(b"Zeer-Sterk-Wachtw00rd-Tulp", &salt);
        }),
    )
}

/// RS256 signatures/s of ID-token-sized claims through the IdP's key manager, on every core.
pub fn signatures_per_second(
    keys: Arc<idp::keys::KeyManager>,
    threads: usize,
    duration: Duration,
) -> f64 {
    let claims = serde_json::json!({
        "iss": "http://127.0.0.1:8080", "sub": "3f8f0b7e-3c55-4c0e-9a55-2d2f4f1f6a10",
        "aud": "portal", "azp": "portal", "exp": 1_800_000_600, "iat": 1_800_000_000,
        "auth_time": 1_800_000_000, "nonce": "n-0123456789abcdef", "acr": "urn:hcc:acr:2fa",
        "amr": ["pwd", "otp"], "sid": "sid-0123456789abcdef0123456789abcdef",
        "email": "persoon1@ek88.nl", "name": "Test persoon1",
    });
    per_second_on_threads(
        threads,
        duration,
        Arc::new(move || {
            let _ = keys.sign(Some("JWT"), &claims);
        }),
    )
}

/// A bare actix-web server (as many workers as the IdP) answering `body` at `/`, loaded like
/// the IdP's discovery scenario.
pub async fn bare_handler(body: Vec<u8>, workers: usize, bounds: Bounds) -> Result<Stats> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let body = web::Bytes::from(body);
    let server = HttpServer::new(move || {
        let body = body.clone();
        App::new().route(
            "/",
            web::get().to(move || {
                let body = body.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(body)
                }
            }),
        )
    })
    .workers(workers)
    .listen(listener)?
    .run();
    let handle = server.handle();
    let running = tokio::spawn(server);
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/");
    let stats = load::run(bounds, move |_| {
        let (http, url) = (http.clone(), url.clone());
        async move { crate::journeys::get_ok(&http, &url).await }
    })
    .await;
    handle.stop(true).await;
    let _ = running.await;
    Ok(stats)
}
