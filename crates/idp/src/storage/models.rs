//! Rows as Diesel reads and writes them. Domain meaning lives in `domain`; these are plain data.

use diesel::prelude::*;

use super::schema::*;
use crate::domain::{Role, Stage, UserStatus};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: String,
    pub name: String,
    pub name_key: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub organisation_id: Option<String>,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: UserStatus,
    pub role: Role,
    pub language: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login_at: Option<i64>,
    /// Blocked by HCC staff: a superuser may not unblock the account.
    pub blocked_by_staff: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = password_credentials)]
pub struct PasswordCredential {
    pub user_id: String,
    pub hash: String,
    pub changed_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = otp_credentials)]
pub struct OtpCredential {
    pub id: String,
    pub user_id: String,
    pub device_name: Option<String>,
    pub secret_sealed: Vec<u8>,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub last_used_step: Option<i64>,
    /// When a code of it last logged in or confirmed a change.
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = security_keys)]
pub struct SecurityKeyRow {
    pub id: String,
    pub user_id: String,
    pub name: Option<String>,
    pub credential_id: String,
    pub credential: String,
    pub counter: i64,
    pub backup_eligible: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webauthn_ceremonies)]
pub struct CeremonyRow {
    pub session_id_hash: String,
    pub purpose: String,
    pub state: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = recovery_codes)]
pub struct RecoveryCode {
    pub id: String,
    pub user_id: String,
    pub code_hash: String,
    pub created_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: String,
    pub user_id: String,
    pub organisation_id: Option<String>,
    pub token_hash: String,
    pub invited_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id_hash: String,
    pub user_id: String,
    pub stage: Stage,
    pub amr: String,
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = mail_outbox)]
pub struct OutboxMail {
    pub id: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub created_at: i64,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub claimed_until: Option<i64>,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
    pub given_up_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: String,
    pub occurred_at: i64,
    pub event: String,
    pub outcome: String,
    pub user_id: Option<String>,
    pub organisation_id: Option<String>,
    pub client_id: Option<String>,
    pub ip_address: Option<String>,
    pub details: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub name: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: String,
    pub token_endpoint_auth_method: String,
    pub scope: String,
    pub first_party: bool,
    pub created_at: i64,
    pub application_type: String,
    /// JSON: what the client registered about itself (`oidc::client::ClientDisplay`).
    pub metadata: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consents)]
pub struct Consent {
    pub user_id: String,
    pub client_id: String,
    pub scope: String,
    pub granted_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_requests)]
pub struct AuthorizationRequestRow {
    pub id_hash: String,
    pub client_id: String,
    pub parameters: String,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes)]
pub struct AuthorizationCodeRow {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub session_id_hash: Option<String>,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: i64,
    pub amr: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub access_token_jti: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    pub session_id_hash: Option<String>,
    pub code_hash: Option<String>,
    pub scope: String,
    pub auth_time: i64,
    pub amr: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub rotated_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The access token issued with this refresh token (revoked when the session ends).
    pub access_token_jti: Option<String>,
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
