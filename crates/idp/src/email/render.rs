//! Renders the mails of the manual from their templates: subject, plain text and HTML.

use std::sync::Arc;

use tera::Context;

use crate::config::Settings;
use crate::domain::Language;
use crate::templates::{RenderError, Templates};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Clone)]
pub struct MailRenderer {
    templates: Arc<Templates>,
    company: String,
    portal_name: String,
    help_address: String,
}

/// What the invitation mail says; every field is filled, so nothing can render empty or "null".
#[derive(Debug, Clone)]
pub struct InvitationMail<'a> {
    pub last_name: Option<&'a str>,
    pub organisation: &'a str,
    pub link: &'a str,
    pub valid_days: i64,
    /// When the link stops working, shown in Amsterdam time exactly as the portal lists it.
    pub expires_at: i64,
}

/// A security notice to the person (never with a link that logs in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    PasswordChanged,
    AuthenticatorAdded,
    /// Reset by someone else: a superuser of the organisation, or HCC staff.
    AuthenticatorReset {
        by_staff: bool,
    },
    AccountBlocked {
        by_staff: bool,
    },
    /// A login from a browser that had not logged in to the account before (no device cookie
    /// for it); the mail says from which browser, platform and address ([`SignInFrom`]).
    NewSignIn,
    /// Another authenticator app added from the account page, beside the ones the person has.
    AuthenticatorLinked,
    /// An authenticator app, passkey or security key removed from the account page.
    AuthenticatorRemoved,
    /// A passkey or security key added from the account page.
    PasskeyAdded,
    /// A new set of recovery codes (the old ones no longer work).
    RecoveryCodesGenerated,
    /// A recovery code stood in for the one-time code at login; `left` are still unused.
    RecoveryCodeUsed {
        left: i64,
    },
}

/// Where a login came from, as a [`Notice::NewSignIn`] tells it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignInFrom<'a> {
    pub user_agent: Option<&'a str>,
    pub address: Option<&'a str>,
}

impl Notice {
    /// The mail kind in the outbox, and the catalogue keys' stem.
    pub fn kind(self) -> &'static str {
        match self {
            Notice::PasswordChanged => "notice_password_changed",
            Notice::AuthenticatorAdded => "notice_authenticator_added",
            Notice::AuthenticatorReset { .. } => "notice_authenticator_reset",
            Notice::AccountBlocked { .. } => "notice_account_blocked",
            Notice::NewSignIn => "notice_new_sign_in",
            Notice::AuthenticatorLinked => "notice_authenticator_linked",
            Notice::AuthenticatorRemoved => "notice_authenticator_removed",
            Notice::PasskeyAdded => "notice_passkey_added",
            Notice::RecoveryCodesGenerated => "notice_recovery_codes_generated",
            Notice::RecoveryCodeUsed { .. } => "notice_recovery_code_used",
        }
    }

    /// Whom the notice names as having done it, when it was not the person.
    fn by_staff(self) -> Option<bool> {
        match self {
            Notice::AuthenticatorReset { by_staff } | Notice::AccountBlocked { by_staff } => {
                Some(by_staff)
            }
            Notice::PasswordChanged
            | Notice::AuthenticatorAdded
            | Notice::NewSignIn
            | Notice::AuthenticatorLinked
            | Notice::AuthenticatorRemoved
            | Notice::PasskeyAdded
            | Notice::RecoveryCodesGenerated
            | Notice::RecoveryCodeUsed { .. } => None,
        }
    }
}

impl MailRenderer {
    pub fn new(templates: Arc<Templates>, settings: &Settings) -> Self {
        Self {
            templates,
            company: settings.branding.company.clone(),
            portal_name: settings.branding.portal_name.clone(),
            help_address: settings.mail.help_address.clone(),
        }
    }

    pub fn invitation(
        &self,
        language: Language,
        mail: &InvitationMail<'_>,
    ) -> Result<RenderedMail, RenderError> {
        let mut ctx = self.base_context(language, mail.last_name);
        ctx.insert("organisation", mail.organisation);
        ctx.insert("link", mail.link);
        ctx.insert("valid_days", &mail.valid_days);
        ctx.insert(
            "expires",
            &hcc_time::format_unix(mail.expires_at, language.into()),
        );
        let subject = self
            .templates
            .text(language, "mail_invitation_subject")
            .replace("{organisation}", mail.organisation);
        self.render("invitation", language, subject, &ctx)
    }

