//! Rendering hosted pages: the language of the request, the CSRF cookie and token, the common
//! context of the layout, and the one place an error becomes a page in the user's language.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError};
use tera::Context;

use super::cookies;
use crate::domain::Language;
use crate::journeys::JourneyError;
use crate::sessions::csrf::{self, CsrfCookie};
use crate::state::IdpState;

pub const LANGUAGE_COOKIE: &str = "hcc_lang";

/// The per-request view of a page: language, CSRF cookie, and the state to render with.
pub struct Page {
    pub lang: Language,
    state: IdpState,
    csrf: CsrfCookie,
    /// The session cookie's value: forms shown in this session carry tokens bound to it.
    session: Option<String>,
    lang_chosen: bool,
    /// The language cookie's value, if the browser has one.
    from_cookie: Option<Language>,
    path: String,
    query: String,
}

/// The `field` of an error that belongs to the whole form (no field is marked invalid).
pub const FORM: &str = "form";

/// A field error as the templates show it: the field's id and the message in the page language.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ShownError {
    pub field: String,
    pub message: String,
}

impl Page {
    /// Language: `?lang=` (the dropdown), then the language cookie, then a hint (OIDC
    /// `ui_locales` or the invited person's language), then `Accept-Language`, then Dutch.
    pub fn new(req: &HttpRequest, state: &IdpState, hint: Option<Language>) -> Self {
        let query = url::form_urlencoded::parse(req.query_string().as_bytes());
        let chosen = query
            .into_iter()
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Language::from_tag(&v));
        let from_cookie = req
            .cookie(&state.settings.cookie_name(LANGUAGE_COOKIE))
            .and_then(|c| Language::from_tag(c.value()));
        let from_header = req
            .headers()
            .get(actix_web::http::header::ACCEPT_LANGUAGE)
            .and_then(|h| h.to_str().ok())
            .and_then(Language::from_accept_language);
        let lang = chosen
            .or(from_cookie)
            .or(hint)
            .or(from_header)
            .unwrap_or_default();
        Self {
            lang,
            state: state.clone(),
            csrf: CsrfCookie::from_cookie(
                req.cookie(&state.settings.cookie_name(csrf::COOKIE))
                    .map(|c| c.value().to_owned()),
            ),
            session: super::flow::session_cookie_value(req, state),
            lang_chosen: chosen.is_some(),
            from_cookie,
            path: req.path().to_owned(),
            query: req.query_string().to_owned(),
        }
    }

    /// A form post: the language the form was shown in wins, and the pages after it (the
    /// redirect's target) keep it: the answer remembers it as the person's choice.
    pub fn with_language(mut self, lang: Option<Language>) -> Self {
        if let Some(lang) = lang {
            self.lang_chosen |= self.from_cookie != Some(lang);
            self.lang = lang;
        }
        self
    }

    /// A query parameter of the page request.
    pub fn query(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Where "« Terug naar Inloggen" leads: the IdP's own login page.
    pub fn login_href(&self) -> &str {
        "/login"
    }

    /// The employer portal's address (links back to it).
    pub fn portal_url(&self) -> String {
        self.state.settings.branding.portal_url.clone()
    }

    pub fn text(&self, key: &str) -> String {
        self.state.templates.text(self.lang, key)
    }

    /// The layout's context: language, catalogue, title and CSRF token.
    pub fn context(&self, title: &str) -> Context {
        let mut ctx = Context::new();
        ctx.insert("lang", self.lang.code());
        ctx.insert("t", self.state.templates.catalogue(self.lang));
        ctx.insert("title", title);
        ctx.insert(
            "csrf_token",
            &self
                .csrf
                .form_token(&self.state.keyring, self.session.as_deref()),
        );
        ctx.insert("language_switch", &self.path);
        ctx.insert("errors", &Vec::<ShownError>::new());
        ctx
    }

    pub fn shown_errors<'a>(
        &self,
        errors: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Vec<ShownError> {
        errors
            .into_iter()
            .map(|(field, key)| ShownError {
                field: field.to_owned(),
                message: self.text(key),
            })
            .collect()
    }

    /// "Too many attempts, try again in … seconds" at `field`.
    pub fn throttled_error(&self, field: &str, seconds: i64) -> ShownError {
        ShownError {
            field: field.to_owned(),
            message: self
                .text("login_error_throttled")
                .replace("{seconds}", &seconds.to_string()),
        }
    }

    /// A journey's field errors, in the page language: each message followed by its further
    /// sentences (why, and what would help), as one text.
    pub fn field_errors(&self, errors: &[crate::journeys::FieldError]) -> Vec<ShownError> {
        errors
            .iter()
            .map(|e| {
                let keys =
                    std::iter::once(e.message_key.as_str()).chain(e.detail_keys.iter().copied());
                ShownError {
                    field: e.field.to_owned(),
                    message: keys.map(|k| self.text(k)).collect::<Vec<_>>().join(" "),
                }
            })
            .collect()
    }

    pub fn render(
        &self,
        status: StatusCode,
        template: &str,
        ctx: &Context,
    ) -> Result<HttpResponse, PageError> {
        let body = self
            .state
            .templates
            .render(template, ctx)
            .map_err(|e| self.error(e))?;
        let mut builder = HttpResponse::build(status);
        self.cookies(&mut builder);
        Ok(builder.content_type("text/html; charset=utf-8").body(body))
    }

    /// A page with a title and paragraphs (each a catalogue key) and an optional link.
    pub fn message(
        &self,
        status: StatusCode,
        title_key: &str,
        paragraph_keys: &[&str],
        link: Option<(&str, &str)>,
    ) -> Result<HttpResponse, PageError> {
        self.message_with_links(status, title_key, paragraph_keys, link.as_slice())
    }

    /// A message page with links under it (`href`, catalogue key): the first as the button.
    pub fn message_with_links(
        &self,
        status: StatusCode,
        title_key: &str,
        paragraph_keys: &[&str],
        links: &[(&str, &str)],
    ) -> Result<HttpResponse, PageError> {
        let help = &self.state.settings.mail.help_address;
        let paragraphs: Vec<String> = paragraph_keys
            .iter()
            .map(|k| self.text(k).replace("{help_address}", help))
            .collect();
        let mut ctx = self.context(&self.text(title_key));
        ctx.insert("paragraphs", &paragraphs);
        let links: Vec<(String, String)> = links
            .iter()
            .map(|(href, key)| ((*href).to_owned(), self.text(key)))
            .collect();
        ctx.insert("links", &links);
        self.render(status, "pages/message.html", &ctx)
    }

    /// 303 See Other, the answer to a successful form post.
    pub fn redirect(&self, location: &str) -> HttpResponseBuilder {
        let mut builder = HttpResponse::SeeOther();
        builder.insert_header((actix_web::http::header::LOCATION, location.to_owned()));
        self.cookies(&mut builder);
        builder
    }

    fn cookies(&self, builder: &mut HttpResponseBuilder) {
        let settings = &self.state.settings;
        if self.csrf.is_new {
            builder
                .cookie(cookies::build(settings, csrf::COOKIE, self.csrf.value.clone()).finish());
        }
        if self.lang_chosen {
            builder.cookie(
                cookies::build(settings, LANGUAGE_COOKIE, self.lang.code().to_owned())
                    .max_age(actix_web::cookie::time::Duration::days(365))
                    .finish(),
            );
        }
    }

    pub fn error(&self, error: impl Into<JourneyError>) -> PageError {
        PageError(Box::new(PageErrorInner {
            error: error.into(),
            lang: self.lang,
            state: self.state.clone(),
        }))
    }

    /// Checks the CSRF token of a posted form against this browser's cookie and session.
    pub fn check_csrf(&self, req: &HttpRequest, form_token: &str) -> Result<(), PageError> {
        let cookie = req.cookie(&self.state.settings.cookie_name(csrf::COOKIE));
        if csrf::verify(
            &self.state.keyring,
            cookie.as_ref().map(|c| c.value()),
            self.session.as_deref(),
            form_token,
        ) {
            Ok(())
        } else {
            Err(self.error(JourneyError::Csrf))
        }
    }
}

