//! `/account` ("Mijn account"): the person's own account page and its forms. Each handler
//! finds the browser's authenticated session, calls one `journeys::own_account` function and
//! answers with the page or a redirect back to `/account` with what was done. A change refused
//! for want of a fresh login goes to `/account/confirm` first (step-up); a browser without a
//! session logs in and comes back here.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::flow;
use super::page::{Page, PageError, ShownError};
use crate::domain::{Role, Stage};
use crate::journeys::JourneyError;
use crate::journeys::own_account::{self, Ending, Overview, PasswordChange};
use crate::journeys::second_factor::Presented;
use crate::oidc::authorize::{self, Resumed};
use crate::sessions::ClientInfo;
use crate::state::IdpState;
use crate::storage::models::Session;

/// The sections a step-up returns to, by the `next` the refused change named.
const SECTIONS: &[(&str, &str)] = &[
    ("password", "/account/password"),
    ("authenticator", "/account/authenticators/new"),
    ("authenticators", "/account#authenticators"),
    ("recovery", "/account#recovery-codes"),
    ("sessions", "/account#sessions"),
    ("permissions", "/account#permissions"),
];

/// What a redirect back to `/account?done=` may announce (catalogue keys `account_done_*`).
const DONE: &[&str] = &[
    "password",
    "authenticator_added",
    "authenticator_renamed",
    "authenticator_removed",
    "sessions_ended",
    "permission_revoked",
    "confirmed",
    "passkey_added",
];

fn section_href(next: &str) -> &'static str {
    SECTIONS
        .iter()
        .find(|(name, _)| *name == next)
        .map_or("/account", |(_, href)| href)
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf_token: String,
}

/// The browser's authenticated session. Without one, a page view logs in first and comes back
/// (`login_then_back`); a form post gets the "session expired" page.
async fn signed_in(req: &HttpRequest, state: &IdpState, page: &Page) -> Result<Session, PageError> {
    flow::session_in(req, state, page, Stage::Authenticated).await
}

/// To the login page, remembering to come back to the account page afterwards.
fn login_then_back(state: &IdpState, page: &Page) -> HttpResponse {
    page.redirect("/login")
        .cookie(flow::return_cookie(state, flow::Return::Account))
        .finish()
}

/// A journey's refusal as the answer to a form of the account page: a change that needs a
/// fresh login goes to the step-up page first and comes back to `next`.
fn refused(page: &Page, error: JourneyError, next: &str) -> Result<HttpResponse, PageError> {
    match error {
        JourneyError::StepUpRequired => Ok(page
            .redirect(&format!("/account/confirm?next={next}"))
            .finish()),
        other => Err(page.error(other)),
    }
}

fn done(page: &Page, what: &str) -> HttpResponse {
    page.redirect(&format!("/account?done={what}")).finish()
}

/// `value` as one path segment: unreserved characters stay, every other byte is `%XX`.
fn path_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A time on the page, in Amsterdam time and the page's language.
fn when(page: &Page, unix: i64) -> String {
    hcc_time::format_unix(unix, page.lang.into())
}

#[derive(Serialize)]
struct ShownAuthenticator {
    id: String,
    passkey: bool,
    name: String,
    named: bool,
    added: String,
    last_used: String,
}

#[derive(Serialize)]
struct ShownSession {
    handle: String,
    current: bool,
    device: String,
    address: String,
    started: String,
    last_seen: String,
    applications: String,
}

#[derive(Serialize)]
struct ShownPermission {
    /// The client id as a path segment (percent-encoded).
    client_path: String,
    client_name: String,
    scopes: Vec<String>,
    granted: String,
}

fn role_text(page: &Page, role: Role) -> String {
    page.text(match role {
        Role::Member => "role_member",
        Role::Superuser => "role_superuser",
        Role::HccStaff => "role_hcc_staff",
    })
}

fn device_text(page: &Page, user_agent: Option<&str>) -> String {
    crate::sessions::user_agent::in_words(
        user_agent,
        page.text("account_unknown_browser"),
        &page.text("notice_new_sign_in_device"),
    )
}

