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