/// An error on its way to becoming a page in the user's language.
pub struct PageError(Box<PageErrorInner>);

pub struct PageErrorInner {
    error: JourneyError,
    lang: Language,
    state: IdpState,
}

impl std::ops::Deref for PageError {
    type Target = PageErrorInner;

    fn deref(&self) -> &PageErrorInner {
        &self.0
    }
}

impl std::fmt::Debug for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

/// The page an error is shown as: its status, title, paragraphs and the link under them.
struct ErrorPage {
    status: StatusCode,
    title: &'static str,
    paragraphs: &'static [&'static str],
    link: (&'static str, &'static str),
}

const TO_LOGIN: (&str, &str) = ("/login", "to_login");

impl ErrorPage {
    fn of(error: &JourneyError) -> Self {
        let page = |status, title, paragraphs| ErrorPage {
            status,
            title,
            paragraphs,
            link: TO_LOGIN,
        };
        match error {
            JourneyError::NotFound => page(
                StatusCode::NOT_FOUND,
                "not_found_title",
                &["not_found_body"],
            ),
            JourneyError::Csrf => page(StatusCode::FORBIDDEN, "csrf_title", &["csrf_body"]),
            JourneyError::SessionExpired => page(
                StatusCode::FORBIDDEN,
                "session_expired_title",
                &["session_expired_body"],
            ),
            JourneyError::InvalidInvitation => page(
                StatusCode::GONE,
                "invitation_invalid_title",
                &["invitation_invalid_body", "invitation_invalid_help"],
            ),
            JourneyError::InvalidResetLink => ErrorPage {
                link: ("/password/forgot", "forgot_title"),
                ..page(
                    StatusCode::GONE,
                    "reset_invalid_title",
                    &["reset_invalid_body"],
                )
            },
            JourneyError::Throttled(_) | JourneyError::MailLimit => page(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled_title",
                &["throttled_body"],
            ),
            JourneyError::NotAllowed | JourneyError::BlockedByStaff => page(
                StatusCode::FORBIDDEN,
                "not_allowed_title",
                &["not_allowed_body"],
            ),
            JourneyError::UnknownUser | JourneyError::UnknownOrganisation => page(
                StatusCode::NOT_FOUND,
                "not_found_title",
                &["not_found_body"],
            ),
            JourneyError::Fault(fault) if fault.is_unavailable() => page(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable_title",
                &["unavailable_body"],
            ),
            JourneyError::Fault(_) => page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "error_title",
                &["error_body"],
            ),
            JourneyError::TooSlow => page(
                StatusCode::REQUEST_TIMEOUT,
                "bad_request_title",
                &["bad_request_body"],
            ),
            JourneyError::UnsupportedMediaType => page(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_request_title",
                &["bad_request_body"],
            ),
            JourneyError::StepUpRequired => ErrorPage {
                link: ("/account/confirm", "step_up_title"),
                ..page(StatusCode::FORBIDDEN, "step_up_title", &["step_up_intro"])
            },
            JourneyError::LastAuthenticator => ErrorPage {
                link: ("/account", "account_back"),
                ..page(
                    StatusCode::CONFLICT,
                    "last_authenticator_title",
                    &["last_authenticator_body"],
                )
            },
            JourneyError::BadRequest(_)
            | JourneyError::InvalidCredentials
            | JourneyError::WrongCode
            | JourneyError::Form(_)
            | JourneyError::AlreadyRegistered(_)
            | JourneyError::OtherOrganisation(_)
            | JourneyError::OrganisationMismatch
            | JourneyError::LastSuperuser
            | JourneyError::RoleNotAssignable
            | JourneyError::InvitationClosed
            | JourneyError::InvalidToken
            | JourneyError::InvalidClientMetadata(_) => page(
                StatusCode::BAD_REQUEST,
                "bad_request_title",
                &["bad_request_body"],
            ),
        }
    }
}

