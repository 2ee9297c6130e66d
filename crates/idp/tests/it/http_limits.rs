//! What the HTTP layer refuses before any handler runs: request heads too large for the server
//! (431) and clients too slow to send theirs (408, then the connection is closed), so a few
//! idle sockets cannot tie the server up.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::both_backends;
use crate::helpers::*;

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
    // And the server goes on serving.
    let ok = http()
        .get(format!("{}/health/live", app.address))
        .send()
        .await
        .unwrap();
    assert!(ok.status().is_success());
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
