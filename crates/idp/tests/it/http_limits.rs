//! What the HTTP layer refuses before any handler runs: request heads too large for the server
//! (431) and clients too slow to send theirs (408, then the connection is closed), so a few
//! idle sockets cannot tie the server up; and bodies that stop halfway (408 once
//! `server.request_body_timeout_seconds` is over).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::both_backends;
use crate::helpers::*;

/// After a refusal the server goes on serving others.
async fn assert_still_serving(app: &TestApp) {
    let ok = http()
        .get(format!("{}/health/live", app.address))
        .send()
        .await
        .unwrap();
    assert!(ok.status().is_success());
}

async fn an_oversized_request_head_is_refused_with_431(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = http()
        .get(format!("{}/login", app.address))
        .header("x-padding", "a".repeat(64 * 1024))
        .send()
        .await;
    match response {
        Ok(response) => assert_eq!(response.status().as_u16(), 431),
        // The server may close the connection while the client is still writing the head.
        Err(e) => assert!(e.is_request() || e.is_connect(), "{e}"),
    }
    assert_still_serving(&app).await;
}

both_backends!(an_oversized_request_head_is_refused_with_431);

async fn a_client_that_never_finishes_its_request_head_is_dropped(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options::settings(|s| s.server.request_head_timeout_seconds = 1),
    )
    .await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut socket = TcpStream::connect(&address).await.unwrap();
    socket
        .write_all(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    // No blank line: the head never ends.
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection was still open after 10 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

both_backends!(a_client_that_never_finishes_its_request_head_is_dropped);

/// Sends a head that promises a 100-byte body, then only part of it; what the server answers
/// (it must answer and close within `limit`).
async fn answer_to_a_body_that_stops_halfway(app: &TestApp, path: &str, limit: Duration) -> String {
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut socket = TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Language: nl\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
         grant_type=client_credentials&email="
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection was still open after 15 s");
    assert!(started.elapsed() < limit, "{:?}", started.elapsed());
    String::from_utf8_lossy(&answer).into_owned()
}

async fn a_client_that_stops_sending_its_body_is_answered_408(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options::settings(|s| s.server.request_body_timeout_seconds = 1),
    )
    .await;
    // A protocol endpoint: the RFC's JSON error, with 408.
    let answer = answer_to_a_body_that_stops_halfway(&app, "/token", Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"invalid_request\""), "{answer}");
    // A page's form: a page in the person's language, with 408.
    let answer = answer_to_a_body_that_stops_halfway(&app, "/login", Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("lang=\"nl\""), "{answer}");
    assert_still_serving(&app).await;
}

both_backends!(a_client_that_stops_sending_its_body_is_answered_408);
