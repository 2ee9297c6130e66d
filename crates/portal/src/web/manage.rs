//! **Gebruikers beheren**: HCC staff pick an organisation first (and may create one); a
//! superuser goes straight to their own. The page lists the people and the invitations, invites
//! someone, and acts on one person; every action is a form with a CSRF token, goes to the IdP's
//! admin API with the person's own token (the IdP decides and audits), and is confirmed on the
//! page in words.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Path};
use actix_web::{HttpRequest, HttpResponse};

use super::nav::{self, invitation_status_name, plausible_id, role_name, status_name};
use super::page::{Page, PageError, ShownError};
use super::signed_in::{SignedIn, is_staff, may_manage};
use crate::admin_api::{ApiFailure, Invitation, InviteBody, Person, PersonAction, Problem};
use crate::domain::local_time::format_rfc3339;
use crate::error::PortalError;
use crate::sessions::FlashKind;
use crate::state::PortalState;

/// A signed-in person who may manage users, or the page that says they may not.
pub(super) async fn manager(
    req: &HttpRequest,
    state: &Data<PortalState>,
) -> Result<SignedIn, PageError> {
    let signed_in = SignedIn::of(req, state).await?;
    if !may_manage(&signed_in.person().await) {
        return Err(signed_in.page.error(PortalError::Forbidden));
    }
    Ok(signed_in)
}

/// Checks the form's CSRF token first, then who is asking.
async fn manager_posting(
    req: &HttpRequest,
    state: &Data<PortalState>,
    csrf_token: &str,
) -> Result<SignedIn, PageError> {
    Page::new(req, state).check_csrf(req, csrf_token)?;
    manager(req, state).await
}

fn checked_id<'a>(page: &Page, id: &'a str) -> Result<&'a str, PageError> {
    if plausible_id(id) {
        Ok(id)
    } else {
        Err(page.error(PortalError::NotFound))
    }
}

#[derive(serde::Serialize)]
struct OrganisationRow {
    id: String,
    name: String,
    created: String,
    link_text: String,
}

/// `GET /beheer`: staff see the organisations; a superuser their own organisation's page.
pub async fn start(req: HttpRequest, state: Data<PortalState>) -> Result<HttpResponse, PageError> {
    let signed_in = manager(&req, &state).await?;
    let person = signed_in.person().await;
    if !is_staff(&person) {
        let own = person
            .organisation
            .as_ref()
            .ok_or_else(|| signed_in.page.error(PortalError::Forbidden))?;
        return Ok(signed_in
            .page
            .redirect(&format!("/beheer/{}", own.id))
            .finish());
    }
    organisations_page(&signed_in, StatusCode::OK, None).await
}

async fn organisations_page(
    signed_in: &SignedIn,
    status: StatusCode,
    name_error: Option<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let page = &signed_in.page;
    let api = &signed_in.state().api;
    let organisations = signed_in
        .api_or_page(|token| async move { api.organisations(&token).await })
        .await?;
    let rows: Vec<OrganisationRow> = organisations
        .into_iter()
        .map(|o| OrganisationRow {
            link_text: page.fill("manage_organisation", &[("organisation", &o.name)]),
            created: format_rfc3339(&o.created_at, page.lang),
            id: o.id,
            name: o.name,
        })
        .collect();
    let person = signed_in.person().await;
    let mut ctx = page.context(&page.text("organisations_title"));
    nav::insert(&mut ctx, &person, "manage");
    ctx.insert("organisations", &rows);
    ctx.insert("flash", &signed_in.take_flash().await);
    let (value, errors) = match name_error {
        Some((value, key)) => (value, page.shown_errors(&[("name".into(), key)])),
        None => (String::new(), Vec::new()),
    };
    ctx.insert("name_value", &value);
    ctx.insert("errors", &errors);
    page.render(status, "pages/organisations.html", &ctx)
}

#[derive(Debug, serde::Deserialize)]
pub struct OrganisationForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
}

/// `POST /beheer`: staff create an organisation.
pub async fn create_organisation(
    req: HttpRequest,
    state: Data<PortalState>,
    form: Form<OrganisationForm>,
) -> Result<HttpResponse, PageError> {
    let signed_in = manager_posting(&req, &state, &form.csrf_token).await?;
    let api = &signed_in.state().api;
    let name = form.name.trim().to_owned();
    let created = signed_in
        .api(|token| {
            let name = name.clone();
            async move { api.create_organisation(&token, &name).await }
        })
        .await?;
    match created {
        Ok(organisation) => {
            let text = signed_in.page.fill(
                "done_organisation_created",
                &[("organisation", &organisation.name)],
            );
            signed_in.flash(FlashKind::Done, text).await;
            Ok(signed_in.page.redirect("/beheer").finish())
        }
        Err(ApiFailure::Rejected(_)) => {
            let error = (form.name.clone(), "name_error_too_long".to_owned());
            let error = if name.is_empty() {
                (error.0, "name_error_empty".to_owned())
            } else {
                error
            };
            organisations_page(&signed_in, StatusCode::BAD_REQUEST, Some(error)).await
        }
        Err(other) => Err(signed_in.page.error(other)),
    }
}

