//! The mailbox: an SMTP server in the test process that keeps every mail the IdP sends, the
//! parts of a mail as a person reads them, and the outbox as the IdP queued it — the place to
//! ask "was nothing sent?", because every queued mail is there once the background work is done.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use idp::storage::models::OutboxMail;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::TestApp;

/// A mail as the SMTP sink received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub raw: String,
}

impl ReceivedMail {
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next()?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    /// The decoded body of the part with this content type.
    pub fn part(&self, content_type: &str) -> String {
        let start = self
            .raw
            .find(&format!("Content-Type: {content_type}"))
            .unwrap_or_else(|| panic!("no {content_type} part"));
        let rest = &self.raw[start..];
        let body_start = rest.find("\r\n\r\n").unwrap() + 4;
        let body = &rest[body_start..];
        let end = body.find("\r\n--").unwrap_or(body.len());
        let encoded = &body[..end];
        if rest[..body_start].contains("quoted-printable") {
            decode_quoted_printable(encoded)
        } else if rest[..body_start].contains("base64") {
            let compact: String = encoded.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap(),
            )
            .unwrap()
        } else {
            encoded.to_owned()
        }
    }

    pub fn text(&self) -> String {
        self.part("text/plain")
    }

    pub fn html(&self) -> String {
        self.part("text/html")
    }

    /// The first link into the IdP found in the text body.
    pub fn link(&self) -> String {
        let text = self.text();
        text.split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .expect("a link in the mail")
            .to_owned()
    }
}

fn decode_quoted_printable(input: &str) -> String {
    let joined = input.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// An SMTP server in the test process that accepts and keeps every mail.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let store = mails.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = serve_smtp(stream, store).await;
                });
            }
        });
        Self { port, mails }
    }

    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.mails.lock().unwrap().clone()
    }

    pub fn mails_to(&self, address: &str) -> Vec<ReceivedMail> {
        self.mails()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r == address))
            .collect()
    }

    /// Waits (up to 10 s) until `count` mails for `address` have arrived.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<ReceivedMail> {
        for _ in 0..200 {
            let mails = self.mails_to(address);
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {count} mail(s) to {address}, got {}",
            self.mails_to(address).len()
        );
    }
}

async fn serve_smtp(
    stream: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<ReceivedMail>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut mail_from = String::new();
    let mut rcpt_to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            write
                .write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("MAIL FROM:") {
            mail_from = command[10..].trim().trim_matches(['<', '>']).to_owned();
            rcpt_to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            rcpt_to.push(command[8..].trim().trim_matches(['<', '>']).to_owned());
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(
                    line.strip_prefix('.')
                        .filter(|_| line.starts_with(".."))
                        .unwrap_or(&line),
                );
            }
            store.lock().unwrap().push(ReceivedMail {
                mail_from: mail_from.clone(),
                rcpt_to: rcpt_to.clone(),
                raw: data,
            });
            write.write_all(b"250 queued\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}

/// The mails of one app: what its SMTP sink received and what its outbox holds.
pub struct Mailbox<'a> {
    app: &'a TestApp,
}

impl TestApp {
    pub fn mailbox(&self) -> Mailbox<'_> {
        Mailbox { app: self }
    }
}

impl Mailbox<'_> {
    /// Every mail the sink received.
    pub fn all(&self) -> Vec<ReceivedMail> {
        self.app.smtp.mails()
    }

    pub fn mails_to(&self, address: &str) -> Vec<ReceivedMail> {
        self.app.smtp.mails_to(address)
    }

    /// Waits (up to 10 s) until `count` mails for `address` have arrived.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<ReceivedMail> {
        self.app.smtp.wait_for(address, count).await
    }

    /// The `n`-th mail to `address` (counting from 1), once it has arrived.
    pub async fn nth(&self, address: &str, n: usize) -> ReceivedMail {
        self.wait_for(address, n).await.swap_remove(n - 1)
    }

    /// The link in `mail`, checked to point at this IdP.
    pub fn link(&self, mail: &ReceivedMail) -> String {
        let link = mail.link();
        assert!(
            link.starts_with(&self.app.address),
            "{link} does not point at {}",
            self.app.address
        );
        link
    }

    /// Every mail queued for `address`, sent or not, once the IdP's background work (a
    /// forgot-password request is handled after its answer) has finished: a count read here
    /// is final.
    /// How many mails `address` has received once everything queued for it so far (a notice
    /// on its way, say) has arrived: the count to compare later counts with.
    pub async fn settled_count(&self, address: &str) -> usize {
        let queued = self.queued_for(address).await.len();
        self.wait_for(address, queued).await.len()
    }

    pub async fn queued_for(&self, address: &str) -> Vec<OutboxMail> {
        self.app.background_done().await;
        let address = address.to_owned();
        self.app
            .state
            .db
            .run(move |c| idp::storage::outbox::list_for_recipient(c, &address))
            .await
            .unwrap()
    }

    /// Every mail queued for anyone, once the background work has finished.
    pub async fn queued(&self) -> Vec<OutboxMail> {
        use diesel::prelude::*;
        self.app.background_done().await;
        self.app
            .state
            .db
            .run(|c| {
                idp::storage::schema::mail_outbox::table
                    .select(OutboxMail::as_select())
                    .load(c)
                    .map_err(idp::storage::DbError::from)
            })
            .await
            .unwrap()
    }
}
