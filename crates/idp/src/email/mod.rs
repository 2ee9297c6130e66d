//! Mail: rendering from tera templates, the transactional outbox, and the worker that hands
//! queued mails to SMTP (or to .eml files, the embedded default) with retries and backoff.

pub mod render;
pub mod transport;
pub mod worker;

pub use render::{MailRenderer, Notice, RenderedMail, SignInFrom};
pub use transport::MailTransport;
pub use worker::{MailDelivery, MailQueue};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::clock::UnixTime;
use crate::crypto::{Keyring, UnsealError};
use crate::domain::Email;
use crate::storage::models::{OutboxMail, new_id};
use crate::storage::{DbConnection, DbError, outbox};

/// Queues a rendered mail in the caller's transaction: it is sent only if that transaction
/// commits, and it is never lost once it has. The bodies carry one-time links, so they are
/// stored sealed (a database dump yields no working link) and blanked once sent.
pub fn enqueue(
    conn: &mut DbConnection,
    keyring: &Keyring,
    kind: &str,
    to: &Email,
    mail: RenderedMail,
    now: UnixTime,
) -> Result<String, DbError> {
    let id = new_id();
    let (body_text, body_html) = seal_bodies(keyring, &id, &mail.text, &mail.html);
    outbox::enqueue(
        conn,
        &OutboxMail {
            id: id.clone(),
            kind: kind.to_owned(),
            recipient: to.as_str().to_owned(),
            subject: mail.subject,
            body_text,
            body_html,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            claimed_until: None,
            sent_at: None,
            last_error: None,
            given_up_at: None,
        },
    )?;
    Ok(id)
}

/// Queues a security notice to `user` in the caller's transaction, in their language.
pub fn queue_notice(
    conn: &mut DbConnection,
    renderer: &MailRenderer,
    keyring: &Keyring,
    user: &crate::storage::models::User,
    notice: Notice,
    now: UnixTime,
) -> Result<(), crate::error::Fault> {
    queue_to_person(conn, keyring, user, notice, now, |language, last_name| {
        renderer.notice(language, last_name, notice, now)
    })
}

/// Queues [`Notice::NewSignIn`] to `user` in the caller's transaction, in their language.
pub fn queue_new_sign_in_notice(
    conn: &mut DbConnection,
    renderer: &MailRenderer,
    keyring: &Keyring,
    user: &crate::storage::models::User,
    from: SignInFrom<'_>,
    now: UnixTime,
) -> Result<(), crate::error::Fault> {
    queue_to_person(
        conn,
        keyring,
        user,
        Notice::NewSignIn,
        now,
        |language, last_name| renderer.new_sign_in(language, last_name, from, now),
    )
}

/// Renders `notice` for `user` (their language and last name) and queues it to their address.
fn queue_to_person(
    conn: &mut DbConnection,
    keyring: &Keyring,
    user: &crate::storage::models::User,
    notice: Notice,
    now: UnixTime,
    render: impl FnOnce(
        crate::domain::Language,
        Option<&str>,
    ) -> Result<RenderedMail, crate::templates::RenderError>,
) -> Result<(), crate::error::Fault> {
    let language = crate::domain::Language::from_tag(&user.language).unwrap_or_default();
    let mail = render(language, user.last_name.as_deref())?;
    let to = Email::parse(&user.email)
        .map_err(|e| crate::error::Fault::Internal(anyhow::anyhow!("stored address: {e}")))?;
    enqueue(conn, keyring, notice.kind(), &to, mail, now)?;
    Ok(())
}

fn seal_context(id: &str, part: &str) -> String {
    format!("outbox:{id}:{part}")
}

fn seal_bodies(keyring: &Keyring, id: &str, text: &str, html: &str) -> (String, String) {
    let seal = |part: &str, body: &str| {
        STANDARD.encode(keyring.seal(body.as_bytes(), &seal_context(id, part)))
    };
    (seal("text", text), seal("html", html))
}

/// The plain text and HTML bodies of a queued mail.
pub fn open_bodies(keyring: &Keyring, mail: &OutboxMail) -> Result<(String, String), UnsealError> {
    let open = |part: &str, sealed: &str| -> Result<String, UnsealError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| UnsealError)?;
        String::from_utf8(keyring.open(&bytes, &seal_context(&mail.id, part))?)
            .map_err(|_| UnsealError)
    };
    Ok((
        open("text", &mail.body_text)?,
        open("html", &mail.body_html)?,
    ))
}