fn render_overview(
    page: &Page,
    passkeys_available: bool,
    overview: &Overview,
    fresh: bool,
    status: StatusCode,
    errors: Vec<ShownError>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = page.context(&page.text("account_title"));
    ctx.insert("errors", &errors);
    let user = &overview.user;
    let name = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    ctx.insert("name", &name);
    ctx.insert("email", &user.email);
    ctx.insert(
        "organisation",
        &overview.organisation.clone().unwrap_or_default(),
    );
    ctx.insert("role", &role_text(page, overview.role()));
    ctx.insert(
        "password_changed",
        &overview
            .password_changed_at
            .map(|t| when(page, t))
            .unwrap_or_default(),
    );
    let never = page.text("account_never");
    let authenticators: Vec<ShownAuthenticator> = overview
        .authenticators
        .iter()
        .enumerate()
        .map(|(i, a)| ShownAuthenticator {
            id: a.id.clone(),
            passkey: a.passkey,
            named: a.name.is_some(),
            name: a.name.clone().unwrap_or_else(|| {
                page.text("account_authenticator_unnamed")
                    .replace("{n}", &(i + 1).to_string())
            }),
            added: when(page, a.added_at),
            last_used: a
                .last_used_at
                .map_or_else(|| never.clone(), |t| when(page, t)),
        })
        .collect();
    ctx.insert("authenticators", &authenticators);
    ctx.insert("can_remove", &(authenticators.len() > 1));
    let (made, unused) = overview.recovery_codes;
    ctx.insert("recovery_made", &made);
    ctx.insert(
        "recovery_status",
        &if made == 0 {
            page.text("account_recovery_none")
        } else {
            page.text("account_recovery_left")
                .replace("{left}", &unused.to_string())
                .replace("{made}", &made.to_string())
        },
    );
    ctx.insert("recovery_low", &(made > 0 && unused <= 3));
    let sessions: Vec<ShownSession> = overview
        .sessions
        .iter()
        .map(|s| ShownSession {
            handle: s.handle.clone(),
            current: s.current,
            device: device_text(page, s.user_agent.as_deref()),
            address: s
                .address
                .clone()
                .unwrap_or_else(|| page.text("notice_new_sign_in_unknown_address")),
            started: when(page, s.started_at),
            last_seen: when(page, s.last_seen_at),
            applications: if s.applications.is_empty() {
                page.text("account_sessions_no_applications")
            } else {
                s.applications.join(", ")
            },
        })
        .collect();
    ctx.insert("has_other_sessions", &sessions.iter().any(|s| !s.current));
    ctx.insert("sessions", &sessions);
    let permissions: Vec<ShownPermission> = overview
        .permissions
        .iter()
        .map(|p| ShownPermission {
            client_path: path_segment(&p.client_id),
            client_name: p.client_name.clone(),
            scopes: p
                .scope
                .iter()
                .map(|s| page.text(&format!("scope_{s}")))
                .collect(),
            granted: when(page, p.granted_at),
        })
        .collect();
    ctx.insert("permissions", &permissions);
    ctx.insert("fresh", &fresh);
    let notice = page
        .query("done")
        .filter(|d| DONE.contains(&d.as_str()))
        .map(|d| page.text(&format!("account_done_{d}")))
        .unwrap_or_default();
    ctx.insert("notice", &notice);
    ctx.insert("portal_url", &page.portal_url());
    ctx.insert("passkeys_available", &passkeys_available);
    page.render(status, "pages/account.html", &ctx)
}

/// GET /account.
pub async fn show(req: HttpRequest, state: web::Data<IdpState>) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None);
    let Some(session) = flow::current_session(&req, &state)
        .await
        .map_err(|e| page.error(e))?
        .filter(|s| s.stage == Stage::Authenticated)
    else {
        return Ok(login_then_back(&state, &page));
    };
    let overview = own_account::overview(&state, &session)
        .await
        .map_err(|e| page.error(e))?;
    render_overview(
        &page,
        state.passkeys.available(),
        &overview,
        own_account::is_fresh(&state, &session),
        StatusCode::OK,
        Vec::new(),
    )
}

// --- Wachtwoord wijzigen -------------------------------------------------------------------

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    #[serde(default)]
    logout_others: Option<String>,
}

fn render_password(
    page: &Page,
    email: &str,
    logout_others: bool,
    status: StatusCode,
    errors: Vec<ShownError>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = page.context(&page.text("account_password_title"));
    ctx.insert("email", email);
    ctx.insert("logout_others", &logout_others);
    ctx.insert("errors", &errors);
    page.render(status, "pages/account_password.html", &ctx)
}

