//! The admin API (`/admin/api/v1`, docs/admin-api.md): JSON over HTTPS for the portal's
//! "Gebruikers beheren" and for HCC staff, authorised by the person's own access token with the
//! `admin` scope (checked against their current role on every request). Errors are RFC 9457
//! problem details, made in one place ([`ApiError`]). The OpenAPI 3.1 document is generated from
//! these handlers (`openapi.rs`) and served without a token.

mod openapi;
pub mod wire;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{self, Data, Json, Path, Query, ServiceConfig};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;

use self::wire::*;
use crate::clock::parse_time;
use crate::domain::Language;
use crate::journeys::JourneyError;
use crate::journeys::account::{self, Actor};
use crate::journeys::administration::{self as admin, Cursor, Invite, member};
use crate::oidc::registration::ClientMetadata;
use crate::state::IdpState;
use crate::storage::audit::AuditFilter;

pub use openapi::{ApiDoc, Document};

/// Where the API lives.
pub const BASE: &str = "/admin/api/v1";

/// An error of the admin API on its way to becoming problem details.
#[derive(Debug)]
pub struct ApiError(JourneyError);

impl<E: Into<JourneyError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ApiError {
    /// The status, the problem's name and title.
    fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        use JourneyError as E;
        match &self.0 {
            E::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "invalid-token",
                "A valid access token is required",
            ),
            E::NotAllowed => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            E::BlockedByStaff => (
                StatusCode::FORBIDDEN,
                "blocked-by-staff",
                "Blocked by HumanCapitalCare",
            ),
            E::NotFound | E::UnknownUser | E::UnknownOrganisation => {
                (StatusCode::NOT_FOUND, "not-found", "Not found")
            }
            E::LastSuperuser => (
                StatusCode::CONFLICT,
                "last-superuser",
                "The organisation's last superuser",
            ),
            E::AlreadyRegistered(_) | E::OtherOrganisation(_) | E::InvitationClosed => {
                (StatusCode::CONFLICT, "conflict", "Conflict")
            }
            E::Form(_)
            | E::RoleNotAssignable
            | E::OrganisationMismatch
            | E::InvalidClientMetadata(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "The request breaks a rule",
            ),
            E::Throttled(_) | E::MailLimit => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
            ),
            E::Fault(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server-error",
                "The server could not do this",
            ),
            E::TooSlow => (
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                "The request was not sent in time",
            ),
            E::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "The body must be application/json",
            ),
            E::BadRequest(_)
            | E::Csrf
            | E::SessionExpired
            | E::InvalidCredentials
            | E::WrongCode
            | E::StepUpRequired
            | E::LastAuthenticator
            | E::InvalidInvitation
            | E::InvalidResetLink => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
        }
    }
}

/// The one place an admin API error becomes problem details (RFC 9457).
impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, name, title) = self.kind();
        let detail = match &self.0 {
            // A fault's cause is for the log, not for the client.
            JourneyError::Fault(_) => title.to_owned(),
            other => other.to_string(),
        };
        let errors = match &self.0 {
            JourneyError::Form(fields) => fields
                .iter()
                .map(|f| FieldProblem {
                    field: f.field.to_owned(),
                    code: f.message_key.clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                "Bearer realm=\"hcc-identity\", error=\"invalid_token\"",
            ));
        }
        if status == StatusCode::FORBIDDEN {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                "Bearer realm=\"hcc-identity\", error=\"insufficient_scope\", scope=\"admin\"",
            ));
        }
        response
            .content_type("application/problem+json")
            .json(Problem {
                kind: format!("urn:hcc:problem:{name}"),
                title: title.to_owned(),
                status: status.as_u16(),
                detail,
                errors,
            })
    }
}

/// The administrator a request speaks for (see `administration::actor_for_token`).
pub struct Admin(pub Actor);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<Data<IdpState>>().cloned();
        let token = crate::oidc::bearer::from_authorization(
            req.headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
        );
        Box::pin(async move {
            let (Some(state), Some(token)) = (state, token) else {
                return Err(JourneyError::InvalidToken.into());
            };
            Ok(Admin(admin::actor_for_token(&state, &token).await?))
        })
    }
}

/// `?cursor=`
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    cursor: Option<String>,
}

impl PageQuery {
    fn cursor(&self) -> Result<Option<Cursor>, ApiError> {
        Ok(self.cursor.as_deref().map(Cursor::parse).transpose()?)
    }
}

