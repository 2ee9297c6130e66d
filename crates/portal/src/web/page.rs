//! Rendering pages: the language of the request, the CSRF cookie and form token, the cookies
//! the portal sets, and the one place an error becomes a page in the person's language.

use actix_web::cookie::{Cookie, CookieBuilder, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tera::Context;

use crate::domain::Language;
use crate::error::PortalError;
use crate::oidc::OidcError;
use crate::state::PortalState;
use crate::templates::fill;

/// The portal's cookies have names of their own: IdP and portal may share a host in development.
pub const SESSION_COOKIE: &str = "hcc_portal_session";
pub const LOGIN_COOKIE: &str = "hcc_portal_login";
pub const CSRF_COOKIE: &str = "hcc_portal_csrf";
pub const LANGUAGE_COOKIE: &str = "hcc_portal_lang";

/// The per-request view of a page.
pub struct Page {
    pub lang: Language,
    pub state: Data<PortalState>,
    csrf: String,
    csrf_is_new: bool,
    lang_chosen: bool,
    path: String,
}

impl Page {
    /// Language: `?lang=` (the language choice), then the language cookie, then
    /// `Accept-Language`, then Dutch.
    pub fn new(req: &HttpRequest, state: &Data<PortalState>) -> Self {
        let settings = &state.settings;
        let chosen = url::form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Language::from_tag(&v));
        let from_cookie = req
            .cookie(&settings.cookie_name(LANGUAGE_COOKIE))
            .and_then(|c| Language::from_tag(c.value()));
        let from_header = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|h| h.to_str().ok())
            .and_then(Language::from_accept_language);
        let csrf = req
            .cookie(&settings.cookie_name(CSRF_COOKIE))
            .map(|c| c.value().to_owned())
            .filter(|v| v.len() >= 32);
        Self {
            lang: chosen.or(from_cookie).or(from_header).unwrap_or_default(),
            state: state.clone(),
            csrf_is_new: csrf.is_none(),
            csrf: csrf.unwrap_or_else(|| URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())),
            lang_chosen: chosen.is_some(),
            path: req.path().to_owned(),
        }
    }

    pub fn text(&self, key: &str) -> String {
        self.state.templates.text(self.lang, key)
    }

    /// A message with its `{placeholders}` filled in (`{help_address}` always).
    pub fn fill(&self, key: &str, values: &[(&str, &str)]) -> String {
        let help = self.state.settings.support.help_address.as_str();
        fill(&fill(&self.text(key), values), &[("help_address", help)])
    }

    fn form_token(&self) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.state.csrf_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(b"portal-csrf/v1:");
        mac.update(self.csrf.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// A posted form's token must be this browser's, and a browser's `Origin` this portal.
    pub fn check_csrf(&self, req: &HttpRequest, presented: &str) -> Result<(), PageError> {
        let origin_ok = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .is_none_or(|origin| {
                let base = self.state.settings.public_base();
                url::Url::parse(base).is_ok_and(|u| u.origin().ascii_serialization() == origin)
            });
        let token_ok = !self.csrf_is_new
            && bool::from(presented.as_bytes().ct_eq(self.form_token().as_bytes()));
        if origin_ok && token_ok {
            Ok(())
        } else {
            Err(self.error(PortalError::Csrf))
        }
    }

    /// The layout's context: language, catalogue, title, CSRF token and language choice.
    pub fn context(&self, title: &str) -> Context {
        let mut ctx = Context::new();
        ctx.insert("lang", self.lang.code());
        ctx.insert("t", self.state.templates.catalogue(self.lang));
        ctx.insert("title", title);
        ctx.insert("csrf_token", &self.form_token());
        ctx.insert("path", &self.path);
        ctx.insert("nav", &false);
        ctx.insert("errors", &Vec::<ShownError>::new());
        ctx.insert("account_url", &self.account_url());
        ctx
    }

    /// **Mijn account**: the person's own account page on the IdP, in this page's language.
    pub fn account_url(&self) -> String {
        format!(
            "{}/account?lang={}",
            self.state.settings.idp.issuer.trim_end_matches('/'),
            self.lang.code()
        )
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
        self.set_cookies(&mut builder);
        Ok(builder
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body))
    }

    /// A page with a title, one paragraph and an optional link (catalogue keys).
    pub fn message(
        &self,
        status: StatusCode,
        title_key: &str,
        text_key: &str,
        link: Option<(&str, &str)>,
    ) -> Result<HttpResponse, PageError> {
        let mut ctx = self.context(&self.text(title_key));
        ctx.insert("text", &self.fill(text_key, &[]));
        ctx.insert("link_href", link.map_or("", |(href, _)| href));
        ctx.insert(
            "link_text",
            &link.map_or(String::new(), |(_, key)| self.text(key)),
        );
        self.render(status, "pages/message.html", &ctx)
    }

    /// 303 See Other, the answer to a form post or a step of the login.
    pub fn redirect(&self, location: &str) -> HttpResponseBuilder {
        let mut builder = HttpResponse::SeeOther();
        builder.insert_header((header::LOCATION, location.to_owned()));
        builder.insert_header((header::CACHE_CONTROL, "no-store"));
        self.set_cookies(&mut builder);
        builder
    }

    /// A cookie named `base`: HttpOnly, SameSite=Lax (it must come along on the redirect back
    /// from the IdP), Secure with the `__Host-` prefix over https.
    pub fn cookie(&self, base: &str, value: String) -> CookieBuilder<'static> {
        let settings = &self.state.settings;
        Cookie::build(settings.cookie_name(base), value)
            .path("/")
            .http_only(true)
            .secure(settings.secure_cookies())
            .same_site(SameSite::Lax)
    }

    pub fn removal(&self, base: &str) -> Cookie<'static> {
        let mut cookie = self.cookie(base, String::new()).finish();
        cookie.make_removal();
        cookie
    }

    fn set_cookies(&self, builder: &mut HttpResponseBuilder) {
        if self.csrf_is_new {
            builder.cookie(self.cookie(CSRF_COOKIE, self.csrf.clone()).finish());
        }
        if self.lang_chosen {
            builder.cookie(
                self.cookie(LANGUAGE_COOKIE, self.lang.code().to_owned())
                    .max_age(actix_web::cookie::time::Duration::days(365))
                    .finish(),
            );
        }
    }

    pub fn error(&self, error: impl Into<PortalError>) -> PageError {
        PageError(Box::new(Failed {
            error: error.into(),
            lang: self.lang,
            state: self.state.clone(),
        }))
    }

    pub fn shown_errors(&self, errors: &[(String, String)]) -> Vec<ShownError> {
        errors
            .iter()
            .map(|(field, key)| ShownError {
                field: field.clone(),
                message: self.text(key),
            })
            .collect()
    }
}