async fn email_of(state: &IdpState, page: &Page, session: &Session) -> Result<String, PageError> {
    let id = session.user_id.clone();
    let user = state
        .db
        .run(move |conn| crate::storage::users::find(conn, &id))
        .await
        .map_err(|e| page.error(JourneyError::from(crate::error::Fault::from(e))))?;
    user.map(|u| u.email)
        .ok_or_else(|| page.error(JourneyError::SessionExpired))
}

/// GET /account/password.
pub async fn show_password(
    req: HttpRequest,
    state: web::Data<IdpState>,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None);
    let Ok(session) = signed_in(&req, &state, &page).await else {
        return Ok(login_then_back(&state, &page));
    };
    if !own_account::is_fresh(&state, &session) {
        return refused(&page, JourneyError::StepUpRequired, "password");
    }
    let email = email_of(&state, &page, &session).await?;
    render_password(&page, &email, false, StatusCode::OK, Vec::new())
}

/// POST /account/password.
pub async fn submit_password(
    req: HttpRequest,
    state: web::Data<IdpState>,
    form: web::Form<PasswordForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let (page, session) =
        flow::posted(&req, &state, &form.csrf_token, Stage::Authenticated).await?;
    let logout_others = form.logout_others.is_some();
    let change = PasswordChange {
        current: SecretString::from(form.current_password),
        new: SecretString::from(form.password),
        confirmation: SecretString::from(form.password_confirm),
        logout_others,
    };
    match own_account::change_password(&state, &session, change, client).await {
        Ok(()) => Ok(done(&page, "password")),
        Err(JourneyError::Form(errors)) => {
            let email = email_of(&state, &page, &session).await?;
            let errors = page.field_errors(&errors);
            render_password(
                &page,
                &email,
                logout_others,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            )
        }
        Err(JourneyError::Throttled(seconds)) => {
            let email = email_of(&state, &page, &session).await?;
            let errors = vec![page.throttled_error("current_password", seconds)];
            render_password(
                &page,
                &email,
                logout_others,
                StatusCode::TOO_MANY_REQUESTS,
                errors,
            )
        }
        Err(other) => refused(&page, other, "password"),
    }
}

// --- Authenticators ------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct AddAuthenticatorForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    otp_code: String,
    #[serde(default)]
    device_name: String,
    #[serde(default)]
    after: String,
}

async fn render_add(
    page: &Page,
    state: &IdpState,
    session: &Session,
    device_name: &str,
    after_recovery: bool,
    status: StatusCode,
    errors: Vec<ShownError>,
) -> Result<HttpResponse, PageError> {
    let view = own_account::begin_authenticator(state, session)
        .await
        .map_err(|e| page.error(e))?;
    let mut ctx = page.context(&page.text("account_add_authenticator_title"));
    ctx.insert("qr_svg", &view.qr_svg);
    ctx.insert("manual_key", &view.manual_key);
    ctx.insert("device_name", device_name);
    ctx.insert("logout_others", &false);
    ctx.insert("errors", &errors);
    ctx.insert("action", "/account/authenticators/new");
    ctx.insert("adding", &true);
    ctx.insert("after_recovery", &after_recovery);
    page.render(status, "pages/otp_setup.html", &ctx)
}

/// GET /account/authenticators/new: the QR code of another authenticator app. After a login
/// with a recovery code (`?after=recovery`) it says why, and offers to do it later.
pub async fn show_add_authenticator(
    req: HttpRequest,
    state: web::Data<IdpState>,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None);
    let Ok(session) = signed_in(&req, &state, &page).await else {
        return Ok(login_then_back(&state, &page));
    };
    if !own_account::is_fresh(&state, &session) {
        return refused(&page, JourneyError::StepUpRequired, "authenticator");
    }
    let after_recovery = page.query("after").as_deref() == Some("recovery");
    render_add(
        &page,
        &state,
        &session,
        "",
        after_recovery,
        StatusCode::OK,
        Vec::new(),
    )
    .await
}