/// What one row of the people table shows and offers.
#[derive(serde::Serialize)]
struct PersonRow {
    id: String,
    email: String,
    name: String,
    role: String,
    status: String,
    authenticator: String,
    last_login: String,
    /// The latest invitation, for **Uitnodiging opnieuw versturen**.
    resend: Option<String>,
    /// A pending invitation, for **Uitnodiging intrekken**.
    revoke: Option<String>,
    reset_authenticator: bool,
    block: bool,
    unblock: bool,
    /// Only staff can unblock this one: said beside the button.
    unblock_hint: Option<String>,
    /// The role it can change to (`member` ↔ `superuser`); none for staff.
    other_role: Option<RoleChoice>,
    logout: bool,
}

#[derive(serde::Serialize)]
struct RoleChoice {
    value: &'static str,
    label: String,
    current_value: String,
    current_label: String,
}

#[derive(serde::Serialize)]
struct InvitationRow {
    email: String,
    role: String,
    status: String,
    sent: String,
    expires: String,
}

/// What the invite form was filled in with, shown again beside its errors.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct InviteForm {
    #[serde(default, skip_serializing)]
    csrf_token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    language: String,
}

fn person_row(page: &Page, p: &Person, invitations: &[Invitation], staff: bool) -> PersonRow {
    let name = [p.first_name.as_deref(), p.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let latest = invitations
        .iter()
        .filter(|i| i.user_id == p.id)
        .max_by(|a, b| a.created_at.cmp(&b.created_at));
    let invited = p.status == "invited";
    let registered = !invited;
    let other_role = match p.role.as_str() {
        "member" => Some("superuser"),
        "superuser" => Some("member"),
        _ => None,
    };
    PersonRow {
        id: p.id.clone(),
        email: p.email.clone(),
        name,
        role: role_name(page, Some(&p.role)),
        status: status_name(page, &p.status, p.blocked_by_staff),
        authenticator: page.text(if p.authenticator { "yes" } else { "no" }),
        last_login: p
            .last_login_at
            .as_deref()
            .map_or_else(|| page.text("never"), |t| format_rfc3339(t, page.lang)),
        resend: latest.filter(|_| invited).map(|i| i.id.clone()),
        revoke: latest
            .filter(|i| invited && i.status == "pending")
            .map(|i| i.id.clone()),
        reset_authenticator: registered && p.authenticator,
        block: registered && p.status != "disabled",
        unblock: p.status == "disabled",
        unblock_hint: (p.status == "disabled" && p.blocked_by_staff && !staff)
            .then(|| page.fill("refused_blocked_by_staff", &[])),
        other_role: other_role.map(|value| RoleChoice {
            value,
            label: role_name(page, Some(value)),
            current_value: p.role.clone(),
            current_label: role_name(page, Some(&p.role)),
        }),
        logout: registered && p.status != "disabled",
    }
}

/// `GET /beheer/{org}`.
pub async fn show(
    req: HttpRequest,
    state: Data<PortalState>,
    org: Path<String>,
) -> Result<HttpResponse, PageError> {
    let signed_in = manager(&req, &state).await?;
    manage_page(
        &signed_in,
        &org,
        StatusCode::OK,
        InviteForm::default(),
        Vec::new(),
    )
    .await
}

async fn manage_page(
    signed_in: &SignedIn,
    org: &str,
    status: StatusCode,
    form: InviteForm,
    errors: Vec<ShownError>,
) -> Result<HttpResponse, PageError> {
    let page = &signed_in.page;
    let org = checked_id(page, org)?;
    let api = &signed_in.state().api;
    let organisation = signed_in
        .api_or_page(|token| async move { api.organisation(&token, org).await })
        .await?;
    let people = signed_in
        .api_or_page(|token| async move { api.people(&token, org).await })
        .await?;
    let invitations = signed_in
        .api_or_page(|token| async move { api.invitations(&token, org).await })
        .await?;
    let person = signed_in.person().await;
    let staff = is_staff(&person);
    let rows: Vec<PersonRow> = people
        .iter()
        .map(|p| person_row(page, p, &invitations, staff))
        .collect();
    let invitation_rows: Vec<InvitationRow> = invitations
        .iter()
        .rev()
        .map(|i| InvitationRow {
            email: i.email.clone(),
            role: role_name(page, Some(&i.role)),
            status: invitation_status_name(page, &i.status),
            sent: format_rfc3339(&i.created_at, page.lang),
            expires: format_rfc3339(&i.expires_at, page.lang),
        })
        .collect();
    let title = format!("{} – {}", page.text("manage_title"), organisation.name);
    let mut ctx = page.context(&title);
    nav::insert(&mut ctx, &person, "manage");
    ctx.insert("organisation", &organisation);
    ctx.insert("people", &rows);
    ctx.insert("invitations", &invitation_rows);
    ctx.insert("staff", &staff);
    ctx.insert("flash", &signed_in.take_flash().await);
    let language = if form.language.is_empty() {
        page.lang.code().to_owned()
    } else {
        form.language.clone()
    };
    ctx.insert("form", &InviteForm { language, ..form });
    ctx.insert("errors", &errors);
    page.render(status, "pages/manage.html", &ctx)
}

/// `POST /beheer/{org}/uitnodigen`: **Uitnodigen**.
pub async fn invite(
    req: HttpRequest,
    state: Data<PortalState>,
    org: Path<String>,
    form: Form<InviteForm>,
) -> Result<HttpResponse, PageError> {
    let signed_in = manager_posting(&req, &state, &form.csrf_token).await?;
    let page = &signed_in.page;
    let org = checked_id(page, &org)?.to_owned();
    let form = form.into_inner();
    let role = match form.role.as_str() {
        "superuser" => "superuser",
        _ => "member",
    };
    let language = match form.language.as_str() {
        "en" => "en",
        _ => "nl",
    };
    let body = InviteBody {
        email: form.email.trim().to_owned(),
        first_name: form.first_name.trim().to_owned(),
        last_name: form.last_name.trim().to_owned(),
        role: role.to_owned(),
        language: language.to_owned(),
    };
    let api = &signed_in.state().api;
    let invited = signed_in
        .api(|token| {
            let (body, org) = (body.clone(), org.clone());
            async move { api.invite(&token, &org, &body).await }
        })
        .await?;
    let field_errors = |problem: &Problem| -> Vec<(String, String)> {
        let errors: Vec<(String, String)> = problem
            .errors
            .iter()
            .map(|e| {
                let key = if state.templates.has(&e.code) {
                    e.code.clone()
                } else {
                    "field_error_invalid".to_owned()
                };
                (e.field.clone(), key)
            })
            .collect();
        if errors.is_empty() {
            vec![("email".to_owned(), "refused_invalid".to_owned())]
        } else {
            errors
        }
    };
    let errors = match invited {
        Ok(invitation) => {
            let text = page.fill(
                "done_invited",
                &[
                    ("email", &invitation.email),
                    (
                        "expires",
                        &format_rfc3339(&invitation.expires_at, page.lang),
                    ),
                ],
            );
            signed_in.flash(FlashKind::Done, text).await;
            return Ok(page.redirect(&format!("/beheer/{org}")).finish());
        }
        Err(ApiFailure::Rejected(problem)) => match problem.name() {
            "invalid" => field_errors(&problem),
            "conflict" => vec![("email".to_owned(), "refused_already_registered".to_owned())],
            "too-many-requests" => vec![("email".to_owned(), "refused_throttled".to_owned())],
            _ => vec![("email".to_owned(), "refused_invalid".to_owned())],
        },
        Err(other) => return Err(page.error(other)),
    };
    let errors = page.shown_errors(&errors);
    manage_page(&signed_in, &org, StatusCode::BAD_REQUEST, form, errors).await
}

#[derive(Debug, serde::Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    role: String,
}