/// The one place an error becomes a page, in the person's language. A fault is logged once,
/// with the request id, by `request_span`; the page never shows its details.
impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        ErrorPage::of(&self.error).status
    }

    fn error_response(&self) -> HttpResponse {
        let shown = ErrorPage::of(&self.error);
        let templates = &self.state.templates;
        let help = &self.state.settings.mail.help_address;
        let mut ctx = Context::new();
        ctx.insert("lang", self.lang.code());
        ctx.insert("t", templates.catalogue(self.lang));
        ctx.insert("title", &templates.text(self.lang, shown.title));
        let paragraphs: Vec<String> = shown
            .paragraphs
            .iter()
            .map(|key| {
                templates
                    .text(self.lang, key)
                    .replace("{help_address}", help)
            })
            .collect();
        ctx.insert("paragraphs", &paragraphs);
        ctx.insert("language_switch", "");
        ctx.insert("link_href", shown.link.0);
        ctx.insert("link_text", &templates.text(self.lang, shown.link.1));
        let html = templates
            .render("pages/error.html", &ctx)
            .unwrap_or_else(|_| "<!doctype html><title>Error</title><h1>Error</h1>".to_owned());
        let mut response = HttpResponse::build(shown.status);
        if shown.status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((
                actix_web::http::header::RETRY_AFTER,
                crate::error::RETRY_AFTER_SECONDS,
            ));
        }
        response.content_type("text/html; charset=utf-8").body(html)
    }
}