/// POST /account/authenticators/new.
pub async fn submit_add_authenticator(
    req: HttpRequest,
    state: web::Data<IdpState>,
    form: web::Form<AddAuthenticatorForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let (page, session) =
        flow::posted(&req, &state, &form.csrf_token, Stage::Authenticated).await?;
    let after_recovery = form.after == "recovery";
    match own_account::add_authenticator(
        &state,
        &session,
        &form.otp_code,
        &form.device_name,
        client,
    )
    .await
    {
        Ok(()) if after_recovery => Ok(page.redirect("/account/continue").finish()),
        Ok(()) => Ok(done(&page, "authenticator_added")),
        Err(JourneyError::WrongCode) => {
            let errors = page.shown_errors([("otp_code", "otp_error_invalid")]);
            render_add(
                &page,
                &state,
                &session,
                &form.device_name,
                after_recovery,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            )
            .await
        }
        Err(JourneyError::Form(errors)) => {
            let errors = page.field_errors(&errors);
            render_add(
                &page,
                &state,
                &session,
                "",
                after_recovery,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            )
            .await
        }
        Err(JourneyError::Throttled(seconds)) => {
            let errors = vec![page.throttled_error("otp_code", seconds)];
            render_add(
                &page,
                &state,
                &session,
                &form.device_name,
                after_recovery,
                StatusCode::TOO_MANY_REQUESTS,
                errors,
            )
            .await
        }
        Err(other) => refused(&page, other, "authenticator"),
    }
}

#[derive(Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    device_name: String,
}

/// POST /account/authenticators/{id}/rename.
pub async fn rename_authenticator(
    req: HttpRequest,
    state: web::Data<IdpState>,
    path: web::Path<String>,
    form: web::Form<RenameForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let (page, session) =
        flow::posted(&req, &state, &form.csrf_token, Stage::Authenticated).await?;
    match own_account::rename_authenticator(&state, &session, &path, &form.device_name, client)
        .await
    {
        Ok(()) => Ok(done(&page, "authenticator_renamed")),
        Err(JourneyError::Form(errors)) => {
            // The error is shown at the name field of this authenticator.
            let overview = own_account::overview(&state, &session)
                .await
                .map_err(|e| page.error(e))?;
            let errors = page
                .field_errors(&errors)
                .into_iter()
                .map(|e| ShownError {
                    field: format!("device_name-{path}"),
                    ..e
                })
                .collect();
            render_overview(
                &page,
                state.passkeys.available(),
                &overview,
                true,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            )
        }
        Err(other) => refused(&page, other, "authenticators"),
    }
}

/// POST /account/authenticators/{id}/remove.
pub async fn remove_authenticator(
    req: HttpRequest,
    state: web::Data<IdpState>,
    path: web::Path<String>,
    form: web::Form<CsrfOnly>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let (page, session) =
        flow::posted(&req, &state, &form.csrf_token, Stage::Authenticated).await?;
    match own_account::remove_authenticator(&state, &session, &path, client).await {
        Ok(()) => Ok(done(&page, "authenticator_removed")),
        Err(other) => refused(&page, other, "authenticators"),
    }
}

// --- Herstelcodes --------------------------------------------------------------------------

/// POST /account/recovery-codes: a new set, shown once on the answer to this post.
pub async fn new_recovery_codes(
    req: HttpRequest,
    state: web::Data<IdpState>,
    form: web::Form<CsrfOnly>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let (page, session) =
        flow::posted(&req, &state, &form.csrf_token, Stage::Authenticated).await?;
    match own_account::new_recovery_codes(&state, &session, client).await {
        Ok(codes) => {
            let mut ctx = page.context(&page.text("account_recovery_title"));
            ctx.insert("codes", &codes);
            page.render(StatusCode::OK, "pages/account_codes.html", &ctx)
        }
        Err(other) => refused(&page, other, "recovery"),
    }
}

// --- Sessies -------------------------------------------------------------------------------

/// POST /account/sessions/{handle}/end.
pub async fn end_session(
    req: HttpRequest,
    state: web::Data<IdpState>,
    path: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    end(req, state, form, Ending::One(path.into_inner())).await
}

/// POST /account/sessions/end-others.
pub async fn end_other_sessions(
    req: HttpRequest,
    state: web::Data<IdpState>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    end(req, state, form, Ending::AllOthers).await
}

async fn end(
    req: HttpRequest,
    state: web::Data<IdpState>,
    form: web::Form<CsrfOnly>,
    which: Ending,
) -> Result<HttpResponse, PageError> {
    let (page, session) =
        flow::posted(&req, &state, &form.csrf_token, Stage::Authenticated).await?;
    match own_account::end_sessions(&state, &session, which).await {
        Ok(_) => Ok(done(&page, "sessions_ended")),
        Err(other) => refused(&page, other, "sessions"),
    }
}

