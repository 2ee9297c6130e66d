//! The IdP's admin API (`/admin/api/v1`) as the portal calls it: always with the signed-in
//! person's own access token, so the IdP decides what they may see and do. The portal keeps no
//! people of its own.

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Organisation {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: String,
    pub status: String,
    pub authenticator: bool,
    pub last_login_at: Option<String>,
    #[serde(default)]
    pub blocked_by_staff: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub status: String,
    pub created_at: String,
    pub expires_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub occurred_at: String,
    pub event: String,
    pub outcome: String,
    pub user_id: Option<String>,
    pub user_email: Option<String>,
    pub by: Option<String>,
    pub by_email: Option<String>,
    pub ip_address: Option<String>,
    pub client_id: Option<String>,
}

/// RFC 9457 problem details, as the admin API answers errors.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Problem {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub errors: Vec<FieldProblem>,
}

impl Problem {
    /// The problem's name: `urn:hcc:problem:last-superuser` → `last-superuser`.
    pub fn name(&self) -> &str {
        self.kind.rsplit(':').next().unwrap_or_default()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
}

/// Why a call gave no answer the portal can use.
#[derive(Debug, thiserror::Error)]
pub enum ApiFailure {
    /// The token is not (or no longer) accepted: refresh, or the session is over.
    #[error("the access token was refused")]
    Unauthorized,
    #[error("not allowed: {}", .0.detail)]
    Forbidden(Problem),
    #[error("not found")]
    NotFound,
    /// A rule said no (409, 422, 429): shown to the person in words.
    #[error("refused ({}): {}", .0.name(), .0.detail)]
    Rejected(Problem),
    #[error("the admin API is not available: {0}")]
    Unavailable(String),
}

/// An action on a person (`POST …/users/{id}/{action}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonAction {
    Disable,
    Enable,
    ResetAuthenticator,
    Logout,
}

impl PersonAction {
    fn path(self) -> &'static str {
        match self {
            PersonAction::Disable => "disable",
            PersonAction::Enable => "enable",
            PersonAction::ResetAuthenticator => "reset-authenticator",
            PersonAction::Logout => "logout",
        }
    }
}

/// `POST …/invitations`.
#[derive(Debug, Clone, Serialize)]
pub struct InviteBody {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub language: String,
}

/// `…/audit-events` filters.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user: Option<String>,
    pub event: Option<String>,
    pub cursor: Option<String>,
}

/// Lists are read whole up to this many pages (50 items each).
const MAX_PAGES: usize = 40;

#[derive(Clone)]
pub struct AdminApi {
    http: reqwest::Client,
    base: String,
}

