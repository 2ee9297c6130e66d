//! The admin API's JSON: what it answers and what it takes, with their OpenAPI schemas. Times
//! are RFC 3339 in UTC; roles are spelled as the command line spells them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::rfc3339;
use crate::domain::Role;
use crate::journeys::administration::{ActivityView, InvitationView, PersonView};
use crate::oidc::client::Client;
use crate::storage::models::Organisation;
use crate::storage::signing_keys::SigningKeyRow;

/// A role: `member`, `superuser` or `hcc-staff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RoleName {
    Member,
    Superuser,
    HccStaff,
}

impl From<Role> for RoleName {
    fn from(role: Role) -> Self {
        match role {
            Role::Member => RoleName::Member,
            Role::Superuser => RoleName::Superuser,
            Role::HccStaff => RoleName::HccStaff,
        }
    }
}

impl From<RoleName> for Role {
    fn from(role: RoleName) -> Self {
        match role {
            RoleName::Member => Role::Member,
            RoleName::Superuser => Role::Superuser,
            RoleName::HccStaff => Role::HccStaff,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationJson {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

impl From<Organisation> for OrganisationJson {
    fn from(o: Organisation) -> Self {
        Self {
            id: o.id,
            name: o.name,
            created_at: rfc3339(o.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationList {
    pub items: Vec<OrganisationJson>,
    /// Always null: every organisation is on the one page.
    pub next_cursor: Option<String>,
}

/// A person of an organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonJson {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: RoleName,
    /// `invited`, `pending_otp` (registered, authenticator still to be set up), `active` or
    /// `disabled` (blocked).
    pub status: String,
    /// Whether an authenticator app is set up.
    pub authenticator: bool,
    pub last_login_at: Option<String>,
    /// Blocked by HCC staff: only staff may unblock the account.
    pub blocked_by_staff: bool,
}

impl From<PersonView> for PersonJson {
    fn from(p: PersonView) -> Self {
        let u = p.user;
        Self {
            id: u.id,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            role: u.role.into(),
            status: u.status.as_str().to_owned(),
            authenticator: p.authenticator,
            last_login_at: u.last_login_at.map(rfc3339),
            blocked_by_staff: u.blocked_by_staff,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonList {
    pub items: Vec<PersonJson>,
    /// Pass as `?cursor=` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationJson {
    pub id: String,
    /// The invited person.
    pub user_id: String,
    pub email: String,
    pub role: RoleName,
    /// `pending`, `used`, `expired` or `revoked`.
    pub status: String,
    pub created_at: String,
    /// When the link stops working (the mail names the same time).
    pub expires_at: String,
}

impl From<InvitationView> for InvitationJson {
    fn from(v: InvitationView) -> Self {
        Self {
            id: v.invitation.id,
            user_id: v.invitation.user_id,
            email: v.email,
            role: v.role.into(),
            status: v.status.as_str().to_owned(),
            created_at: rfc3339(v.invitation.created_at),
            expires_at: rfc3339(v.invitation.expires_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationList {
    pub items: Vec<InvitationJson>,
    pub next_cursor: Option<String>,
}

/// A security event of the organisation: who did what to whom, when, from which address.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventJson {
    pub id: String,
    pub occurred_at: String,
    /// e.g. `login`, `invitation_created`, `user_disabled`, `otp_reset`, `role_changed`.
    pub event: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// The person it is about.
    pub user_id: Option<String>,
    pub user_email: Option<String>,
    /// The administrator who did it, if it was an administrator's action.
    pub by: Option<String>,
    pub by_email: Option<String>,
    pub ip_address: Option<String>,
    pub client_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<ActivityView> for AuditEventJson {
    fn from(a: ActivityView) -> Self {
        let details: serde_json::Value =
            serde_json::from_str(&a.event.details).unwrap_or_else(|_| serde_json::json!({}));
        let by = details
            .get("by")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        Self {
            id: a.event.id,
            occurred_at: rfc3339(a.event.occurred_at),
            event: a.event.event,
            outcome: a.event.outcome,
            user_id: a.event.user_id,
            user_email: a.user_email,
            by,
            by_email: a.by_email,
            ip_address: a.event.ip_address,
            client_id: a.event.client_id,
            details,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventList {
    pub items: Vec<AuditEventJson>,
    pub next_cursor: Option<String>,
}

/// `POST …/invitations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    pub email: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    pub role: RoleName,
    /// `nl` (default) or `en`: the language of the mail and the pages.
    #[serde(default)]
    pub language: Option<String>,
}

/// `PATCH …/users/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    pub role: RoleName,
}

/// `POST /organisations`, `PATCH /organisations/{org}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    pub name: String,
}

/// A registered client, never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientJson {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub scope: String,
    pub first_party: bool,
    pub created_at: String,
}

impl From<Client> for ClientJson {
    fn from(c: Client) -> Self {
        Self {
            token_endpoint_auth_method: c.auth_method.as_str().to_owned(),
            scope: c.scope.join(" "),
            created_at: rfc3339(c.created_at),
            client_id: c.client_id,
            name: c.name,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            backchannel_logout_uri: c.backchannel_logout_uri,
            grant_types: c.grant_types,
            first_party: c.first_party,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientList {
    pub items: Vec<ClientJson>,
    pub next_cursor: Option<String>,
}

/// A client just registered: its secret is shown this once (only its hash is kept).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: ClientJson,
    pub client_secret: Option<String>,
}

/// `POST /clients`: the metadata of RFC 7591 §2, and whether it is one of HCC's own.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    pub client_name: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// `client_secret_basic` (default), `client_secret_post` or `none`.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// Default: `authorization_code` and `refresh_token`.
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub first_party: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyJson {
    pub kid: String,
    /// `signing`, `published` (retired, still in JWKS) or `expired`.
    pub status: String,
    pub created_at: String,
    pub retired_at: Option<String>,
    pub publish_until: Option<String>,
}

impl KeyJson {
    pub fn of(row: SigningKeyRow, now: i64) -> Self {
        let status = if row.is_active() {
            "signing"
        } else if row.is_published_at(now) {
            "published"
        } else {
            "expired"
        };
        Self {
            kid: row.kid,
            status: status.to_owned(),
            created_at: rfc3339(row.created_at),
            retired_at: row.retired_at.map(rfc3339),
            publish_until: row.publish_until.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub items: Vec<KeyJson>,
    pub next_cursor: Option<String>,
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:hcc:problem:…`).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For a refused body: each field and the rule it broke.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
}