// --- Toestemmingen -------------------------------------------------------------------------

/// POST /account/permissions/{client_id}/revoke.
pub async fn revoke_permission(
    req: HttpRequest,
    state: web::Data<IdpState>,
    path: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let (page, session) =
        flow::posted(&req, &state, &form.csrf_token, Stage::Authenticated).await?;
    match own_account::revoke_permission(&state, &session, &path).await {
        Ok(()) => Ok(done(&page, "permission_revoked")),
        Err(other) => refused(&page, other, "permissions"),
    }
}

// --- Step-up -------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    otp_code: String,
    #[serde(default)]
    next: String,
}

async fn render_confirm(
    page: &Page,
    state: &IdpState,
    session: &Session,
    next: &str,
    status: StatusCode,
    errors: Vec<ShownError>,
) -> Result<HttpResponse, PageError> {
    let factors = crate::journeys::login::second_factors(state, session)
        .await
        .map_err(|e| page.error(e))?;
    let mut ctx = page.context(&page.text("step_up_title"));
    ctx.insert("passkeys", &factors.passkeys);
    ctx.insert("next", next);
    ctx.insert("errors", &errors);
    page.render(status, "pages/account_confirm.html", &ctx)
}

/// Where a step-up goes: the section that asked for it, or the account page.
pub fn after_step_up(next: &str) -> &'static str {
    let next = next_of(Some(next.to_owned()));
    if next.is_empty() {
        "/account?done=confirmed"
    } else {
        section_href(&next)
    }
}

/// The `next` of a step-up, if it names a section.
fn next_of(value: Option<String>) -> String {
    value
        .filter(|n| SECTIONS.iter().any(|(name, _)| name == n))
        .unwrap_or_default()
}

/// GET /account/confirm?next=: "Bevestig dat u het bent".
pub async fn show_confirm(
    req: HttpRequest,
    state: web::Data<IdpState>,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None);
    let Ok(session) = signed_in(&req, &state, &page).await else {
        return Ok(login_then_back(&state, &page));
    };
    let next = next_of(page.query("next"));
    render_confirm(&page, &state, &session, &next, StatusCode::OK, Vec::new()).await
}

/// POST /account/confirm: a code of an authenticator app (six digits) or a recovery code.
pub async fn submit_confirm(
    req: HttpRequest,
    state: web::Data<IdpState>,
    form: web::Form<ConfirmForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let (page, session) =
        flow::posted(&req, &state, &form.csrf_token, Stage::Authenticated).await?;
    let next = next_of(Some(form.next));
    let typed = form.otp_code.trim();
    // Six digits are a code of an authenticator app; anything else is tried as a recovery code.
    let presented = if typed
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace())
    {
        Presented::Code(typed.to_owned())
    } else {
        Presented::RecoveryCode(typed.to_owned())
    };
    match own_account::step_up(&state, &session, presented, client).await {
        Ok(()) => Ok(page.redirect(after_step_up(&next)).finish()),
        Err(JourneyError::WrongCode) => {
            let errors = page.shown_errors([("otp_code", "step_up_error_invalid")]);
            render_confirm(
                &page,
                &state,
                &session,
                &next,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            )
            .await
        }
        Err(JourneyError::Throttled(seconds)) => {
            let errors = vec![page.throttled_error("otp_code", seconds)];
            render_confirm(
                &page,
                &state,
                &session,
                &next,
                StatusCode::TOO_MANY_REQUESTS,
                errors,
            )
            .await
        }
        Err(other) => Err(page.error(other)),
    }
}

/// GET /account/continue: after a login with a recovery code and the question to set up a new
/// authenticator, the login goes on: to the application that was waiting, or this page.
pub async fn continue_login(
    req: HttpRequest,
    state: web::Data<IdpState>,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None);
    let session = signed_in(&req, &state, &page).await?;
    let parked = flow::auth_request_cookie_value(&req, &state);
    match authorize::resume(&state, parked.as_deref(), &session)
        .await
        .map_err(|e| page.error(e))?
    {
        Resumed::Answered(location) => Ok(page
            .redirect(&location)
            .cookie(flow::expired(&state, flow::AUTH_REQUEST_COOKIE))
            .finish()),
        Resumed::Consent => Ok(page.redirect("/consent").finish()),
        Resumed::Nothing => Ok(page.redirect("/account").finish()),
    }
}