/// A field error as the templates show it: the field's id and the message.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ShownError {
    pub field: String,
    pub message: String,
}

pub struct PageError(Box<Failed>);

struct Failed {
    error: PortalError,
    lang: Language,
    state: Data<PortalState>,
}

impl std::fmt::Debug for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.error.fmt(f)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.error.fmt(f)
    }
}

impl PageError {
    /// Status, title and text of the page, and where its link leads.
    fn page(
        &self,
    ) -> (
        StatusCode,
        &'static str,
        &'static str,
        Option<(&'static str, &'static str)>,
    ) {
        let try_again = Some(("/", "try_again"));
        match &self.0.error {
            PortalError::SignedOut | PortalError::SessionEnded(_) => {
                (StatusCode::SEE_OTHER, "", "", None)
            }
            PortalError::Csrf => (StatusCode::BAD_REQUEST, "csrf_title", "csrf_text", None),
            PortalError::Login(OidcError::Refused(_)) => (
                StatusCode::BAD_REQUEST,
                "login_failed_title",
                "login_refused_text",
                try_again,
            ),
            PortalError::Login(_) => (
                StatusCode::BAD_REQUEST,
                "login_failed_title",
                "login_failed_text",
                try_again,
            ),
            PortalError::Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden_title",
                "forbidden_text",
                Some(("/dashboard", "back_to_dashboard")),
            ),
            PortalError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found_title",
                "not_found_text",
                Some(("/dashboard", "back_to_dashboard")),
            ),
            PortalError::BadRequest(_) => (
                StatusCode::BAD_REQUEST,
                "bad_request_title",
                "bad_request_text",
                None,
            ),
            PortalError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "idp_unavailable_title",
                "idp_unavailable_text",
                try_again,
            ),
            PortalError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "error_title",
                "error_text",
                None,
            ),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.page().0
    }

    fn error_response(&self) -> HttpResponse {
        let failed = &self.0;
        let settings = &failed.state.settings;
        match &failed.error {
            PortalError::SignedOut => {
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, "/"))
                    .finish();
            }
            PortalError::SessionEnded(why) => {
                tracing::info!(why = %why, "portal session ended");
                let mut removal = Cookie::build(settings.cookie_name(SESSION_COOKIE), "")
                    .path("/")
                    .http_only(true)
                    .secure(settings.secure_cookies())
                    .same_site(SameSite::Lax)
                    .finish();
                removal.make_removal();
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, "/?session=ended"))
                    .cookie(removal)
                    .finish();
            }
            PortalError::Internal(why) | PortalError::Unavailable(why) => {
                tracing::error!(error = %why, "portal request failed");
            }
            other => tracing::info!(error = %other, "portal request refused"),
        }
        let (status, title_key, text_key, link) = self.page();
        let templates = &failed.state.templates;
        let text = |key: &str| templates.text(failed.lang, key);
        let mut ctx = Context::new();
        ctx.insert("lang", failed.lang.code());
        ctx.insert("t", templates.catalogue(failed.lang));
        ctx.insert("title", &text(title_key));
        ctx.insert("csrf_token", "");
        ctx.insert("path", "/");
        ctx.insert("nav", &false);
        ctx.insert("errors", &Vec::<ShownError>::new());
        ctx.insert(
            "text",
            &fill(
                &text(text_key),
                &[("help_address", &settings.support.help_address)],
            ),
        );
        ctx.insert("link_href", link.map_or("", |(href, _)| href));
        ctx.insert(
            "link_text",
            &link.map_or(String::new(), |(_, key)| text(key)),
        );
        let body = templates
            .render("pages/message.html", &ctx)
            .unwrap_or_else(|_| text(title_key));
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body)
    }
}