/// `…/audit-events?user=&type=&since=&until=&cursor=`
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    user: Option<String>,
    #[serde(rename = "type")]
    event: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
}

/// Why a JSON body was not read: not JSON at all (415), not sent in time (408), or not what
/// the route takes (400).
fn json_refusal(error: actix_web::error::JsonPayloadError) -> JourneyError {
    use actix_web::error::JsonPayloadError as E;
    match error {
        E::ContentType => JourneyError::UnsupportedMediaType,
        E::Payload(e) if crate::web::request_span::timed_out(&e) => JourneyError::TooSlow,
        e => JourneyError::BadRequest(e.to_string()),
    }
}

/// The routes of the API, registered and documented from this one list.
macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:ident;)*) => {
        /// Every route the API serves, as `(method, path under BASE)`.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        pub fn routes(cfg: &mut ServiceConfig) {
            cfg.service(
                web::scope(BASE)
                    .app_data(
                        web::JsonConfig::default()
                            .limit(16 * 1024)
                            .error_handler(|e, _| ApiError(json_refusal(e)).into()),
                    )
                    .app_data(web::QueryConfig::default().error_handler(|e, _| {
                        ApiError(JourneyError::BadRequest(e.to_string())).into()
                    }))
                    .app_data(web::PathConfig::default().error_handler(|e, _| {
                        ApiError(JourneyError::BadRequest(e.to_string())).into()
                    }))
                    $(.route($path, web::$method().to($handler)))*
                    .default_service(web::to(no_such_route)),
            );
        }
    };
}

api_routes! {
    get "/openapi.json" => openapi_document;
    get "/organisations" => list_organisations;
    post "/organisations" => create_organisation;
    get "/organisations/{org}" => get_organisation;
    patch "/organisations/{org}" => rename_organisation;
    get "/organisations/{org}/users" => list_people;
    get "/organisations/{org}/users/{id}" => get_person;
    patch "/organisations/{org}/users/{id}" => change_role;
    post "/organisations/{org}/users/{id}/disable" => disable_person;
    post "/organisations/{org}/users/{id}/enable" => enable_person;
    post "/organisations/{org}/users/{id}/reset-authenticator" => reset_authenticator;
    post "/organisations/{org}/users/{id}/logout" => log_out_person;
    get "/organisations/{org}/invitations" => list_invitations;
    post "/organisations/{org}/invitations" => invite;
    post "/organisations/{org}/invitations/{id}/resend" => resend_invitation;
    delete "/organisations/{org}/invitations/{id}" => revoke_invitation;
    get "/organisations/{org}/audit-events" => list_audit_events;
    get "/clients" => list_clients;
    post "/clients" => create_client;
    get "/clients/{id}" => get_client;
    delete "/clients/{id}" => delete_client;
    get "/keys" => list_keys;
    post "/keys/rotate" => rotate_key;
}

async fn no_such_route() -> Answer {
    Err(ApiError(JourneyError::NotFound))
}

type Answer = Result<HttpResponse, ApiError>;

fn ok<T: serde::Serialize>(body: T) -> Answer {
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

fn created<T: serde::Serialize>(body: T) -> Answer {
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

fn done() -> Answer {
    Ok(HttpResponse::NoContent().finish())
}

/// The OpenAPI 3.1 document of this API (no token needed).
#[utoipa::path(get, path = "/openapi.json", tag = "api",
    responses((status = 200, description = "The OpenAPI 3.1 document")))]
async fn openapi_document(doc: Data<openapi::Document>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}