impl AdminApi {
    /// `idp_base`: the IdP as the portal's back end reaches it.
    pub fn new(http: reqwest::Client, idp_base: &str) -> Self {
        Self {
            http,
            base: format!("{idp_base}/admin/api/v1"),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, ApiFailure> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("accept", "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ApiFailure::Unavailable(e.to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ApiFailure::Unavailable(e.to_string()))?;
        if status.is_success() {
            let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(bytes)
                .map_err(|e| ApiFailure::Unavailable(format!("answer of {path}: {e}")));
        }
        let problem: Problem = serde_json::from_slice(&bytes).unwrap_or_default();
        Err(match status {
            StatusCode::UNAUTHORIZED => ApiFailure::Unauthorized,
            StatusCode::FORBIDDEN => ApiFailure::Forbidden(problem),
            StatusCode::NOT_FOUND => ApiFailure::NotFound,
            StatusCode::CONFLICT
            | StatusCode::UNPROCESSABLE_ENTITY
            | StatusCode::TOO_MANY_REQUESTS => ApiFailure::Rejected(problem),
            other => {
                ApiFailure::Unavailable(format!("{path} answered {other}: {}", problem.detail))
            }
        })
    }

    async fn get<T: DeserializeOwned>(&self, token: &str, path: &str) -> Result<T, ApiFailure> {
        self.call(token, Method::GET, path, None).await
    }

    /// Every item of a paged list (up to [`MAX_PAGES`] pages).
    async fn all<T: DeserializeOwned>(
        &self,
        token: &str,
        path: &str,
    ) -> Result<Vec<T>, ApiFailure> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page: List<T> = match &cursor {
                None => self.get(token, path).await?,
                Some(c) => {
                    self.get(token, &format!("{path}?cursor={}", encode(c)))
                        .await?
                }
            };
            items.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(items)
    }

    pub async fn organisations(&self, token: &str) -> Result<Vec<Organisation>, ApiFailure> {
        self.all(token, "/organisations").await
    }

    pub async fn organisation(&self, token: &str, org: &str) -> Result<Organisation, ApiFailure> {
        self.get(token, &format!("/organisations/{}", encode(org)))
            .await
    }

    pub async fn create_organisation(
        &self,
        token: &str,
        name: &str,
    ) -> Result<Organisation, ApiFailure> {
        let body = serde_json::json!({ "name": name });
        self.call(token, Method::POST, "/organisations", Some(body))
            .await
    }

    pub async fn people(&self, token: &str, org: &str) -> Result<Vec<Person>, ApiFailure> {
        self.all(token, &format!("/organisations/{}/users", encode(org)))
            .await
    }

    pub async fn invitations(&self, token: &str, org: &str) -> Result<Vec<Invitation>, ApiFailure> {
        self.all(
            token,
            &format!("/organisations/{}/invitations", encode(org)),
        )
        .await
    }

    pub async fn invite(
        &self,
        token: &str,
        org: &str,
        body: &InviteBody,
    ) -> Result<Invitation, ApiFailure> {
        let body =
            serde_json::to_value(body).map_err(|e| ApiFailure::Unavailable(e.to_string()))?;
        let path = format!("/organisations/{}/invitations", encode(org));
        self.call(token, Method::POST, &path, Some(body)).await
    }

    pub async fn resend_invitation(
        &self,
        token: &str,
        org: &str,
        id: &str,
    ) -> Result<Invitation, ApiFailure> {
        let path = format!(
            "/organisations/{}/invitations/{}/resend",
            encode(org),
            encode(id)
        );
        self.call(token, Method::POST, &path, None).await
    }

    pub async fn revoke_invitation(
        &self,
        token: &str,
        org: &str,
        id: &str,
    ) -> Result<(), ApiFailure> {
        let path = format!("/organisations/{}/invitations/{}", encode(org), encode(id));
        self.call::<serde_json::Value>(token, Method::DELETE, &path, None)
            .await
            .map(drop)
    }

    pub async fn act(
        &self,
        token: &str,
        org: &str,
        id: &str,
        action: PersonAction,
    ) -> Result<Person, ApiFailure> {
        let path = format!(
            "/organisations/{}/users/{}/{}",
            encode(org),
            encode(id),
            action.path()
        );
        self.call(token, Method::POST, &path, None).await
    }

    pub async fn change_role(
        &self,
        token: &str,
        org: &str,
        id: &str,
        role: &str,
    ) -> Result<Person, ApiFailure> {
        let path = format!("/organisations/{}/users/{}", encode(org), encode(id));
        let body = serde_json::json!({ "role": role });
        self.call(token, Method::PATCH, &path, Some(body)).await
    }

    pub async fn audit_events(
        &self,
        token: &str,
        org: &str,
        filter: &AuditFilter,
    ) -> Result<List<AuditEvent>, ApiFailure> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("user", &filter.user),
            ("type", &filter.event),
            ("cursor", &filter.cursor),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                query.append_pair(name, value);
            }
        }
        let query = query.finish();
        let separator = if query.is_empty() { "" } else { "?" };
        self.get(
            token,
            &format!(
                "/organisations/{}/audit-events{separator}{query}",
                encode(org)
            ),
        )
        .await
    }
}

/// One path segment or query value, percent-encoded.
fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
