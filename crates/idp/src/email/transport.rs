//! Where mails go: an SMTP server (plain, STARTTLS or implicit TLS) or a folder of .eml files.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::{MailSettings, MailTransportKind, SmtpTls};
use crate::storage::models::OutboxMail;

#[derive(Clone)]
pub enum MailTransport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

impl std::fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailTransport::Smtp(_) => f.write_str("MailTransport::Smtp"),
            MailTransport::File(_) => f.write_str("MailTransport::File"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the mail could not be built: {0}")]
    Build(String),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("file transport: {0}")]
    File(#[from] lettre::transport::file::Error),
}

impl SendError {
    /// A mail that cannot be built will never be sendable: no point retrying it.
    pub fn is_permanent(&self) -> bool {
        match self {
            SendError::Build(_) => true,
            SendError::Smtp(e) => e.is_permanent(),
            SendError::File(_) => false,
        }
    }
}

impl MailTransport {
    pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Self> {
        match settings.transport {
            MailTransportKind::File => {
                std::fs::create_dir_all(&settings.file_dir)?;
                Ok(MailTransport::File(AsyncFileTransport::new(
                    &settings.file_dir,
                )))
            }
            MailTransportKind::Smtp => {
                let smtp = &settings.smtp;
                let mut builder = match smtp.tls {
                    SmtpTls::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                    }
                    SmtpTls::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?
                    }
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?,
                }
                .port(smtp.port)
                .timeout(Some(Duration::from_secs(smtp.timeout_seconds)));
                if !smtp.username.is_empty() {
                    let password = smtp
                        .password
                        .as_ref()
                        .map(|p| p.expose_secret().to_owned())
                        .unwrap_or_default();
                    builder =
                        builder.credentials(Credentials::new(smtp.username.clone(), password));
                }
                Ok(MailTransport::Smtp(builder.build()))
            }
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self {
            MailTransport::Smtp(t) => {
                t.send(message).await?;
            }
            MailTransport::File(t) => {
                t.send(message).await?;
            }
        }
        Ok(())
    }
}

/// Builds the MIME message of an outbox row: text and HTML alternatives.
pub fn build_message(
    mail: &OutboxMail,
    text: &str,
    html: &str,
    from: &str,
    reply_to: &str,
) -> Result<Message, SendError> {
    let parse = |s: &str| {
        s.parse::<Mailbox>()
            .map_err(|e| SendError::Build(format!("{s}: {e}")))
    };
    Message::builder()
        .from(parse(from)?)
        .reply_to(parse(reply_to)?)
        .to(parse(&mail.recipient)?)
        .subject(mail.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            text.to_owned(),
            html.to_owned(),
        ))
        .map_err(|e| SendError::Build(e.to_string()))
}