/// The invitation actions: **Uitnodiging opnieuw versturen**, **Uitnodiging intrekken**.
pub async fn invitation_action(
    req: HttpRequest,
    state: Data<PortalState>,
    path: Path<(String, String, String)>,
    form: Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let signed_in = manager_posting(&req, &state, &form.csrf_token).await?;
    let page = &signed_in.page;
    let (org, id, action) = path.into_inner();
    let (org, id) = (checked_id(page, &org)?, checked_id(page, &id)?);
    let api = &signed_in.state().api;
    // Whose invitation it is, for the confirmation (and a 404 for an id of elsewhere).
    let invitations = signed_in
        .api_or_page(|token| async move { api.invitations(&token, org).await })
        .await?;
    let email = invitations
        .iter()
        .find(|i| i.id == id)
        .map(|i| i.email.clone())
        .unwrap_or_default();
    let outcome = match action.as_str() {
        "opnieuw-versturen" => signed_in
            .api(|token| async move { api.resend_invitation(&token, org, id).await })
            .await?
            .map(|invitation| {
                page.fill(
                    "done_resent",
                    &[
                        ("email", &invitation.email),
                        (
                            "expires",
                            &format_rfc3339(&invitation.expires_at, page.lang),
                        ),
                    ],
                )
            }),
        "intrekken" => signed_in
            .api(|token| async move { api.revoke_invitation(&token, org, id).await })
            .await?
            .map(|()| page.fill("done_revoked", &[("email", &email)])),
        _ => return Err(page.error(PortalError::NotFound)),
    };
    confirm(
        &signed_in,
        org,
        outcome,
        &email,
        "refused_invitation_closed",
    )
    .await
}

