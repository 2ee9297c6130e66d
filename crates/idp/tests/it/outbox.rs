//! The transactional outbox: a mail queued while the SMTP server is down is delivered, once,
//! when it comes back.

use std::time::Duration;

use idp::domain::Language;
use idp::storage::models::OutboxMail;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

/// The outbox row `id` once `ready` holds for it (waiting up to 5 s).
async fn row_once(app: &TestApp, id: &str, ready: impl Fn(&OutboxMail) -> bool) -> OutboxMail {
    for _ in 0..100 {
        let id = id.to_owned();
        let row = app
            .state
            .db
            .run(move |c| idp::storage::outbox::find(c, &id))
            .await
            .unwrap()
            .unwrap();
        if ready(&row) {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the outbox row {id} did not get there in 5 s");
}

async fn mail_queued_while_smtp_is_down_is_delivered_when_it_is_up(backend: Backend) {
    // A port with nothing listening on it.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let app = spawn_app_with(
        backend,
        Options {
            smtp_port: Some(port),
            ..Options::default()
        },
    )
    .await;
    let admin = app.admin();
    let org = admin.create_organisation("EK88").await;
    let invited = admin.invite(&org, MARCO, None, Language::Nl).await.unwrap();

    // The worker tries, fails, and keeps the mail with a later retry time.
    let row = row_once(&app, &invited.mail_id, |r| r.attempts > 0).await;
    assert!(row.sent_at.is_none());
    assert!(row.last_error.is_some());

    // The SMTP server comes up: the mail arrives, exactly once.
    let sink = SmtpSink::start_on(port).await;
    let mails = sink.wait_for(MARCO, 1).await;
    assert!(mails[0].text().contains("/invitation/"));
    row_once(&app, &invited.mail_id, |r| r.sent_at.is_some()).await;
    // Marked sent, it is due no more: a worker of our own finds nothing left to send.
    let worker = idp::startup::outbox_worker(&app.state).unwrap();
    assert_eq!(worker.drain().await.unwrap(), 0, "nothing is due");
    assert_eq!(sink.mails_to(MARCO).len(), 1);

    // And the link in it works.
    let link = app.mailbox().link(&mails[0]);
    assert_eq!(app.browser().register(&link, STRONG).await.status(), 303);
}

both_backends!(mail_queued_while_smtp_is_down_is_delivered_when_it_is_up);

/// An SMTP server that accepts connections and never says a word: no greeting, no answer.
/// Dropping it closes the port and every connection it holds.
struct SilentSmtp {
    port: u16,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl SilentSmtp {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(socket);
            }
        });
        Self {
            port,
            accepted,
            task,
        }
    }
}

impl SilentSmtp {
    /// Closes the port and every connection, and waits until they are closed.
    async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for SilentSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The mail settings of a test against a server that may never answer.
fn short_mail_deadline() -> Options {
    Options::settings(|s| {
        s.mail.send_timeout_seconds = 2;
        s.mail.retry_base_seconds = 1;
        s.mail.retry_max_seconds = 1;
    })
}

async fn a_silent_smtp_server_times_out_and_the_mail_arrives_once_a_good_one_answers(
    backend: Backend,
) {
    let silent = SilentSmtp::start().await;
    let port = silent.port;
    let app = spawn_app_with(
        backend,
        Options {
            smtp_port: Some(port),
            ..short_mail_deadline()
        },
    )
    .await;
    let admin = app.admin();
    let org = admin.create_organisation("EK88").await;
    let invited = admin.invite(&org, MARCO, None, Language::Nl).await.unwrap();

    // The exchange has a deadline: the attempt ends as a failure to retry, it does not hang.
    let row = row_once(&app, &invited.mail_id, |r| r.attempts > 0).await;
    assert!(row.sent_at.is_none());
    let error = row.last_error.unwrap_or_default();
    assert!(error.contains("no answer"), "{error}");
    assert!(silent.accepted.load(std::sync::atomic::Ordering::SeqCst) >= 1);

    // A good server takes the port over: the mail arrives, exactly once.
    silent.stop().await;
    let sink = SmtpSink::start_on(port).await;
    let mails = sink.wait_for(MARCO, 1).await;
    assert!(mails[0].text().contains("/invitation/"));
    row_once(&app, &invited.mail_id, |r| r.sent_at.is_some()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.mails_to(MARCO).len(), 1);
}

both_backends!(a_silent_smtp_server_times_out_and_the_mail_arrives_once_a_good_one_answers);

async fn one_stuck_delivery_does_not_hold_up_the_others(backend: Backend) {
    let silent = SilentSmtp::start().await;
    let app = spawn_app_with(
        backend,
        Options {
            smtp_port: Some(silent.port),
            ..short_mail_deadline()
        },
    )
    .await;
    let admin = app.admin();
    let org = admin.create_organisation("EK88").await;
    let mut ids = Vec::new();
    for address in ["a@ek88.nl", "b@ek88.nl", "c@ek88.nl"] {
        ids.push(
            admin
                .invite(&org, address, None, Language::Nl)
                .await
                .unwrap()
                .mail_id,
        );
    }
    // Delivered side by side, the three exchanges are under way together: one after the other,
    // the third would not even start before two deadlines had passed.
    for _ in 0..60 {
        if silent.accepted.load(std::sync::atomic::Ordering::SeqCst) >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        silent.accepted.load(std::sync::atomic::Ordering::SeqCst) >= 3,
        "three connections within 3 s, before the first deadline had passed twice"
    );
    for id in &ids {
        let row = row_once(&app, id, |r| r.attempts > 0).await;
        assert!(row.sent_at.is_none());
    }
}

both_backends!(one_stuck_delivery_does_not_hold_up_the_others);