/// Every organisation for HCC staff; a superuser's own.
#[utoipa::path(get, path = "/organisations", tag = "organisations",
    responses((status = 200, body = OrganisationList), (status = 401, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn list_organisations(state: Data<IdpState>, admin: Admin) -> Answer {
    let items = admin::organisations(&state, &admin.0).await?;
    ok(OrganisationList {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: None,
    })
}

/// Creates an organisation (HCC staff).
#[utoipa::path(post, path = "/organisations", tag = "organisations", request_body = NameBody,
    responses((status = 201, body = OrganisationJson), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn create_organisation(state: Data<IdpState>, admin: Admin, body: Json<NameBody>) -> Answer {
    let created = admin::create_organisation(&state, &admin.0, &body.name).await?;
    self::created(OrganisationJson::from(created))
}

#[utoipa::path(get, path = "/organisations/{org}", tag = "organisations",
    params(("org" = String, Path, description = "Organisation id")),
    responses((status = 200, body = OrganisationJson), (status = 404, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn get_organisation(state: Data<IdpState>, admin: Admin, org: Path<String>) -> Answer {
    ok(OrganisationJson::from(
        admin::organisation(&state, &admin.0, &org).await?,
    ))
}

/// Renames an organisation (HCC staff).
#[utoipa::path(patch, path = "/organisations/{org}", tag = "organisations", request_body = NameBody,
    params(("org" = String, Path, description = "Organisation id")),
    responses((status = 200, body = OrganisationJson), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn rename_organisation(
    state: Data<IdpState>,
    admin: Admin,
    org: Path<String>,
    body: Json<NameBody>,
) -> Answer {
    ok(OrganisationJson::from(
        admin::rename_organisation(&state, &admin.0, &org, &body.name).await?,
    ))
}

/// The organisation's people, oldest first.
#[utoipa::path(get, path = "/organisations/{org}/users", tag = "users",
    params(("org" = String, Path, description = "Organisation id"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses((status = 200, body = PersonList), (status = 404, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn list_people(
    state: Data<IdpState>,
    admin: Admin,
    org: Path<String>,
    page: Query<PageQuery>,
) -> Answer {
    let listed = admin::people(&state, &admin.0, &org, page.cursor()?).await?;
    ok(PersonList {
        items: listed.items.into_iter().map(Into::into).collect(),
        next_cursor: listed.next.map(|c| c.as_str().to_owned()),
    })
}

#[utoipa::path(get, path = "/organisations/{org}/users/{id}", tag = "users",
    params(("org" = String, Path, description = "Organisation id"),
        ("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonJson), (status = 404, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn get_person(state: Data<IdpState>, admin: Admin, path: Path<(String, String)>) -> Answer {
    let (org, id) = path.into_inner();
    ok(PersonJson::from(
        admin::person(&state, &admin.0, &org, &id).await?,
    ))
}

/// Makes a member a superuser or a superuser a member (never the last active superuser).
#[utoipa::path(patch, path = "/organisations/{org}/users/{id}", tag = "users",
    request_body = RoleBody,
    params(("org" = String, Path, description = "Organisation id"),
        ("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonJson), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn change_role(
    state: Data<IdpState>,
    admin: Admin,
    path: Path<(String, String)>,
    body: Json<RoleBody>,
) -> Answer {
    let (org, id) = path.into_inner();
    account::change_role(&state, &admin.0, member(&org, &id), body.role.into()).await?;
    get_person(state, admin, Path::from((org, id))).await
}

/// An action on a person, then the person as they are after it.
async fn act_on_person<F, Fut>(
    state: Data<IdpState>,
    admin: Admin,
    path: Path<(String, String)>,
    action: F,
) -> Answer
where
    F: FnOnce(Data<IdpState>, Actor, account::Who) -> Fut,
    Fut: std::future::Future<Output = Result<(), JourneyError>>,
{
    let (org, id) = path.into_inner();
    action(state.clone(), admin.0.clone(), member(&org, &id)).await?;
    get_person(state, admin, Path::from((org, id))).await
}

/// Blocks the account: no login, sessions end, tokens stop working; a notice mail goes out.
#[utoipa::path(post, path = "/organisations/{org}/users/{id}/disable", tag = "users",
    params(("org" = String, Path, description = "Organisation id"),
        ("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonJson), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn disable_person(
    state: Data<IdpState>,
    admin: Admin,
    path: Path<(String, String)>,
) -> Answer {
    act_on_person(state, admin, path, |state, actor, who| async move {
        account::disable(&state, &actor, who).await
    })
    .await
}

/// Unblocks the account (an account HCC staff blocked only by staff).
#[utoipa::path(post, path = "/organisations/{org}/users/{id}/enable", tag = "users",
    params(("org" = String, Path, description = "Organisation id"),
        ("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonJson), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn enable_person(
    state: Data<IdpState>,
    admin: Admin,
    path: Path<(String, String)>,
) -> Answer {
    act_on_person(state, admin, path, |state, actor, who| async move {
        account::enable(&state, &actor, who).await
    })
    .await
}

/// Removes the authenticator: the person sets up a new one at the next login.
#[utoipa::path(post, path = "/organisations/{org}/users/{id}/reset-authenticator", tag = "users",
    params(("org" = String, Path, description = "Organisation id"),
        ("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonJson), (status = 404, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn reset_authenticator(
    state: Data<IdpState>,
    admin: Admin,
    path: Path<(String, String)>,
) -> Answer {
    act_on_person(state, admin, path, |state, actor, who| async move {
        account::reset_authenticator(&state, &actor, who).await
    })
    .await
}

/// Ends every session of the person (refresh tokens revoked, relying parties told).
#[utoipa::path(post, path = "/organisations/{org}/users/{id}/logout", tag = "users",
    params(("org" = String, Path, description = "Organisation id"),
        ("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonJson), (status = 404, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn log_out_person(
    state: Data<IdpState>,
    admin: Admin,
    path: Path<(String, String)>,
) -> Answer {
    act_on_person(state, admin, path, |state, actor, who| async move {
        account::end_sessions(&state, &actor, who).await.map(drop)
    })
    .await
}

/// The organisation's invitations, oldest first, with their status and expiry.
#[utoipa::path(get, path = "/organisations/{org}/invitations", tag = "invitations",
    params(("org" = String, Path, description = "Organisation id"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses((status = 200, body = InvitationList), (status = 404, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn list_invitations(
    state: Data<IdpState>,
    admin: Admin,
    org: Path<String>,
    page: Query<PageQuery>,
) -> Answer {
    let listed = admin::invitations(&state, &admin.0, &org, page.cursor()?).await?;
    ok(InvitationList {
        items: listed.items.into_iter().map(Into::into).collect(),
        next_cursor: listed.next.map(|c| c.as_str().to_owned()),
    })
}

/// Invites a person; the invitation mail goes out through the outbox.
#[utoipa::path(post, path = "/organisations/{org}/invitations", tag = "invitations",
    request_body = InviteBody,
    params(("org" = String, Path, description = "Organisation id")),
    responses((status = 201, body = InvitationJson), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn invite(
    state: Data<IdpState>,
    admin: Admin,
    org: Path<String>,
    body: Json<InviteBody>,
) -> Answer {
    let body = body.into_inner();
    let language = match body.language.as_deref() {
        None => Language::default(),
        Some(tag) => Language::from_tag(tag)
            .ok_or_else(|| JourneyError::field("language", "language_error_unknown"))?,
    };
    let form = Invite {
        email: body.email,
        first_name: body.first_name.unwrap_or_default(),
        last_name: body.last_name.unwrap_or_default(),
        role: body.role.into(),
        language,
    };
    created(InvitationJson::from(
        admin::invite(&state, &admin.0, &org, form).await?,
    ))
}

/// A new link for the person (the old one stops working); answers the new invitation.
#[utoipa::path(post, path = "/organisations/{org}/invitations/{id}/resend", tag = "invitations",
    params(("org" = String, Path, description = "Organisation id"),
        ("id" = String, Path, description = "Invitation id")),
    responses((status = 201, body = InvitationJson), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn resend_invitation(
    state: Data<IdpState>,
    admin: Admin,
    path: Path<(String, String)>,
) -> Answer {
    let (org, id) = path.into_inner();
    created(InvitationJson::from(
        admin::resend_invitation(&state, &admin.0, &org, &id).await?,
    ))
}

/// Withdraws a pending invitation.
#[utoipa::path(delete, path = "/organisations/{org}/invitations/{id}", tag = "invitations",
    params(("org" = String, Path, description = "Organisation id"),
        ("id" = String, Path, description = "Invitation id")),
    responses((status = 204, description = "Withdrawn"), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn revoke_invitation(
    state: Data<IdpState>,
    admin: Admin,
    path: Path<(String, String)>,
) -> Answer {
    let (org, id) = path.into_inner();
    admin::revoke_invitation(&state, &admin.0, &org, &id).await?;
    done()
}

/// The organisation's security events, newest first.
#[utoipa::path(get, path = "/organisations/{org}/audit-events", tag = "audit",
    params(("org" = String, Path, description = "Organisation id"),
        ("user" = Option<String>, Query, description = "Only about this person (id)"),
        ("type" = Option<String>, Query, description = "Only this event, e.g. `login`"),
        ("since" = Option<String>, Query, description = "From: RFC 3339, YYYY-MM-DD, or an age (24h, 7d)"),
        ("until" = Option<String>, Query, description = "Before: as `since`"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses((status = 200, body = AuditEventList), (status = 404, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn list_audit_events(
    state: Data<IdpState>,
    admin: Admin,
    org: Path<String>,
    query: Query<AuditQuery>,
) -> Answer {
    let query = query.into_inner();
    let now = state.now();
    let time = |field: &'static str, value: Option<String>| -> Result<Option<i64>, ApiError> {
        value
            .map(|v| parse_time(&v, now).ok_or_else(|| JourneyError::field(field, "time_invalid")))
            .transpose()
            .map_err(ApiError)
    };
    let filter = AuditFilter {
        user_id: query.user,
        event: query.event,
        since: time("since", query.since)?,
        until: time("until", query.until)?,
    };
    let cursor = query.cursor.as_deref().map(Cursor::parse).transpose()?;
    let listed = admin::activity(&state, &admin.0, &org, filter, cursor).await?;
    ok(AuditEventList {
        items: listed.items.into_iter().map(Into::into).collect(),
        next_cursor: listed.next.map(|c| c.as_str().to_owned()),
    })
}

/// The registered clients (HCC staff).
#[utoipa::path(get, path = "/clients", tag = "clients",
    responses((status = 200, body = ClientList), (status = 403, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn list_clients(state: Data<IdpState>, admin: Admin) -> Answer {
    let clients = admin::clients(&state, &admin.0).await?;
    ok(ClientList {
        items: clients.into_iter().map(Into::into).collect(),
        next_cursor: None,
    })
}

/// Registers a client (HCC staff); the secret is in the answer this once.
#[utoipa::path(post, path = "/clients", tag = "clients", request_body = ClientBody,
    responses((status = 201, body = CreatedClient), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn create_client(state: Data<IdpState>, admin: Admin, body: Json<ClientBody>) -> Answer {
    let body = body.into_inner();
    let metadata =
        ClientMetadata {
            client_name: Some(body.client_name),
            redirect_uris: Some(body.redirect_uris),
            post_logout_redirect_uris: Some(body.post_logout_redirect_uris),
            backchannel_logout_uri: body.backchannel_logout_uri,
            token_endpoint_auth_method: body.token_endpoint_auth_method,
            grant_types: Some(body.grant_types.unwrap_or_else(|| {
                vec!["authorization_code".to_owned(), "refresh_token".to_owned()]
            })),
            scope: body.scope,
            ..ClientMetadata::default()
        };
    let registered = admin::create_client(&state, &admin.0, &metadata, body.first_party).await?;
    created(CreatedClient {
        client_secret: registered.secret.as_ref().map(|s| s.expose().to_owned()),
        client: registered.client.into(),
    })
}

#[utoipa::path(get, path = "/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "client_id")),
    responses((status = 200, body = ClientJson), (status = 404, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn get_client(state: Data<IdpState>, admin: Admin, id: Path<String>) -> Answer {
    ok(ClientJson::from(
        admin::client(&state, &admin.0, &id).await?,
    ))
}

/// Deletes a client with its codes and tokens (HCC staff).
#[utoipa::path(delete, path = "/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "client_id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn delete_client(state: Data<IdpState>, admin: Admin, id: Path<String>) -> Answer {
    admin::delete_client(&state, &admin.0, &id).await?;
    done()
}

/// The signing keys, newest first (HCC staff).
#[utoipa::path(get, path = "/keys", tag = "keys",
    responses((status = 200, body = KeyList), (status = 403, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn list_keys(state: Data<IdpState>, admin: Admin) -> Answer {
    let now = state.now();
    let keys = admin::signing_keys(&state, &admin.0).await?;
    ok(KeyList {
        items: keys.into_iter().map(|k| KeyJson::of(k, now)).collect(),
        next_cursor: None,
    })
}

/// Starts signing with a new key; older keys stay published until their tokens expired.
#[utoipa::path(post, path = "/keys/rotate", tag = "keys",
    responses((status = 201, body = KeyJson), (status = 403, body = Problem)),
    security(("bearer" = ["admin"])))]
async fn rotate_key(state: Data<IdpState>, admin: Admin) -> Answer {
    let kid = admin::rotate_signing_key(&state, &admin.0).await?;
    let now = state.now();
    let keys = admin::signing_keys(&state, &admin.0).await?;
    let key = keys
        .into_iter()
        .find(|k| k.kid == kid)
        .ok_or(JourneyError::NotFound)?;
    created(KeyJson::of(key, now))
}