/// The person actions: **Authenticator resetten**, **Blokkeren**, **Deblokkeren**,
/// **Rol wijzigen**, **Uitloggen op alle apparaten**.
pub async fn person_action(
    req: HttpRequest,
    state: Data<PortalState>,
    path: Path<(String, String, String)>,
    form: Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let signed_in = manager_posting(&req, &state, &form.csrf_token).await?;
    let page = &signed_in.page;
    let (org, id, action) = path.into_inner();
    let (org, id) = (checked_id(page, &org)?, checked_id(page, &id)?);
    let api = &signed_in.state().api;
    let (action, done) = match action.as_str() {
        "authenticator-resetten" => (
            Some(PersonAction::ResetAuthenticator),
            "done_reset_authenticator",
        ),
        "blokkeren" => (Some(PersonAction::Disable), "done_blocked"),
        "deblokkeren" => (Some(PersonAction::Enable), "done_unblocked"),
        "uitloggen" => (Some(PersonAction::Logout), "done_logged_out"),
        "rol" => (None, "done_role"),
        _ => return Err(page.error(PortalError::NotFound)),
    };
    let outcome = match action {
        Some(action) => {
            signed_in
                .api(|token| async move { api.act(&token, org, id, action).await })
                .await?
        }
        None => {
            let role = match form.role.as_str() {
                "superuser" => "superuser",
                "member" => "member",
                _ => return Err(page.error(PortalError::BadRequest("unknown role".into()))),
            };
            signed_in
                .api(|token| async move { api.change_role(&token, org, id, role).await })
                .await?
        }
    };
    let email = outcome
        .as_ref()
        .map(|p| p.email.clone())
        .unwrap_or_default();
    let outcome = outcome.map(|p| {
        page.fill(
            done,
            &[
                ("email", &p.email),
                ("role", &role_name(page, Some(&p.role))),
            ],
        )
    });
    // A refusal names the person it was about; the answer had none, so ask.
    let email = if email.is_empty() {
        signed_in
            .api(|token| async move { api.people(&token, org).await })
            .await?
            .ok()
            .and_then(|people| people.into_iter().find(|p| p.id == id))
            .map(|p| p.email)
            .unwrap_or_default()
    } else {
        email
    };
    confirm(&signed_in, org, outcome, &email, "refused_conflict").await
}

/// The action's outcome in words on the manage page: what was done, or why not.
async fn confirm(
    signed_in: &SignedIn,
    org: &str,
    outcome: Result<String, ApiFailure>,
    email: &str,
    conflict: &'static str,
) -> Result<HttpResponse, PageError> {
    let page = &signed_in.page;
    let (kind, text) = match outcome {
        Ok(text) => (FlashKind::Done, text),
        Err(failure) => {
            let key = match &failure {
                ApiFailure::Rejected(p) => match p.name() {
                    "last-superuser" => "refused_last_superuser",
                    "too-many-requests" => "refused_throttled",
                    "conflict" => conflict,
                    _ => "refused_conflict",
                },
                ApiFailure::Forbidden(p) if p.name() == "blocked-by-staff" => {
                    "refused_blocked_by_staff"
                }
                ApiFailure::Forbidden(_) => "refused_forbidden",
                ApiFailure::NotFound => "refused_not_found",
                ApiFailure::Unauthorized | ApiFailure::Unavailable(_) => {
                    return Err(page.error(failure));
                }
            };
            (FlashKind::Refused, page.fill(key, &[("email", email)]))
        }
    };
    signed_in.flash(kind, text).await;
    Ok(page.redirect(&format!("/beheer/{org}")).finish())
}