    pub fn password_reset(
        &self,
        language: Language,
        last_name: Option<&str>,
        link: &str,
        valid_minutes: i64,
    ) -> Result<RenderedMail, RenderError> {
        let mut ctx = self.base_context(language, last_name);
        ctx.insert("link", link);
        ctx.insert("valid_minutes", &valid_minutes);
        let subject = self.templates.text(language, "mail_password_reset_subject");
        self.render("password_reset", language, subject, &ctx)
    }

    /// A security notice: what happened, when, and whom to contact if it was not the person.
    pub fn notice(
        &self,
        language: Language,
        last_name: Option<&str>,
        notice: Notice,
        when: i64,
    ) -> Result<RenderedMail, RenderError> {
        let details = match notice {
            Notice::RecoveryCodeUsed { left } => vec![
                self.templates
                    .text(language, "notice_recovery_code_used_left")
                    .replace("{left}", &left.to_string()),
            ],
            _ => Vec::new(),
        };
        self.notice_with(language, last_name, notice, when, details)
    }

    /// [`Notice::NewSignIn`]: when, the browser and platform, the address, and what to do if it
    /// was not the person.
    pub fn new_sign_in(
        &self,
        language: Language,
        last_name: Option<&str>,
        from: SignInFrom<'_>,
        when: i64,
    ) -> Result<RenderedMail, RenderError> {
        let text = |key: &str| self.templates.text(language, key);
        let device = crate::sessions::user_agent::in_words(
            from.user_agent,
            text("notice_new_sign_in_unknown_browser"),
            &text("notice_new_sign_in_device"),
        );
        let address = from
            .address
            .map_or_else(|| text("notice_new_sign_in_unknown_address"), str::to_owned);
        let details = vec![
            text("notice_new_sign_in_from")
                .replace("{device}", &device)
                .replace("{address}", &address),
            text("notice_new_sign_in_advice"),
        ];
        self.notice_with(language, last_name, Notice::NewSignIn, when, details)
    }

    fn notice_with(
        &self,
        language: Language,
        last_name: Option<&str>,
        notice: Notice,
        when: i64,
        details: Vec<String>,
    ) -> Result<RenderedMail, RenderError> {
        let text = |key: &str| self.templates.text(language, key);
        let mut ctx = self.base_context(language, last_name);
        ctx.insert("details", &details);
        let what = match notice.by_staff() {
            Some(true) => text(&format!("{}_by_staff", notice.kind())),
            Some(false) => text(&format!("{}_by_superuser", notice.kind())),
            None => text(&format!("{}_body", notice.kind())),
        };
        ctx.insert("what", &what.replace("{company}", &self.company));
        ctx.insert(
            "when",
            &text("notice_when").replace("{when}", &hcc_time::format_unix(when, language.into())),
        );
        let contact = if notice.by_staff() == Some(false) {
            text("notice_contact_superuser")
        } else {
            text("notice_contact")
        };
        ctx.insert(
            "contact",
            &contact.replace("{help_address}", &self.help_address),
        );
        let subject = text(&format!("{}_subject", notice.kind()));
        self.render("notice", language, subject, &ctx)
    }

    fn base_context(&self, language: Language, last_name: Option<&str>) -> Context {
        let mut ctx = Context::new();
        ctx.insert(
            "salutation",
            &salutation(&self.templates, language, last_name),
        );
        ctx.insert("company", &self.company);
        ctx.insert("portal_name", &self.portal_name);
        ctx.insert("help_address", &self.help_address);
        ctx.insert("lang", language.code());
        ctx
    }

    fn render(
        &self,
        kind: &str,
        language: Language,
        subject: String,
        ctx: &Context,
    ) -> Result<RenderedMail, RenderError> {
        let mut ctx = ctx.clone();
        ctx.insert("subject", &subject);
        let body = self
            .templates
            .render(&format!("mail/{kind}.{}.html", language.code()), &ctx)?;
        ctx.insert("body", &body);
        let html = self.templates.render("mail/layout.html", &ctx)?;
        let text = self
            .templates
            .render(&format!("mail/{kind}.{}.txt", language.code()), &ctx)?;
        Ok(RenderedMail {
            subject,
            text,
            html,
        })
    }
}

/// "Beste heer/mevrouw Van Basten," — in Dutch a surname prefix is written with a capital when
/// no first name precedes it; without a known last name the salutation stays general.
fn salutation(templates: &Templates, language: Language, last_name: Option<&str>) -> String {
    match last_name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => {
            let mut chars = name.chars();
            let capitalised: String = chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            templates
                .text(language, "mail_salutation_named")
                .replace("{last_name}", &capitalised)
        }
        None => templates.text(language, "mail_salutation_unnamed"),
    }
}
