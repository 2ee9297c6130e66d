//! A relying party's back-channel logout endpoint (OpenID Connect Back-Channel Logout 1.0):
//! small HTTP servers on loopback that receive the IdP's logout tokens, or answer in a way a
//! test chooses — and the IdP's queue of notices, watched until its worker has got somewhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use idp::storage::logout_notices::LogoutNotice;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::helpers::TestApp;

/// One POST received by the back-channel logout receiver.
#[derive(Debug)]
pub struct Received {
    pub request_line: String,
    pub head: String,
    pub body: String,
}

/// A tiny HTTP/1.1 server on loopback: reads each request, answers 200, passes it on.
pub async fn backchannel_receiver() -> (String, UnboundedReceiver<Received>) {
    backchannel_receiver_on(0).await
}

pub async fn backchannel_receiver_on(port: u16) -> (String, UnboundedReceiver<Received>) {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let url = format!("http://{}/bc", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())
                            .flatten()
                    })
                    .unwrap_or(0);
                while buffer.len() < head_end + length {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                }
                let end = buffer.len().min(head_end + length);
                let body = String::from_utf8_lossy(&buffer[head_end..end]).into_owned();
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
                let _ = stream.shutdown().await;
                let _ = tx.send(Received {
                    request_line: head.lines().next().unwrap_or_default().to_owned(),
                    head,
                    body,
                });
            });
        }
    });
    (url, rx)
}

/// A server on loopback that answers every request with `response` and counts the requests.
pub async fn answering(response: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bc", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let response = response.clone();
            tokio::spawn(async move {
                let mut buffer = [0u8; 8192];
                let _ = stream.read(&mut buffer).await;
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (url, count)
}

/// The back-channel logout notices once `ready` holds for them (waiting up to 10 s).
pub async fn notices_once(
    app: &TestApp,
    ready: impl Fn(&[LogoutNotice]) -> bool,
) -> Vec<LogoutNotice> {
    for _ in 0..200 {
        let notices = app.admin().logout_notices().await;
        if ready(&notices) {
            return notices;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the back-channel notices did not get there in 10 s");
}
