//! The transactional outbox: a mail queued while the SMTP server is down is delivered, once,
//! when it comes back.

use idp::domain::Language;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

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
    let mail_id = invited.mail_id.clone();
    let mut row = None;
    for _ in 0..100 {
        let id = mail_id.clone();
        let current = app
            .state
            .db
            .run(move |c| idp::storage::outbox::find(c, &id))
            .await
            .unwrap()
            .unwrap();
        if current.attempts > 0 {
            row = Some(current);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let row = row.expect("the worker attempted delivery");
    assert!(row.sent_at.is_none());
    assert!(row.last_error.is_some());

    // The SMTP server comes up: the mail arrives, exactly once.
    let sink = SmtpSink::start_on(port).await;
    let mails = sink.wait_for(MARCO, 1).await;
    assert!(mails[0].text().contains("/invitation/"));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.mails_to(MARCO).len(), 1);
    let id = mail_id.clone();
    let row = app
        .state
        .db
        .run(move |c| idp::storage::outbox::find(c, &id))
        .await
        .unwrap()
        .unwrap();
    assert!(row.sent_at.is_some());

    // And the link in it works.
    let link = app.mailbox().link(&mails[0]);
    assert_eq!(app.browser().register(&link, STRONG).await.status(), 303);
}

both_backends!(mail_queued_while_smtp_is_down_is_delivered_when_it_is_up);
