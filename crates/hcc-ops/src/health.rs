//! The health probe of the container images: `idp health` and `portal health` ask their own
//! server's health endpoint and exit 0 on 200, so the runtime image needs no curl. A plain
//! HTTP/1.1 GET over `std::net`: it runs every few seconds, must never hang, and needs nothing
//! more.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

/// How long each step (connect, send, read the status line) may take. Below the images'
/// health-check timeout (3 s), so a server that hangs is reported by the probe, with the step
/// it hung at, rather than the probe being killed.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// The most of the answer read: the status line is all the probe looks at.
const MAX_STATUS_LINE: u64 = 1024;

/// Asks `GET http://<host>:<port><path>` of a server listening on `host` (a wildcard address
/// is asked on loopback); `Ok` when it answers 200, else an error naming the URL and the answer
/// or the step that failed.
pub fn probe(host: &str, port: u16, path: &str, timeout: Duration) -> anyhow::Result<()> {
    let host = local_host(host);
    let url = format!("http://{}{path}", authority(host, port));
    let status = status(host, port, path, timeout).with_context(|| format!("GET {url}"))?;
    if status != 200 {
        bail!("GET {url} answered {status}");
    }
    Ok(())
}

/// Where a server listening on `host` is reached from its own machine: on loopback when it
/// listens on every address (`0.0.0.0` in a container), else at that address.
pub fn local_host(host: &str) -> &str {
    match host.trim().trim_start_matches('[').trim_end_matches(']') {
        "" | "0.0.0.0" => "127.0.0.1",
        "::" => "::1",
        other => other,
    }
}

/// `host:port` as a URL and a `Host` header spell it (an IPv6 address in brackets).
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The status code of the answer to one GET.
fn status(host: &str, port: u16, path: &str, timeout: Duration) -> anyhow::Result<u16> {
    let mut stream = connect(host, port, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: hcc-health-probe\r\nConnection: close\r\n\r\n",
        authority(host, port)
    );
    stream
        .write_all(request.as_bytes())
        .context("sending the request")?;
    let mut line = String::new();
    BufReader::new(stream.take(MAX_STATUS_LINE))
        .read_line(&mut line)
        .context("reading the answer")?;
    status_code(&line)
}

/// A connection to the first of `host`'s addresses that accepts one within `timeout`.
fn connect(host: &str, port: u16, timeout: Duration) -> anyhow::Result<TcpStream> {
    let addresses = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("resolving {host}"))?;
    let mut refused = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => {
                refused = Some(anyhow::Error::new(e).context(format!("connecting to {address}")))
            }
        }
    }
    Err(refused.unwrap_or_else(|| anyhow!("{host} has no address")))
}

/// The code of an HTTP status line (`HTTP/1.1 200 OK`).
fn status_code(line: &str) -> anyhow::Result<u16> {
    let mut parts = line.split_ascii_whitespace();
    match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => code
            .parse()
            .with_context(|| format!("not a status code: {code:?}")),
        _ => bail!("not an HTTP answer: {:?}", line.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::time::Instant;

    use super::*;

    /// A server on a random loopback port that answers one request with `answer`; its port.
    fn answering(answer: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut head = [0u8; 1024];
            let _ = stream.read(&mut head);
            let _ = stream.write_all(answer.as_bytes());
        });
        port
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[test]
    fn a_200_is_healthy() {
        let port = answering("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        probe("127.0.0.1", port, "/health/live", TIMEOUT).unwrap();
    }

    #[test]
    fn a_503_is_not_and_the_error_says_so() {
        let port = answering("HTTP/1.1 503 Service Unavailable\r\nretry-after: 5\r\n\r\n");
        let error = probe("0.0.0.0", port, "/health/ready", TIMEOUT).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("GET http://127.0.0.1:{port}/health/ready answered 503")
        );
    }

    #[test]
    fn nothing_listening_is_not_healthy() {
        let error = probe("127.0.0.1", free_port(), "/health/live", TIMEOUT).unwrap_err();
        assert!(
            format!("{error:#}").contains("connecting to 127.0.0.1:"),
            "{error:#}"
        );
    }

    #[test]
    fn an_answer_that_is_not_http_is_not_healthy() {
        let port = answering("SSH-2.0-OpenSSH\r\n");
        let error = probe("127.0.0.1", port, "/health/live", TIMEOUT).unwrap_err();
        assert!(
            format!("{error:#}").contains("not an HTTP answer"),
            "{error:#}"
        );
    }

    #[test]
    fn a_server_that_never_answers_is_given_up_on_in_time() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let started = Instant::now();
        let error = probe(
            "127.0.0.1",
            port,
            "/health/live",
            Duration::from_millis(200),
        );
        assert!(error.is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(listener);
    }

    #[test]
    fn wildcard_addresses_are_asked_on_loopback() {
        assert_eq!(local_host("0.0.0.0"), "127.0.0.1");
        assert_eq!(local_host("::"), "::1");
        assert_eq!(local_host("[::]"), "::1");
        assert_eq!(local_host("10.1.2.3"), "10.1.2.3");
        assert_eq!(authority("::1", 8080), "[::1]:8080");
        assert_eq!(authority("127.0.0.1", 8080), "127.0.0.1:8080");
    }
}
